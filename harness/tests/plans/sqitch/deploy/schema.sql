-- Deploy p0:schema to pg

BEGIN;

-- Fails if the schema already exists: P0 must start from a database without it.
CREATE SCHEMA cutter_governance;

COMMENT ON SCHEMA cutter_governance IS
    'dot-iu-cutter governance (migration P0): change sets, cut units, DOT pair signatures and G-2 signals';

COMMIT;
