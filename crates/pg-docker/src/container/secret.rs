//! The password of a harness server: random, and never shown in Debug output, logs or reports.

use rand::distributions::Alphanumeric;
use rand::Rng;

#[allow(unused_imports)]
use super::*;

/// A password that never shows in Debug output, logs or reports.
#[derive(Clone)]
pub struct Secret(pub(super) String);
impl Secret {
    pub fn random() -> Self {
        Secret(
            rand::thread_rng()
                .sample_iter(&Alphanumeric)
                .take(32)
                .map(char::from)
                .collect(),
        )
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}
impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

pub(super) fn short_rand() -> String {
    uuid::Uuid::new_v4().simple().to_string()[..8].to_string()
}
