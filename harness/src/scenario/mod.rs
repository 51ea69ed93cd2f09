//! HB-05 scenarios: file format ([`model`]), parsing with locations ([`parser`]), the suite of
//! a run ([`suite`]), each scenario's environment ([`env`]) and its step kinds ([`steps`]).

pub mod env;
pub mod model;
pub mod parser;
pub mod snapshot;
pub mod steps;
pub mod suite;
