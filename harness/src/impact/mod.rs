//! What a plan does to a live database while it runs (issue 24): lint before running
//! ([`lint`]), the rule set the operations team owns ([`rules`]).

pub mod lint;
pub mod profile;
pub mod rules;
