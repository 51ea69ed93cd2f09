-- Cluster-global state: ONE read-only query -> (object_kind, object_identity, definition),
-- ordered by kind then identity (COLLATE "C"). What a migration can change outside every
-- database: roles, role memberships, per-role settings, tablespaces, replication slots and
-- ALTER SYSTEM settings. No OIDs, no database names, never a password hash (only whether a
-- password is set). Run as a superuser (pg_authid, pg_file_settings). See README.md.
WITH
-- every role but the predefined pg_* ones (the bootstrap superuser is included)
roles AS (
    SELECT a.oid, a.rolname
    FROM pg_catalog.pg_authid AS a
    WHERE NOT (a.oid < 16384 AND a.rolname LIKE 'pg\_%')
),
rolename AS (
    SELECT a.oid, pg_catalog.quote_ident(a.rolname) AS name FROM pg_catalog.pg_authid AS a
),
fp (object_kind, object_identity, definition) AS (
    -- roles and their attributes (valid_until as epoch seconds: no DateStyle or TimeZone)
    SELECT 'role', pg_catalog.quote_ident(a.rolname), pg_catalog.concat_ws('; ',
        'superuser=' || a.rolsuper,
        'inherit=' || a.rolinherit,
        'createrole=' || a.rolcreaterole,
        'createdb=' || a.rolcreatedb,
        'login=' || a.rolcanlogin,
        'replication=' || a.rolreplication,
        'bypassrls=' || a.rolbypassrls,
        'connection_limit=' || a.rolconnlimit,
        'valid_until=' || COALESCE(pg_catalog.date_part('epoch', a.rolvaliduntil)::text, '-'),
        'password=' || CASE WHEN a.rolpassword IS NULL THEN 'none' ELSE 'set' END)
    FROM pg_catalog.pg_authid AS a
    JOIN roles AS r ON r.oid = a.oid

    -- memberships (PostgreSQL 16: one row per grantor), with their options
    UNION ALL
    SELECT 'role_membership',
        pg_catalog.format('%s in %s by %s',
            COALESCE((SELECT n.name FROM rolename AS n WHERE n.oid = m.member), '?'),
            COALESCE((SELECT n.name FROM rolename AS n WHERE n.oid = m.roleid), '?'),
            COALESCE((SELECT n.name FROM rolename AS n WHERE n.oid = m.grantor), '?')),
        pg_catalog.concat_ws('; ',
            'admin=' || m.admin_option,
            'inherit=' || m.inherit_option,
            'set=' || m.set_option)
    FROM pg_catalog.pg_auth_members AS m

    -- ALTER ROLE r SET … and ALTER ROLE ALL SET … (in every database: setdatabase = 0; the
    -- settings of one database are rows of the schema fingerprint)
    UNION ALL
    SELECT 'role_setting',
        'for=' || CASE WHEN s.setrole = 0 THEN '*'
                       ELSE COALESCE((SELECT n.name FROM rolename AS n WHERE n.oid = s.setrole), '?') END
            || ' ' || pg_catalog.split_part(c.cfg, '=', 1),
        pg_catalog.substr(c.cfg, pg_catalog.strpos(c.cfg, '=') + 1)
    FROM pg_catalog.pg_db_role_setting AS s
    CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) AS c (cfg)
    WHERE s.setdatabase = 0

    -- tablespaces: owner, options, location, grants to other roles than the owner
    UNION ALL
    SELECT 'tablespace', pg_catalog.quote_ident(t.spcname), pg_catalog.concat_ws('; ',
        'owner=' || COALESCE((SELECT n.name FROM rolename AS n WHERE n.oid = t.spcowner), '?'),
        'options=' || COALESCE(pg_catalog.array_to_string(t.spcoptions, ','), '-'),
        'location=' || COALESCE(NULLIF(pg_catalog.pg_tablespace_location(t.oid), ''), '-'),
        'grants=' || COALESCE((
            SELECT pg_catalog.string_agg(g.entry, ', ' ORDER BY g.entry COLLATE "C")
            FROM (SELECT CASE WHEN e.grantee = 0 THEN 'PUBLIC'
                              ELSE COALESCE((SELECT n.name FROM rolename AS n WHERE n.oid = e.grantee), '?') END
                         || ':' || e.privilege_type || CASE WHEN e.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS entry
                  FROM pg_catalog.aclexplode(t.spcacl) AS e
                  WHERE e.grantee <> t.spcowner) AS g), '-'))
    FROM pg_catalog.pg_tablespace AS t

    -- comments on roles and tablespaces (pg_shdescription; a database's own comment is a row
    -- of the schema fingerprint)
    UNION ALL
    SELECT 'comment', io.type || ' ' || io.identity, sd.description
    FROM pg_catalog.pg_shdescription AS sd
    CROSS JOIN LATERAL pg_catalog.pg_identify_object(sd.classoid, sd.objoid, 0) AS io
    WHERE sd.classoid IN ('pg_catalog.pg_authid'::regclass, 'pg_catalog.pg_tablespace'::regclass)

    -- persistent replication slots (temporary ones end with their session)
    UNION ALL
    SELECT 'replication_slot', pg_catalog.quote_ident(rs.slot_name::text), pg_catalog.concat_ws('; ',
        'type=' || rs.slot_type,
        'plugin=' || COALESCE(rs.plugin::text, '-'),
        'two_phase=' || rs.two_phase)
    FROM pg_catalog.pg_replication_slots AS rs
    WHERE NOT rs.temporary

    -- ALTER SYSTEM (postgresql.auto.conf)
    UNION ALL
    SELECT 'system_setting', pg_catalog.quote_ident(fs.name), COALESCE(fs.setting, '-')
    FROM pg_catalog.pg_file_settings AS fs
    WHERE fs.sourcefile LIKE '%/postgresql.auto.conf'
)
SELECT fp.object_kind, fp.object_identity, COALESCE(fp.definition, '') AS definition
FROM fp
ORDER BY fp.object_kind COLLATE "C", fp.object_identity COLLATE "C", COALESCE(fp.definition, '') COLLATE "C"
