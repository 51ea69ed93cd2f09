-- P0 step 02_dot_tool_revision: registry of DOT tool revisions known to the cutter.
-- dot_id mirrors public.dot_tools.id but is deliberately NOT a foreign key:
-- a FK would add a constraint dependency (and RI triggers) on public.dot_tools.
CREATE TABLE cutter_governance.dot_tool_revision (
    dot_id        integer     NOT NULL,
    tool_revision text        NOT NULL,
    registered_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT dot_tool_revision_pkey PRIMARY KEY (dot_id, tool_revision),
    CONSTRAINT dot_tool_revision_dot_id_check CHECK (dot_id > 0),
    CONSTRAINT dot_tool_revision_tool_revision_check
        CHECK (tool_revision ~ '^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.+-]+)?$')
);

COMMENT ON TABLE cutter_governance.dot_tool_revision IS
    'Tool revisions registered for DOT tools (dot_id = public.dot_tools.id, soft reference, no FK)';

-- Seed: the DOT pair at revision 0.1.0, only if public.dot_tools really holds it
-- (read-only use of public.dot_tools).
INSERT INTO cutter_governance.dot_tool_revision (dot_id, tool_revision)
SELECT d.id, '0.1.0'
FROM public.dot_tools AS d
JOIN (VALUES (992, 'DOT-IU-CUTTER'), (991, 'DOT-IU-CUTTER-VERIFY')) AS pair (id, code)
  ON d.id = pair.id AND d.code = pair.code
ORDER BY d.id;

DO $seed$
BEGIN
    IF (SELECT count(*) FROM cutter_governance.dot_tool_revision) <> 2 THEN
        RAISE EXCEPTION 'P0 deploy 02_dot_tool_revision: public.dot_tools must hold 992 DOT-IU-CUTTER and 991 DOT-IU-CUTTER-VERIFY';
    END IF;
END
$seed$;
