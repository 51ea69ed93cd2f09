//! Single source of truth, on the Rust side, about the P0 signal table and its channel.
//! Every table, column, channel and constant name used by this crate lives here and nowhere else.

/// Schema created by migration P0 (`migrations/p0/deploy/01_schema.sql`).
pub const SCHEMA: &str = "cutter_governance";

/// Signal backlog table (`migrations/p0/deploy/06_signal.sql`), unqualified.
pub const SIGNAL_TABLE: &str = "signal";

/// Channel the AFTER INSERT trigger `signal_notify_g2_backlog` NOTIFYs on.
pub const CHANNEL: &str = "cutter_g2_backlog";

/// The only value `routed_to` may hold (CHECK `signal_routed_to_check`).
pub const ROUTED_TO: &str = "G-2";

/// Name of the AFTER INSERT trigger (and of its function) that sends the NOTIFY.
pub const NOTIFY_TRIGGER: &str = "signal_notify_g2_backlog";

/// Column names of `cutter_governance.signal`.
pub mod col {
    /// `uuid` primary key, defaults to `gen_random_uuid()`.
    pub const ID: &str = "id";
    /// `text`, one of the [`crate::SignalKind`] values.
    pub const KIND: &str = "kind";
    /// `uuid`, the change set the signal is about (not a foreign key).
    pub const CHANGE_SET_ID: &str = "change_set_id";
    /// `integer`, `public.dot_tools.id` of the emitting DOT.
    pub const EMITTER_DOT_ID: &str = "emitter_dot_id";
    /// `text`, always [`super::ROUTED_TO`].
    pub const ROUTED_TO: &str = "routed_to";
    /// `jsonb` payload.
    pub const PAYLOAD: &str = "payload";
    /// `timestamptz`, defaults to `now()`.
    pub const EMITTED_AT: &str = "emitted_at";
    /// `text`, who acknowledged (NULL until acknowledged).
    pub const ACKNOWLEDGED_BY: &str = "acknowledged_by";
    /// `timestamptz`, when acknowledged (NULL until acknowledged).
    pub const ACKNOWLEDGED_AT: &str = "acknowledged_at";

    /// Every column, in table order; the order of `RETURNING`/`SELECT` lists.
    pub const ALL: [&str; 9] = [
        ID,
        KIND,
        CHANGE_SET_ID,
        EMITTER_DOT_ID,
        ROUTED_TO,
        PAYLOAD,
        EMITTED_AT,
        ACKNOWLEDGED_BY,
        ACKNOWLEDGED_AT,
    ];
}

/// Keys of the JSON payload sent by the NOTIFY trigger.
pub mod notify_key {
    /// Signal id (string uuid).
    pub const ID: &str = "id";
    /// Signal kind (string).
    pub const KIND: &str = "kind";
    /// Change set id (string uuid).
    pub const CHANGE_SET_ID: &str = "change_set_id";
    /// Emitter DOT id (number).
    pub const EMITTER_DOT_ID: &str = "emitter_dot_id";
    /// Routing target (string, `G-2`).
    pub const ROUTED_TO: &str = "routed_to";
}

/// `cutter_governance.signal`, schema-qualified (names are plain lowercase: no quoting needed).
pub fn signal_table() -> String {
    format!("{SCHEMA}.{SIGNAL_TABLE}")
}

fn column_list() -> String {
    col::ALL.join(", ")
}

/// `INSERT` of one signal: `$1` kind, `$2` change_set_id, `$3` emitter_dot_id, `$4` routed_to,
/// `$5` payload; returns every column.
pub fn insert_sql() -> String {
    format!(
        "INSERT INTO {table} ({kind}, {cs}, {emitter}, {routed}, {payload}) \
         VALUES ($1, $2, $3, $4, $5) RETURNING {cols}",
        table = signal_table(),
        kind = col::KIND,
        cs = col::CHANGE_SET_ID,
        emitter = col::EMITTER_DOT_ID,
        routed = col::ROUTED_TO,
        payload = col::PAYLOAD,
        cols = column_list(),
    )
}

