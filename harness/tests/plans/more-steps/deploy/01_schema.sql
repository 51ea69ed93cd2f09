-- P0 step 01_schema: the schema that holds every P0 object.
-- Fails if the schema already exists: P0 must start from a database without it.
CREATE SCHEMA cutter_governance;

COMMENT ON SCHEMA cutter_governance IS
    'dot-iu-cutter governance (migration P0): change sets, cut units, DOT pair signatures and G-2 signals';
