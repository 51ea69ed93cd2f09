//! Non-table database objects: the `tac` schema, enum type, standalone sequences and
//! functions written before the tables, and the indexes, views, triggers, row-level-security
//! policy and comments written after the data.
//!
//! The single statement naming the `workflow_admin` role lives here ([`write_rls`]).

use std::io::{self, Write};

use crate::schema::Table;

/// Role named by exactly one object (the RLS policy) of the generated SQL.
pub const WORKFLOW_ROLE: &str = "workflow_admin";

/// Session settings at the top of the output (mirrors pg_dump's preamble).
pub fn write_header(out: &mut impl Write, seed: u64, scale: u32) -> io::Result<()> {
    write!(
        out,
        "--\n-- fixture-gen: Directus-shaped TAC fixture (seed {seed}, scale {scale}).\n\
         -- Load after fixtures/directus-12.3.1-bootstrap.sql.\n--\n\n\
         SET statement_timeout = 0;\n\
         SET lock_timeout = 0;\n\
         SET idle_in_transaction_session_timeout = 0;\n\
         SET client_encoding = 'UTF8';\n\
         SET standard_conforming_strings = on;\n\
         SELECT pg_catalog.set_config('search_path', '', false);\n\
         SET check_function_bodies = false;\n\
         SET xmloption = content;\n\
         SET client_min_messages = warning;\n\
         SET row_security = off;\n\
         SET default_tablespace = '';\n\
         SET default_table_access_method = heap;\n\n"
    )
}

/// Schema, enum type, standalone sequences and the trigger function.
pub fn write_pre_data(out: &mut impl Write) -> io::Result<()> {
    out.write_all(
        b"CREATE SCHEMA tac;\n\n\
COMMENT ON SCHEMA tac IS 'Filler applications of the TAC installation (one area per business function).';\n\n\
CREATE TYPE public.tac_version_status AS ENUM (\n    'draft',\n    'in_review',\n    'approved',\n    'superseded'\n);\n\n\
CREATE SEQUENCE public.tac_document_number_seq\n    AS bigint\n    START WITH 100001\n    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1;\n\n\
CREATE SEQUENCE public.tac_audit_event_id_seq\n    AS bigint\n    START WITH 1\n    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1;\n\n\
CREATE FUNCTION public.tac_set_updated_at() RETURNS trigger\n    LANGUAGE plpgsql\n    AS $$\n\
BEGIN\n    NEW.updated_at := CURRENT_TIMESTAMP;\n    RETURN NEW;\nEND;\n$$;\n\n\
COMMENT ON FUNCTION public.tac_set_updated_at() IS 'Trigger function keeping updated_at current on UPDATE.';\n\n\
CREATE FUNCTION public.tac_unit_label(p_code text, p_version integer) RETURNS text\n    LANGUAGE sql IMMUTABLE\n    AS $$ SELECT p_code || '@v' || p_version::text $$;\n\n",
    )
}

/// Sequence ownership for the standalone sequences (after their tables exist).
pub fn write_sequence_owners(out: &mut impl Write) -> io::Result<()> {
    out.write_all(
        b"ALTER SEQUENCE public.tac_document_number_seq OWNED BY public.tac_logical_unit.doc_number;\n\n\
ALTER SEQUENCE public.tac_audit_event_id_seq OWNED BY public.tac_audit_event.id;\n\n",
    )
}

/// Secondary indexes of the business tables (unique, partial, expression, GIN) and an
/// index on every single-column foreign key of the filler tables.
pub fn write_indexes(out: &mut impl Write, filler: &[Table]) -> io::Result<()> {
    out.write_all(
        b"CREATE INDEX tac_logical_unit_doc_type_idx ON public.tac_logical_unit USING btree (doc_type);\n\n\
CREATE INDEX tac_logical_unit_owner_user_idx ON public.tac_logical_unit USING btree (owner_user);\n\n\
CREATE INDEX tac_logical_unit_parent_id_idx ON public.tac_logical_unit USING btree (parent_id) WHERE (parent_id IS NOT NULL);\n\n\
CREATE INDEX tac_logical_unit_lower_title_idx ON public.tac_logical_unit USING btree (lower(title));\n\n\
CREATE INDEX tac_logical_unit_metadata_idx ON public.tac_logical_unit USING gin (metadata jsonb_path_ops);\n\n\
CREATE INDEX tac_unit_version_open_status_idx ON public.tac_unit_version USING btree (status) WHERE (status <> 'superseded'::public.tac_version_status);\n\n\
CREATE INDEX tac_unit_version_created_at_idx ON public.tac_unit_version USING btree (created_at);\n\n\
CREATE UNIQUE INDEX tac_publication_live_uq ON public.tac_publication USING btree (unit_version_id, channel) WHERE (status = 'published'::text);\n\n\
CREATE INDEX tac_publication_unit_version_id_idx ON public.tac_publication USING btree (unit_version_id);\n\n\
CREATE INDEX tac_review_unit_version_id_idx ON public.tac_review USING btree (unit_version_id);\n\n\
CREATE INDEX tac_attachment_logical_unit_id_idx ON public.tac_attachment USING btree (logical_unit_id);\n\n\
CREATE INDEX universal_edges_src_idx ON public.universal_edges USING btree (src_kind, src_id);\n\n\
CREATE INDEX universal_edges_dst_idx ON public.universal_edges USING btree (dst_kind, dst_id);\n\n\
CREATE INDEX universal_edges_edge_type_idx ON public.universal_edges USING btree (edge_type);\n\n\
CREATE UNIQUE INDEX dot_tools_lower_code_uq ON public.dot_tools USING btree (lower(code));\n\n\
CREATE INDEX tac_audit_event_entity_idx ON ONLY public.tac_audit_event USING btree (entity_kind, entity_id);\n\n\
CREATE INDEX tac_audit_event_2026h1_entity_idx ON public.tac_audit_event_2026h1 USING btree (entity_kind, entity_id);\n\n\
CREATE INDEX tac_audit_event_2026h2_entity_idx ON public.tac_audit_event_2026h2 USING btree (entity_kind, entity_id);\n\n\
ALTER INDEX public.tac_audit_event_entity_idx ATTACH PARTITION public.tac_audit_event_2026h1_entity_idx;\n\n\
ALTER INDEX public.tac_audit_event_entity_idx ATTACH PARTITION public.tac_audit_event_2026h2_entity_idx;\n\n",
    )?;
    for t in filler {
        for fk in &t.fks {
            let leading_pk = t.pk.is_some_and(|pk| pk.starts_with(fk.cols));
            if fk.cols.contains(',') || leading_pk {
                continue;
            }
            writeln!(
                out,
                "CREATE INDEX {}_{}_idx ON {} USING btree ({});\n",
                t.name,
                fk.cols,
                t.qname(),
                fk.cols
            )?;
        }
    }
    Ok(())
}

