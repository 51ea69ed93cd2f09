//! Signal routing for dot-iu-cutter: `dot_pair_drift` / `signature_failure` signals stored in
//! `cutter_governance.signal`, announced on `cutter_g2_backlog` for the G-2 backlog.
//!
//! * [`emit`] inserts a signal (the P0 trigger sends the NOTIFY), [`emit_mirrored`] also
//!   appends it to a [`JsonlMirror`] (dry runs).
//! * [`acknowledge`] acknowledges once; an unknown id or a second acknowledgement is an error
//!   ([`Acknowledgement`] names the three outcomes).
//! * [`list`] / [`get`] read the backlog; [`Listener`] owns a `LISTEN` connection.
//! * [`schema`] is the single Rust-side source of truth about the P0 signal table.

pub mod error;
pub mod listener;
pub mod mirror;
pub mod schema;
pub mod signal;
pub mod store;

pub use error::{Error, Result};
pub use listener::{Listener, Notification};
pub use mirror::JsonlMirror;
pub use schema::CHANNEL;
pub use signal::{Signal, SignalKind};
pub use store::{acknowledge, emit, emit_mirrored, get, list, Acknowledgement, SignalFilter};

#[cfg(test)]
mod tests {
    use super::*;
    use strum::IntoEnumIterator;

    #[test]
    fn kind_round_trips_through_str_and_serde() -> Result<()> {
        for kind in SignalKind::iter() {
            assert_eq!(kind.as_str().parse::<SignalKind>()?, kind);
            assert_eq!(kind.to_string(), kind.as_str());
            let json = serde_json::to_string(&kind)?;
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<SignalKind>(&json)?, kind);
        }
        assert_eq!(SignalKind::DotPairDrift.as_str(), "dot_pair_drift");
        assert_eq!(SignalKind::SignatureFailure.as_str(), "signature_failure");
        Ok(())
    }

    #[test]
    fn unknown_kinds_are_rejected() {
        for bad in [
            "",
            "drift",
            "Dot_Pair_Drift",
            "signature_failure ",
            "dot-pair-drift",
        ] {
            match bad.parse::<SignalKind>() {
                Err(Error::UnknownKind(s)) => assert_eq!(s, bad),
                other => panic!("{bad:?} parsed as {other:?}"),
            }
        }
    }

    #[test]
    fn signal_invariants() {
        let mut s = Signal {
            id: uuid::Uuid::nil(),
            kind: SignalKind::DotPairDrift,
            change_set_id: uuid::Uuid::nil(),
            emitter_dot_id: 992,
            routed_to: "G-2".into(),
            payload: serde_json::json!({}),
            emitted_at: chrono::DateTime::<chrono::Utc>::UNIX_EPOCH,
            acknowledged_by: None,
            acknowledged_at: None,
        };
        assert!(s.check().is_ok());
        assert!(!s.is_acknowledged());
        s.acknowledged_by = Some("g2-operator".into());
        assert!(matches!(s.check(), Err(Error::InconsistentRow { .. })));
        s.acknowledged_at = Some(chrono::DateTime::<chrono::Utc>::UNIX_EPOCH);
        assert!(s.check().is_ok());
        assert!(s.is_acknowledged());
        s.routed_to = "G-1".into();
        assert!(matches!(s.check(), Err(Error::InconsistentRow { .. })));
    }

    #[test]
    fn acknowledgement_outcomes() -> Result<()> {
        let at = chrono::DateTime::<chrono::Utc>::UNIX_EPOCH;
        let id = uuid::Uuid::nil();
        let already = Err(Error::AlreadyAcknowledged {
            id,
            by: "g2-operator".into(),
            at,
        });
        assert_eq!(
            Acknowledgement::of(&already),
            Some(Acknowledgement::AlreadyAcknowledged)
        );
        assert_eq!(
            Acknowledgement::of(&Err(Error::UnknownSignal(id))),
            Some(Acknowledgement::UnknownSignal)
        );
        assert_eq!(Acknowledgement::of(&Err(Error::BlankAcknowledger)), None);
        for a in Acknowledgement::iter() {
            let json = serde_json::to_string(&a)?;
            assert_eq!(json, format!("\"{}\"", a.as_str()));
            assert_eq!(a.to_string(), a.as_str());
            assert_eq!(serde_json::from_str::<Acknowledgement>(&json)?, a);
        }
        assert!(serde_json::from_str::<Acknowledgement>("\"okay\"").is_err());
        Ok(())
    }

    #[test]
    fn channel_is_the_p0_channel() {
        assert_eq!(CHANNEL, "cutter_g2_backlog");
    }
}
