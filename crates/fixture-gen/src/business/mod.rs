//! The TAC document system in schema `public`: logical units, unit versions (Markdown
//! bodies), publications, reviews, tags, attachments, the generic edge table and `dot_tools`.
//!
//! Also owns the partitioned audit log. Per-unit facts are derived from (seed, unit index)
//! so dependent tables can be streamed without keeping earlier tables in memory.

mod audit;
mod catalog;
mod data;
mod edges;
mod tables;
mod units;

pub use data::write_data;
pub use tables::tables;

/// Logical units per scale unit.
pub const UNITS_PER_SCALE: u64 = 2_000;
/// Universal edges per scale unit.
pub const EDGES_PER_SCALE: u64 = 8_000;
/// Audit events per scale unit.
pub const AUDIT_PER_SCALE: u64 = 3_000;

/// Standalone sequence behind `tac_logical_unit.doc_number`.
pub const DOC_NUMBER_SEQ: &str = "public.tac_document_number_seq";
/// Standalone sequence behind the partitioned audit log's id.
pub const AUDIT_SEQ: &str = "public.tac_audit_event_id_seq";
/// First document number handed out.
const DOC_NUMBER_BASE: i64 = 100_000;

/// Row counts of the business tables (written to stderr by the binary, used by tests).
#[derive(Debug, Default, Clone)]
pub struct BusinessCounts {
    pub units: u64,
    pub versions: u64,
    pub publications: u64,
    pub reviews: u64,
    pub unit_tags: u64,
    pub attachments: u64,
    pub edges: u64,
    pub audit: u64,
}
