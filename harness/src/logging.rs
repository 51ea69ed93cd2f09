//! Log set-up shared by the CLI and the test runner: `tracing` to stderr with the user's
//! filter, except that the Docker client never logs at debug level (its request bodies carry
//! container environments, passwords included).

use tracing_subscriber::EnvFilter;

/// Targets whose debug output would print secrets; capped at `info` whatever the filter says.
const CAPPED: [&str; 3] = ["bollard", "hyper", "hyper_util"];

/// The user's filter (RUST_LOG syntax; `info` if it does not parse) with the caps applied.
pub fn filter(user: &str) -> EnvFilter {
    let kept: Vec<&str> = user
        .split(',')
        .map(str::trim)
        .filter(|d| !CAPPED.iter().any(|c| d.starts_with(c)))
        .collect();
    let mut f = EnvFilter::try_new(kept.join(",")).unwrap_or_else(|_| EnvFilter::new("info"));
    for c in CAPPED {
        if let Ok(d) = format!("{c}=info").parse() {
            f = f.add_directive(d);
        }
    }
    f
}

/// Install the stderr subscriber (once per process; later calls do nothing).
pub fn init(user: &str) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter(user))
        .with_writer(std::io::stderr)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_client_is_capped_even_when_asked_for_trace() {
        let f = filter("trace,bollard=trace").to_string();
        assert!(f.contains("bollard=info"), "{f}");
        assert!(!f.contains("bollard=trace"), "{f}");
        assert!(f.contains("trace"), "{f}");
    }
}
