//! `sqitch.conf`: the engine must be `pg` and the layout Sqitch's default, which is what the
//! harness reads; anything else is refused with `file:line`.

use crate::error::{Error, ErrorKind, Result};

/// Check `sqitch.conf` (git-config syntax): the engine must be `pg`, and the layout Sqitch's
/// default (top_dir `.`, deploy/ verify/ revert/, `.sql`, sqitch.plan), which is what the harness
/// reads.
pub fn check_conf(text: &str, file: &str) -> Result<()> {
    let mut section = String::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(h) = line.strip_prefix('[') {
            let h = h.trim_end_matches(']');
            section = match h.split_once(char::is_whitespace) {
                Some((s, sub)) => format!("{}.{}", s.to_lowercase(), sub.trim().trim_matches('"')),
                None => h.trim().to_lowercase(),
            };
            continue;
        }
        let (k, v) = line.split_once('=').unwrap_or((line, "true"));
        let key = k.trim().to_lowercase();
        let value = v.trim().trim_matches('"');
        let full = format!("{section}.{key}");
        let refuse = |what: String| {
            Error::new(ErrorKind::SqitchConf, format!("{file}:{}: {what}", i + 1)).with_hint(
                "Bring the project in Sqitch's default layout (sqitch.plan, deploy/, verify/, revert/ with .sql scripts at the top of the folder given to --plan), engine pg.",
            )
        };
        if full == "core.engine" && value != "pg" {
            return Err(refuse(format!(
                "the project's engine is {value:?}; the harness runs PostgreSQL (engine pg) projects only."
            )));
        }
        let scoped =
            section == "core" || section.starts_with("engine.") || section.starts_with("target.");
        let layout = [
            "top_dir",
            "plan_file",
            "deploy_dir",
            "revert_dir",
            "verify_dir",
            "reworked_dir",
            "reworked_deploy_dir",
            "reworked_revert_dir",
            "reworked_verify_dir",
            "extension",
        ];
        if scoped && layout.contains(&key.as_str()) {
            let default = match key.as_str() {
                "top_dir" => ["."].as_slice(),
                "plan_file" => &["sqitch.plan", "./sqitch.plan"],
                "deploy_dir" | "reworked_deploy_dir" => &["deploy", "./deploy"],
                "revert_dir" | "reworked_revert_dir" => &["revert", "./revert"],
                "verify_dir" | "reworked_verify_dir" => &["verify", "./verify"],
                "reworked_dir" => &[".", "./"],
                _ => &["sql"],
            };
            if !default.contains(&value) {
                return Err(refuse(format!(
                    "{full} = {value:?} moves the project's files; the harness reads Sqitch's default layout only."
                )));
            }
        }
    }
    Ok(())
}
