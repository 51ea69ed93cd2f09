//! HB-05 scenarios: file format ([`model`]), parsing with locations ([`parser`]), the suite of
//! a run ([`suite`]), each scenario's environment ([`env`]) and its step kinds ([`steps`]);
//! plan steps named by role ([`stepref`]) and what a run records beside its snapshot
//! ([`evidence`]), and what a scenario needs of the plan ([`contract`]).

pub mod context;
pub mod contract;
pub mod evidence;
pub mod lifecycle;
pub mod model;
pub mod outcome;
pub mod parser;
pub mod run;
pub mod snapshot;
pub mod stepref;
pub mod steps;
pub mod suite;
pub mod writers_state;
