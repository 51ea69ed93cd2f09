//! HB-05 scenarios: file format ([`model`]), parsing with locations ([`parser`]) and the
//! engine that runs them against real PostgreSQL 16 containers ([`engine`]).

pub mod engine;
pub mod model;
pub mod parser;
pub mod snapshot;
pub mod suite;