/// Views, table-reading SQL functions and `updated_at` triggers.
pub fn write_views_functions_triggers(out: &mut impl Write) -> io::Result<()> {
    out.write_all(
        b"CREATE VIEW public.tac_current_unit_version AS\n\
 SELECT DISTINCT ON (v.logical_unit_id) v.logical_unit_id,\n\
    lu.code,\n\
    v.id AS unit_version_id,\n\
    v.version_no,\n\
    v.status,\n\
    v.locale,\n\
    v.body_sha256,\n\
    v.created_at\n\
   FROM (public.tac_unit_version v\n\
     JOIN public.tac_logical_unit lu ON ((lu.id = v.logical_unit_id)))\n\
  ORDER BY v.logical_unit_id, v.version_no DESC;\n\n\
COMMENT ON VIEW public.tac_current_unit_version IS 'Latest version of every logical unit.';\n\n\
CREATE VIEW tac.v_publication_summary AS\n\
 SELECT p.channel,\n\
    p.status,\n\
    count(*) AS publications,\n\
    min(p.published_at) AS first_published_at,\n\
    max(p.published_at) AS last_published_at\n\
   FROM public.tac_publication p\n\
  GROUP BY p.channel, p.status;\n\n\
CREATE VIEW public.dot_tool_pairs AS\n\
 SELECT a.code AS tool_code,\n\
    a.tier AS tool_tier,\n\
    b.code AS verifier_code,\n\
    b.tier AS verifier_tier,\n\
    (a.tool_revision = b.tool_revision) AS same_revision\n\
   FROM (public.dot_tools a\n\
     JOIN public.dot_tools b ON ((b.id = a.paired_with)))\n\
  WHERE (a.tier = 'A'::text);\n\n\
CREATE FUNCTION tac.edge_degree(p_kind text, p_id text) RETURNS bigint\n\
    LANGUAGE sql STABLE\n\
    AS $$ SELECT pg_catalog.count(*) FROM public.universal_edges e\n\
          WHERE (e.src_kind = p_kind AND e.src_id = p_id) OR (e.dst_kind = p_kind AND e.dst_id = p_id) $$;\n\n\
COMMENT ON FUNCTION tac.edge_degree(text, text) IS 'Number of universal_edges touching an entity.';\n\n\
CREATE TRIGGER tac_logical_unit_set_updated_at BEFORE UPDATE ON public.tac_logical_unit FOR EACH ROW EXECUTE FUNCTION public.tac_set_updated_at();\n\n\
CREATE TRIGGER dot_tools_set_updated_at BEFORE UPDATE ON public.dot_tools FOR EACH ROW EXECUTE FUNCTION public.tac_set_updated_at();\n\n\
COMMENT ON COLUMN public.tac_unit_version.body IS 'Markdown as entered; canonicalized (canon-md-v0.1.0) before hashing or signing.';\n\n\
COMMENT ON COLUMN public.tac_unit_version.body_sha256 IS 'SHA-256 (hex) of the raw body bytes as stored.';\n\n",
    )
}

/// Row-level security on `tac_publication` and the one policy naming the workflow role.
pub fn write_rls(out: &mut impl Write) -> io::Result<()> {
    writeln!(
        out,
        "ALTER TABLE public.tac_publication ENABLE ROW LEVEL SECURITY;\n\n\
         CREATE POLICY tac_publication_workflow ON public.tac_publication TO {WORKFLOW_ROLE} USING (true);\n"
    )
}
