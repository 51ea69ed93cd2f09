//! The statements about whole databases of a harness server: a clone of the baseline and its
//! drop, each identifier quoted (`postgres_protocol::escape::escape_identifier`).

use super::DB_NAME;

/// The statement that clones the baseline database into `name` at the speed of the disk
/// (`CREATE DATABASE … TEMPLATE directus STRATEGY FILE_COPY`; no connection to the template).
pub fn clone_sql(name: &str) -> String {
    use postgres_protocol::escape::escape_identifier;
    format!(
        "CREATE DATABASE {} TEMPLATE {} STRATEGY FILE_COPY",
        escape_identifier(name),
        escape_identifier(DB_NAME)
    )
}

/// The statement that drops database `name` with its sessions (`IF EXISTS` with `if_exists`).
pub fn drop_sql(name: &str, if_exists: bool) -> String {
    format!(
        "DROP DATABASE {}{} WITH (FORCE)",
        if if_exists { "IF EXISTS " } else { "" },
        postgres_protocol::escape::escape_identifier(name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted_and_the_strategy_is_file_copy() {
        assert_eq!(
            clone_sql("s12_ab\"cd"),
            "CREATE DATABASE \"s12_ab\"\"cd\" TEMPLATE \"directus\" STRATEGY FILE_COPY"
        );
        assert_eq!(drop_sql("x", false), "DROP DATABASE \"x\" WITH (FORCE)");
        assert_eq!(
            drop_sql("x", true),
            "DROP DATABASE IF EXISTS \"x\" WITH (FORCE)"
        );
    }
}
