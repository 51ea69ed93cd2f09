-- Schema fingerprint: ONE read-only query -> (object_kind, object_identity, definition),
-- ordered by kind then identity (COLLATE "C"). No OIDs, owners, relfilenodes or toast names,
-- and never the database's name (the state of the database itself is under `current_database()`;
-- large objects are named by their OID, which pg_dump keeps).
--
-- Session requirement: SET search_path = pg_catalog before running it (pg_get_*def output
-- qualifies names according to search_path). The query raises
--   invalid input syntax for type boolean: "schema fingerprint requires search_path = pg_catalog ..."
-- otherwise. It creates nothing and writes nothing. See README.md for what each kind covers.
WITH
guard AS (
    SELECT CASE WHEN pg_catalog.current_setting('search_path') = 'pg_catalog' THEN true
                ELSE CAST('schema fingerprint requires search_path = pg_catalog (got '
                          || pg_catalog.current_setting('search_path') || ')' AS boolean)
           END AS ok
),
-- the database the query runs in (its name is never output: clones and restores differ in it)
cur AS (
    SELECT db.oid, db.datdba, db.datacl, db.datconnlimit, db.datallowconn, db.datistemplate
    FROM pg_catalog.pg_database AS db
    WHERE db.datname = pg_catalog.current_database()
),
ns AS (
    SELECT n.oid, n.nspname
    FROM pg_catalog.pg_namespace AS n
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND n.nspname NOT LIKE 'pg\_temp\_%'
      AND n.nspname NOT LIKE 'pg\_toast\_temp\_%'
),
rel AS (
    SELECT c.oid, c.relname, c.relkind, c.relowner, c.relacl, ns.nspname,
           pg_catalog.format('%I.%I', ns.nspname, c.relname) AS ident
    FROM pg_catalog.pg_class AS c
    JOIN ns ON ns.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm', 'S', 'c', 'i', 'I')
),
-- user-visible types: no implicit array types, no row types of tables/views
typ AS (
    SELECT t.oid, t.typname, t.typtype, t.typowner, t.typacl, ns.nspname,
           pg_catalog.format('%I.%I', ns.nspname, t.typname) AS ident
    FROM pg_catalog.pg_type AS t
    JOIN ns ON ns.oid = t.typnamespace
    WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_type AS e WHERE e.typarray = t.oid)
      AND (t.typrelid = 0
           OR EXISTS (SELECT 1 FROM pg_catalog.pg_class AS c WHERE c.oid = t.typrelid AND c.relkind = 'c'))
),
fp (object_kind, object_identity, definition) AS (
    -- schemas
    SELECT 'schema', pg_catalog.quote_ident(ns.nspname), ''
    FROM ns

    -- tables, partitioned tables, foreign tables (RLS flags live here)
    UNION ALL
    SELECT 'table', r.ident, pg_catalog.concat_ws('; ',
        'relkind=' || c.relkind::text,
        'persistence=' || c.relpersistence::text,
        'access_method=' || COALESCE((SELECT am.amname FROM pg_catalog.pg_am AS am WHERE am.oid = c.relam), '-'),
        'tablespace=' || COALESCE((SELECT sp.spcname FROM pg_catalog.pg_tablespace AS sp WHERE sp.oid = c.reltablespace), 'default'),
        'rls_enabled=' || c.relrowsecurity,
        'rls_forced=' || c.relforcerowsecurity,
        'replica_identity=' || c.relreplident::text,
        'of_type=' || COALESCE(pg_catalog.format_type(NULLIF(c.reloftype, 0), NULL), '-'),
        'options=' || COALESCE(pg_catalog.array_to_string(c.reloptions, ','), '-'),
        'partition_key=' || COALESCE(pg_catalog.pg_get_partkeydef(c.oid), '-'),
        'partition_bound=' || COALESCE(pg_catalog.pg_get_expr(c.relpartbound, c.oid), '-'),
        'inherits=' || COALESCE((
            SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I', pn.nspname, pc.relname), ',' ORDER BY i.inhseqno)
            FROM pg_catalog.pg_inherits AS i
            JOIN pg_catalog.pg_class AS pc ON pc.oid = i.inhparent
            JOIN pg_catalog.pg_namespace AS pn ON pn.oid = pc.relnamespace
            WHERE i.inhrelid = c.oid), '-'),
        'foreign=' || COALESCE((
            SELECT pg_catalog.quote_ident(fs.srvname) || ' ' || COALESCE(pg_catalog.array_to_string(ft.ftoptions, ','), '')
            FROM pg_catalog.pg_foreign_table AS ft
            JOIN pg_catalog.pg_foreign_server AS fs ON fs.oid = ft.ftserver
            WHERE ft.ftrelid = c.oid), '-'))
    FROM rel AS r
    JOIN pg_catalog.pg_class AS c ON c.oid = r.oid
    WHERE r.relkind IN ('r', 'p', 'f')

    -- columns of tables, views and materialized views (position = rank among live columns)
    UNION ALL
    SELECT 'column', pg_catalog.format('%s.%I', r.ident, a.attname), pg_catalog.concat_ws('; ',
        'position=' || pg_catalog.row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum),
        'type=' || pg_catalog.format_type(a.atttypid, a.atttypmod),
        'not_null=' || a.attnotnull,
        'default=' || COALESCE(pg_catalog.pg_get_expr(d.adbin, d.adrelid), '-'),
        'identity=' || COALESCE(NULLIF(a.attidentity::text, ''), '-'),
        'generated=' || COALESCE(NULLIF(a.attgenerated::text, ''), '-'),
        'collation=' || COALESCE((
            SELECT pg_catalog.format('%I.%I', cn.nspname, co.collname)
            FROM pg_catalog.pg_collation AS co
            JOIN pg_catalog.pg_namespace AS cn ON cn.oid = co.collnamespace
            WHERE co.oid = a.attcollation), '-'),
        'storage=' || a.attstorage::text,
        'compression=' || COALESCE(NULLIF(a.attcompression::text, ''), '-'),
        'statistics=' || COALESCE(a.attstattarget::text, '-'),
        'options=' || COALESCE(pg_catalog.array_to_string(a.attoptions, ','), '-'),
        'fdw_options=' || COALESCE(pg_catalog.array_to_string(a.attfdwoptions, ','), '-'))
    FROM rel AS r
    JOIN pg_catalog.pg_attribute AS a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_catalog.pg_attrdef AS d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE r.relkind IN ('r', 'p', 'f', 'v', 'm')

    -- types: enums, domains (with their constraints), composites, ranges, base/pseudo types
    UNION ALL
    SELECT 'type', t.ident,
        CASE t.typtype
            WHEN 'e' THEN 'enum ' || COALESCE((
                SELECT pg_catalog.string_agg(pg_catalog.quote_literal(e.enumlabel), ', ' ORDER BY e.enumsortorder)
                FROM pg_catalog.pg_enum AS e WHERE e.enumtypid = t.oid), '')
            WHEN 'd' THEN pg_catalog.concat_ws('; ',
                'domain ' || pg_catalog.format_type(tt.typbasetype, tt.typtypmod),
                'not_null=' || tt.typnotnull,
                'default=' || COALESCE(tt.typdefault, '-'),
                'collation=' || COALESCE((
                    SELECT pg_catalog.format('%I.%I', cn.nspname, co.collname)
                    FROM pg_catalog.pg_collation AS co
                    JOIN pg_catalog.pg_namespace AS cn ON cn.oid = co.collnamespace
                    WHERE co.oid = tt.typcollation), '-'),
                'constraints=' || COALESCE((
                    SELECT pg_catalog.string_agg(pg_catalog.quote_ident(k.conname) || ' ' || pg_catalog.pg_get_constraintdef(k.oid),
                                                 ', ' ORDER BY k.conname COLLATE "C")
                    FROM pg_catalog.pg_constraint AS k WHERE k.contypid = t.oid), '-'))
            WHEN 'c' THEN 'composite ' || COALESCE((
                SELECT pg_catalog.string_agg(pg_catalog.format('%I %s', a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod)),
                                             ', ' ORDER BY a.attnum)
                FROM pg_catalog.pg_attribute AS a
                WHERE a.attrelid = tt.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '')
            WHEN 'r' THEN 'range ' || COALESCE((
                SELECT pg_catalog.concat_ws('; ',
                    'subtype=' || pg_catalog.format_type(rg.rngsubtype, NULL),
                    'multirange=' || COALESCE(pg_catalog.format_type(NULLIF(rg.rngmultitypid, 0), NULL), '-'),
                    'opclass=' || COALESCE((SELECT pg_catalog.format('%I.%I', on2.nspname, oc.opcname)
                                            FROM pg_catalog.pg_opclass AS oc
                                            JOIN pg_catalog.pg_namespace AS on2 ON on2.oid = oc.opcnamespace
                                            WHERE oc.oid = rg.rngsubopc), '-'),
                    'canonical=' || rg.rngcanonical::text,
                    'subdiff=' || rg.rngsubdiff::text)
                FROM pg_catalog.pg_range AS rg WHERE rg.rngtypid = t.oid), '')
            WHEN 'm' THEN 'multirange'
            ELSE pg_catalog.concat_ws('; ',
                'typtype=' || t.typtype::text,
                'input=' || tt.typinput::text,
                'output=' || tt.typoutput::text,
                'length=' || tt.typlen,
                'category=' || tt.typcategory::text)
        END
    FROM typ AS t
    JOIN pg_catalog.pg_type AS tt ON tt.oid = t.oid

    -- table constraints (CHECK, PK, UNIQUE, FK, EXCLUDE, constraint triggers)
    UNION ALL
    SELECT 'constraint', pg_catalog.format('%s.%I', r.ident, k.conname),
        'type=' || k.contype::text || '; ' || pg_catalog.pg_get_constraintdef(k.oid)
    FROM rel AS r
    JOIN pg_catalog.pg_constraint AS k ON k.conrelid = r.oid

    -- indexes
    UNION ALL
    SELECT 'index', r.ident, pg_catalog.concat_ws('; ',
        pg_catalog.pg_get_indexdef(i.indexrelid),
        'clustered=' || i.indisclustered,
        'replica_identity=' || i.indisreplident)
    FROM rel AS r
    JOIN pg_catalog.pg_index AS i ON i.indexrelid = r.oid

    -- views and materialized views
    UNION ALL
    SELECT CASE c.relkind WHEN 'v' THEN 'view' ELSE 'materialized_view' END, r.ident, pg_catalog.concat_ws('; ',
        'options=' || COALESCE(pg_catalog.array_to_string(c.reloptions, ','), '-'),
        CASE WHEN c.relkind = 'm' THEN 'populated=' || c.relispopulated END,
        'definition=' || pg_catalog.pg_get_viewdef(c.oid))
    FROM rel AS r
    JOIN pg_catalog.pg_class AS c ON c.oid = r.oid
    WHERE r.relkind IN ('v', 'm')

    -- functions, procedures, window functions, aggregates
    UNION ALL
    SELECT CASE p.prokind WHEN 'p' THEN 'procedure' WHEN 'a' THEN 'aggregate' ELSE 'function' END,
        pg_catalog.format('%I.%I(%s)', ns.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
        CASE WHEN p.prokind = 'a' THEN (
            SELECT pg_catalog.concat_ws('; ',
                'kind=' || ag.aggkind::text,
                'transfn=' || ag.aggtransfn::regprocedure::text,
                'finalfn=' || CASE WHEN ag.aggfinalfn = 0 THEN '-' ELSE ag.aggfinalfn::regprocedure::text END,
                'combinefn=' || CASE WHEN ag.aggcombinefn = 0 THEN '-' ELSE ag.aggcombinefn::regprocedure::text END,
                'transtype=' || pg_catalog.format_type(ag.aggtranstype, NULL),
                'initval=' || COALESCE(ag.agginitval, '-'),
                'sortop=' || ag.aggsortop::regoperator::text,
                'result=' || pg_catalog.pg_get_function_result(p.oid))
            FROM pg_catalog.pg_aggregate AS ag WHERE ag.aggfnoid = p.oid)
        ELSE pg_catalog.pg_get_functiondef(p.oid) END
    FROM pg_catalog.pg_proc AS p
    JOIN ns ON ns.oid = p.pronamespace

    -- triggers (internal FK/RI triggers excluded: their names embed OIDs), with enabled state
    UNION ALL
    SELECT 'trigger', pg_catalog.format('%s.%I', r.ident, tg.tgname),
        pg_catalog.pg_get_triggerdef(tg.oid) || '; enabled=' || tg.tgenabled::text
    FROM rel AS r
    JOIN pg_catalog.pg_trigger AS tg ON tg.tgrelid = r.oid AND NOT tg.tgisinternal

    -- rewrite rules other than the _RETURN rule of views
    UNION ALL
    SELECT 'rule', pg_catalog.format('%s.%I', r.ident, rw.rulename),
        pg_catalog.pg_get_ruledef(rw.oid) || '; enabled=' || rw.ev_enabled::text
    FROM rel AS r
    JOIN pg_catalog.pg_rewrite AS rw ON rw.ev_class = r.oid AND rw.rulename <> '_RETURN'

    -- row level security policies (roles by name)
    UNION ALL
    SELECT 'policy', pg_catalog.format('%s.%I', r.ident, po.polname), pg_catalog.concat_ws('; ',
        'command=' || po.polcmd::text,
        'permissive=' || po.polpermissive,
        'roles=' || (
            SELECT pg_catalog.string_agg(rn.name, ',' ORDER BY rn.name COLLATE "C")
            FROM (SELECT CASE WHEN ro.rid = 0 THEN 'public'
                              ELSE COALESCE((SELECT pg_catalog.quote_ident(au.rolname) FROM pg_catalog.pg_roles AS au WHERE au.oid = ro.rid), '?')
                         END AS name
                  FROM pg_catalog.unnest(po.polroles) AS ro (rid)) AS rn),
        'using=' || COALESCE(pg_catalog.pg_get_expr(po.polqual, po.polrelid), '-'),
        'with_check=' || COALESCE(pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid), '-'))
    FROM rel AS r
    JOIN pg_catalog.pg_policy AS po ON po.polrelid = r.oid

    -- sequences: definition plus state (last_value, or "not called")
    UNION ALL
    SELECT 'sequence', r.ident, pg_catalog.concat_ws('; ',
        'type=' || pg_catalog.format_type(s.seqtypid, NULL),
        'start=' || s.seqstart,
        'increment=' || s.seqincrement,
        'min=' || s.seqmin,
        'max=' || s.seqmax,
        'cache=' || s.seqcache,
        'cycle=' || s.seqcycle,
        'persistence=' || c.relpersistence::text,
        'owned_by=' || COALESCE((
            SELECT pg_catalog.string_agg(pg_catalog.format('%I.%I.%I', dn.nspname, dc.relname, da.attname)
                                         || CASE dp.deptype WHEN 'i' THEN ' (identity)' ELSE '' END, ',')
            FROM pg_catalog.pg_depend AS dp
            JOIN pg_catalog.pg_class AS dc ON dc.oid = dp.refobjid
            JOIN pg_catalog.pg_namespace AS dn ON dn.oid = dc.relnamespace
            JOIN pg_catalog.pg_attribute AS da ON da.attrelid = dp.refobjid AND da.attnum = dp.refobjsubid
            WHERE dp.classid = 'pg_catalog.pg_class'::regclass AND dp.objid = c.oid
              AND dp.refclassid = 'pg_catalog.pg_class'::regclass AND dp.deptype IN ('a', 'i')), '-'),
        'last_value=' || COALESCE(pg_catalog.pg_sequence_last_value(c.oid)::text, 'not called'))
    FROM rel AS r
    JOIN pg_catalog.pg_class AS c ON c.oid = r.oid
    JOIN pg_catalog.pg_sequence AS s ON s.seqrelid = c.oid

    -- extended statistics objects
    UNION ALL
    SELECT 'statistics', pg_catalog.format('%I.%I', ns.nspname, st.stxname), pg_catalog.pg_get_statisticsobjdef(st.oid)
    FROM pg_catalog.pg_statistic_ext AS st
    JOIN ns ON ns.oid = st.stxnamespace

    -- extensions
    UNION ALL
    SELECT 'extension', pg_catalog.quote_ident(x.extname), pg_catalog.concat_ws('; ',
        'version=' || x.extversion,
        'schema=' || pg_catalog.quote_ident(xn.nspname),
        'relocatable=' || x.extrelocatable)
    FROM pg_catalog.pg_extension AS x
    JOIN pg_catalog.pg_namespace AS xn ON xn.oid = x.extnamespace

    -- event triggers
    UNION ALL
    SELECT 'event_trigger', pg_catalog.quote_ident(ev.evtname), pg_catalog.concat_ws('; ',
        'event=' || ev.evtevent,
        'function=' || ev.evtfoid::regprocedure::text,
        'enabled=' || ev.evtenabled::text,
        'tags=' || COALESCE(pg_catalog.array_to_string(ev.evttags, ','), '-'))
    FROM pg_catalog.pg_event_trigger AS ev

    -- comments on any object in scope (identity from pg_identify_object: always qualified)
    UNION ALL
    SELECT 'comment', io.type || ' ' || io.identity, d.description
    FROM pg_catalog.pg_description AS d
    CROSS JOIN LATERAL pg_catalog.pg_identify_object(d.classoid, d.objoid, d.objsubid) AS io
    WHERE CASE
            WHEN d.classoid = 'pg_catalog.pg_largeobject'::regclass THEN true
            WHEN io.type = 'schema' THEN EXISTS (SELECT 1 FROM ns WHERE ns.oid = d.objoid)
            WHEN io.schema IS NOT NULL THEN EXISTS (SELECT 1 FROM ns WHERE ns.nspname = io.schema)
            ELSE d.objoid >= 16384
          END

    -- privileges: difference from the built-in default ACL, owner and grantor left out
    UNION ALL
    SELECT 'privilege', o.kind || ' ' || o.ident, o.def
    FROM (
        SELECT a.kind, a.ident, (
            SELECT pg_catalog.string_agg(x.entry, ', ' ORDER BY x.entry COLLATE "C")
            FROM (
                (SELECT '+' || g.who || ':' || g.privilege_type || g.grantable AS entry
                 FROM (SELECT CASE WHEN e.grantee = 0 THEN 'PUBLIC'
                                   ELSE COALESCE((SELECT pg_catalog.quote_ident(ro.rolname) FROM pg_catalog.pg_roles AS ro WHERE ro.oid = e.grantee), '?') END AS who,
                              e.privilege_type, CASE WHEN e.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS grantable
                       FROM pg_catalog.aclexplode(COALESCE(a.acl, a.defacl)) AS e WHERE e.grantee <> a.owner) AS g
                 EXCEPT
                 SELECT '+' || g.who || ':' || g.privilege_type || g.grantable
                 FROM (SELECT CASE WHEN e.grantee = 0 THEN 'PUBLIC'
                                   ELSE COALESCE((SELECT pg_catalog.quote_ident(ro.rolname) FROM pg_catalog.pg_roles AS ro WHERE ro.oid = e.grantee), '?') END AS who,
                              e.privilege_type, CASE WHEN e.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS grantable
                       FROM pg_catalog.aclexplode(a.defacl) AS e WHERE e.grantee <> a.owner) AS g)
                UNION ALL
                (SELECT '-' || g.who || ':' || g.privilege_type || g.grantable
                 FROM (SELECT CASE WHEN e.grantee = 0 THEN 'PUBLIC'
                                   ELSE COALESCE((SELECT pg_catalog.quote_ident(ro.rolname) FROM pg_catalog.pg_roles AS ro WHERE ro.oid = e.grantee), '?') END AS who,
                              e.privilege_type, CASE WHEN e.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS grantable
                       FROM pg_catalog.aclexplode(a.defacl) AS e WHERE e.grantee <> a.owner) AS g
                 EXCEPT
                 SELECT '-' || g.who || ':' || g.privilege_type || g.grantable
                 FROM (SELECT CASE WHEN e.grantee = 0 THEN 'PUBLIC'
                                   ELSE COALESCE((SELECT pg_catalog.quote_ident(ro.rolname) FROM pg_catalog.pg_roles AS ro WHERE ro.oid = e.grantee), '?') END AS who,
                              e.privilege_type, CASE WHEN e.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS grantable
                       FROM pg_catalog.aclexplode(COALESCE(a.acl, a.defacl)) AS e WHERE e.grantee <> a.owner) AS g)
            ) AS x) AS def
        FROM (
            SELECT 'schema' AS kind, pg_catalog.quote_ident(n.nspname) AS ident, n.nspacl AS acl,
                   pg_catalog.acldefault('n', n.nspowner) AS defacl, n.nspowner AS owner
            FROM pg_catalog.pg_namespace AS n JOIN ns ON ns.oid = n.oid
            UNION ALL
            SELECT CASE r.relkind WHEN 'S' THEN 'sequence' ELSE 'table' END, r.ident, r.relacl,
                   pg_catalog.acldefault(CASE r.relkind WHEN 'S' THEN 's'::"char" ELSE 'r'::"char" END, r.relowner), r.relowner
            FROM rel AS r WHERE r.relkind IN ('r', 'p', 'f', 'v', 'm', 'S')
            UNION ALL
            SELECT 'column', pg_catalog.format('%s.%I', r.ident, at.attname), at.attacl,
                   pg_catalog.acldefault('c', r.relowner), r.relowner
            FROM rel AS r
            JOIN pg_catalog.pg_attribute AS at ON at.attrelid = r.oid AND at.attnum > 0 AND NOT at.attisdropped
            WHERE r.relkind IN ('r', 'p', 'f', 'v', 'm') AND at.attacl IS NOT NULL
            UNION ALL
            SELECT 'function', pg_catalog.format('%I.%I(%s)', ns.nspname, p.proname, pg_catalog.pg_get_function_identity_arguments(p.oid)),
                   p.proacl, pg_catalog.acldefault('f', p.proowner), p.proowner
            FROM pg_catalog.pg_proc AS p JOIN ns ON ns.oid = p.pronamespace
            UNION ALL
            SELECT 'type', t.ident, t.typacl, pg_catalog.acldefault('T', t.typowner), t.typowner
            FROM typ AS t
            UNION ALL
            SELECT 'language', pg_catalog.quote_ident(l.lanname), l.lanacl, pg_catalog.acldefault('l', l.lanowner), l.lanowner
            FROM pg_catalog.pg_language AS l
            UNION ALL
            SELECT 'foreign_data_wrapper', pg_catalog.quote_ident(w.fdwname), w.fdwacl, pg_catalog.acldefault('F', w.fdwowner), w.fdwowner
            FROM pg_catalog.pg_foreign_data_wrapper AS w
            UNION ALL
            SELECT 'foreign_server', pg_catalog.quote_ident(s.srvname), s.srvacl, pg_catalog.acldefault('S', s.srvowner), s.srvowner
            FROM pg_catalog.pg_foreign_server AS s
            UNION ALL
            SELECT 'database', 'current_database()', cur.datacl, pg_catalog.acldefault('d', cur.datdba), cur.datdba
            FROM cur
            UNION ALL
            SELECT 'large_object', lm.oid::text, lm.lomacl, pg_catalog.acldefault('L', lm.lomowner), lm.lomowner
            FROM pg_catalog.pg_largeobject_metadata AS lm
        ) AS a
    ) AS o
    WHERE o.def IS NOT NULL

    -- default privileges (ALTER DEFAULT PRIVILEGES); the role is part of the identity
    UNION ALL
    SELECT 'default_privilege',
        pg_catalog.concat_ws(' ',
            'for=' || COALESCE((SELECT pg_catalog.quote_ident(ro.rolname) FROM pg_catalog.pg_roles AS ro WHERE ro.oid = da.defaclrole), '?'),
            'in=' || COALESCE((SELECT pg_catalog.quote_ident(n.nspname) FROM pg_catalog.pg_namespace AS n WHERE n.oid = da.defaclnamespace), '*'),
            'on=' || da.defaclobjtype::text),
        COALESCE((
            SELECT pg_catalog.string_agg(g.entry, ', ' ORDER BY g.entry COLLATE "C")
            FROM (SELECT CASE WHEN e.grantee = 0 THEN 'PUBLIC'
                              ELSE COALESCE((SELECT pg_catalog.quote_ident(ro.rolname) FROM pg_catalog.pg_roles AS ro WHERE ro.oid = e.grantee), '?') END
                         || ':' || e.privilege_type || CASE WHEN e.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END AS entry
                  FROM pg_catalog.aclexplode(da.defaclacl) AS e) AS g), '-')
    FROM pg_catalog.pg_default_acl AS da

    -- the database itself, only what differs from a database the bootstrap superuser created
    -- with the defaults (no row at all when nothing does): owner, connection limit, allow
    -- connections, template flag. Its privileges and comment are `privilege` / `comment` rows.
    UNION ALL
    SELECT 'database', 'current_database()', d.def
    FROM (SELECT pg_catalog.concat_ws('; ',
                CASE WHEN cur.datdba <> 10 THEN 'owner=' || COALESCE((
                    SELECT pg_catalog.quote_ident(ro.rolname) FROM pg_catalog.pg_roles AS ro WHERE ro.oid = cur.datdba), '?') END,
                CASE WHEN cur.datconnlimit <> -1 THEN 'connection_limit=' || cur.datconnlimit END,
                CASE WHEN NOT cur.datallowconn THEN 'allow_connections=false' END,
                CASE WHEN cur.datistemplate THEN 'is_template=true' END) AS def
          FROM cur) AS d
    WHERE d.def <> ''

    -- settings of this database: ALTER DATABASE … SET (for=*) and ALTER ROLE r IN DATABASE … SET
    UNION ALL
    SELECT 'database_setting',
        'for=' || CASE WHEN s.setrole = 0 THEN '*'
                       ELSE COALESCE((SELECT pg_catalog.quote_ident(ro.rolname) FROM pg_catalog.pg_roles AS ro WHERE ro.oid = s.setrole), '?') END
            || ' ' || pg_catalog.split_part(c.cfg, '=', 1),
        pg_catalog.substr(c.cfg, pg_catalog.strpos(c.cfg, '=') + 1)
    FROM pg_catalog.pg_db_role_setting AS s
    JOIN cur ON cur.oid = s.setdatabase
    CROSS JOIN LATERAL pg_catalog.unnest(s.setconfig) AS c (cfg)

    -- the comment on this database (pg_shdescription)
    UNION ALL
    SELECT 'comment', 'database current_database()', sd.description
    FROM pg_catalog.pg_shdescription AS sd
    JOIN cur ON cur.oid = sd.objoid
    WHERE sd.classoid = 'pg_catalog.pg_database'::regclass

    -- large objects: OID (pg_dump keeps it), owner by name, size and SHA-256 of the content
    UNION ALL
    SELECT 'large_object', lm.oid::text, pg_catalog.concat_ws('; ',
        'owner=' || COALESCE((SELECT pg_catalog.quote_ident(ro.rolname) FROM pg_catalog.pg_roles AS ro WHERE ro.oid = lm.lomowner), '?'),
        'bytes=' || pg_catalog.length(lo.content),
        'sha256=' || pg_catalog.encode(pg_catalog.sha256(lo.content), 'hex'))
    FROM pg_catalog.pg_largeobject_metadata AS lm
    CROSS JOIN LATERAL (SELECT pg_catalog.lo_get(lm.oid) AS content) AS lo

    -- publications (what they publish) and their tables (row filter, column list)
    UNION ALL
    SELECT 'publication', pg_catalog.quote_ident(pb.pubname), pg_catalog.concat_ws('; ',
        'all_tables=' || pb.puballtables,
        'insert=' || pb.pubinsert,
        'update=' || pb.pubupdate,
        'delete=' || pb.pubdelete,
        'truncate=' || pb.pubtruncate,
        'via_root=' || pb.pubviaroot)
    FROM pg_catalog.pg_publication AS pb
    UNION ALL
    SELECT 'publication_table', pg_catalog.format('%s in publication %I', r.ident, pb.pubname), pg_catalog.concat_ws('; ',
        'columns=' || COALESCE((
            SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname), ',' ORDER BY a.attnum)
            FROM pg_catalog.pg_attribute AS a
            WHERE a.attrelid = pr.prrelid AND a.attnum = ANY (pr.prattrs::int2[])), '*'),
        'where=' || COALESCE(pg_catalog.pg_get_expr(pr.prqual, pr.prrelid), '-'))
    FROM pg_catalog.pg_publication_rel AS pr
    JOIN pg_catalog.pg_publication AS pb ON pb.oid = pr.prpubid
    JOIN rel AS r ON r.oid = pr.prrelid

    -- subscriptions of this database (pg_subscription is shared); the connection string only
    -- as a hash (it may hold a password)
    UNION ALL
    SELECT 'subscription', pg_catalog.quote_ident(su.subname), pg_catalog.concat_ws('; ',
        'enabled=' || su.subenabled,
        'publications=' || pg_catalog.array_to_string(su.subpublications, ','),
        'slot=' || COALESCE(su.subslotname::text, '-'),
        'synchronous_commit=' || su.subsynccommit,
        'binary=' || su.subbinary,
        'streaming=' || su.substream::text,
        'two_phase=' || su.subtwophasestate::text,
        'disable_on_error=' || su.subdisableonerr,
        'password_required=' || su.subpasswordrequired,
        'run_as_owner=' || su.subrunasowner,
        'origin=' || COALESCE(su.suborigin, '-'),
        'conninfo_sha256=' || pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to(su.subconninfo, 'UTF8')), 'hex'))
    FROM pg_catalog.pg_subscription AS su
    JOIN cur ON cur.oid = su.subdbid

    -- every other user-created object a migration could add (presence only)
    UNION ALL
    SELECT 'other', io.type || ' ' || io.identity, ''
    FROM (
        SELECT 'pg_catalog.pg_operator'::regclass AS classid, o.oid FROM pg_catalog.pg_operator AS o JOIN ns ON ns.oid = o.oprnamespace
        UNION ALL SELECT 'pg_catalog.pg_opclass'::regclass, o.oid FROM pg_catalog.pg_opclass AS o JOIN ns ON ns.oid = o.opcnamespace
        UNION ALL SELECT 'pg_catalog.pg_opfamily'::regclass, o.oid FROM pg_catalog.pg_opfamily AS o JOIN ns ON ns.oid = o.opfnamespace
        UNION ALL SELECT 'pg_catalog.pg_collation'::regclass, o.oid FROM pg_catalog.pg_collation AS o JOIN ns ON ns.oid = o.collnamespace
        UNION ALL SELECT 'pg_catalog.pg_conversion'::regclass, o.oid FROM pg_catalog.pg_conversion AS o JOIN ns ON ns.oid = o.connamespace
        UNION ALL SELECT 'pg_catalog.pg_ts_config'::regclass, o.oid FROM pg_catalog.pg_ts_config AS o JOIN ns ON ns.oid = o.cfgnamespace
        UNION ALL SELECT 'pg_catalog.pg_ts_dict'::regclass, o.oid FROM pg_catalog.pg_ts_dict AS o JOIN ns ON ns.oid = o.dictnamespace
        UNION ALL SELECT 'pg_catalog.pg_ts_parser'::regclass, o.oid FROM pg_catalog.pg_ts_parser AS o JOIN ns ON ns.oid = o.prsnamespace
        UNION ALL SELECT 'pg_catalog.pg_ts_template'::regclass, o.oid FROM pg_catalog.pg_ts_template AS o JOIN ns ON ns.oid = o.tmplnamespace
        UNION ALL SELECT 'pg_catalog.pg_cast'::regclass, o.oid FROM pg_catalog.pg_cast AS o WHERE o.oid >= 16384
        UNION ALL SELECT 'pg_catalog.pg_language'::regclass, o.oid FROM pg_catalog.pg_language AS o WHERE o.oid >= 16384
        UNION ALL SELECT 'pg_catalog.pg_am'::regclass, o.oid FROM pg_catalog.pg_am AS o WHERE o.oid >= 16384
        UNION ALL SELECT 'pg_catalog.pg_transform'::regclass, o.oid FROM pg_catalog.pg_transform AS o
        UNION ALL SELECT 'pg_catalog.pg_foreign_data_wrapper'::regclass, o.oid FROM pg_catalog.pg_foreign_data_wrapper AS o
        UNION ALL SELECT 'pg_catalog.pg_foreign_server'::regclass, o.oid FROM pg_catalog.pg_foreign_server AS o
        UNION ALL SELECT 'pg_catalog.pg_publication_namespace'::regclass, o.oid FROM pg_catalog.pg_publication_namespace AS o
    ) AS obj
    CROSS JOIN LATERAL pg_catalog.pg_identify_object(obj.classid, obj.oid, 0) AS io
)
SELECT fp.object_kind, fp.object_identity, COALESCE(fp.definition, '') AS definition
FROM fp, guard
WHERE guard.ok
ORDER BY fp.object_kind COLLATE "C", fp.object_identity COLLATE "C", COALESCE(fp.definition, '') COLLATE "C"