/// Acknowledge an unacknowledged signal: `$1` id, `$2` acknowledged_by; returns every column,
/// or no row when the signal is unknown or already acknowledged.
pub fn acknowledge_sql() -> String {
    format!(
        "UPDATE {table} SET {by} = $2, {at} = now() \
         WHERE {id} = $1 AND {at} IS NULL RETURNING {cols}",
        table = signal_table(),
        by = col::ACKNOWLEDGED_BY,
        at = col::ACKNOWLEDGED_AT,
        id = col::ID,
        cols = column_list(),
    )
}

/// One signal by id: `$1` id.
pub fn select_by_id_sql() -> String {
    format!(
        "SELECT {cols} FROM {table} WHERE {id} = $1",
        cols = column_list(),
        table = signal_table(),
        id = col::ID,
    )
}

/// Filtered list, oldest first: `$1` kind or NULL, `$2` change_set_id or NULL,
/// `$3` acknowledged (bool) or NULL, `$4` limit or NULL (no limit).
pub fn list_sql() -> String {
    format!(
        "SELECT {cols} FROM {table} \
         WHERE ($1::text IS NULL OR {kind} = $1::text) \
           AND ($2::uuid IS NULL OR {cs} = $2::uuid) \
           AND ($3::boolean IS NULL OR ({at} IS NOT NULL) = $3::boolean) \
         ORDER BY {emitted}, {id} LIMIT $4::bigint",
        cols = column_list(),
        table = signal_table(),
        kind = col::KIND,
        cs = col::CHANGE_SET_ID,
        at = col::ACKNOWLEDGED_AT,
        emitted = col::EMITTED_AT,
        id = col::ID,
    )
}

/// `LISTEN` statement for [`CHANNEL`].
pub fn listen_sql() -> String {
    format!("LISTEN {CHANNEL}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The P0 deploy step that creates the table, read at compile time.
    const DEPLOY_06: &str = include_str!("../../../migrations/p0/deploy/06_signal.sql");

    #[test]
    fn constants_match_the_p0_migration() {
        assert!(DEPLOY_06.contains(&format!("CREATE TABLE {}", signal_table())));
        for c in col::ALL {
            assert!(
                DEPLOY_06.contains(&format!("\n    {c} ")),
                "column {c} not declared in 06_signal.sql"
            );
        }
        assert!(DEPLOY_06.contains(&format!("'{CHANNEL}'")));
        assert!(DEPLOY_06.contains(&format!("routed_to = '{ROUTED_TO}'")));
        assert!(DEPLOY_06.contains(&format!("CREATE TRIGGER {NOTIFY_TRIGGER}")));
        for kind in <crate::SignalKind as strum::IntoEnumIterator>::iter() {
            assert!(DEPLOY_06.contains(&format!("'{}'", kind.as_str())));
        }
        for key in [
            notify_key::ID,
            notify_key::KIND,
            notify_key::CHANGE_SET_ID,
            notify_key::EMITTER_DOT_ID,
            notify_key::ROUTED_TO,
        ] {
            assert!(DEPLOY_06.contains(&format!("'{key}', NEW.{key}")));
        }
    }

    #[test]
    fn sql_uses_every_column() {
        let insert = insert_sql();
        assert!(insert.starts_with("INSERT INTO cutter_governance.signal (kind, change_set_id"));
        assert!(insert.ends_with(
            "RETURNING id, kind, change_set_id, emitter_dot_id, routed_to, payload, \
             emitted_at, acknowledged_by, acknowledged_at"
        ));
        assert!(acknowledge_sql().contains("WHERE id = $1 AND acknowledged_at IS NULL"));
        assert_eq!(listen_sql(), "LISTEN cutter_g2_backlog");
    }
}
