//! Dedicated `LISTEN cutter_g2_backlog` connection forwarding parsed notifications.
//! A background task drives the connection with `poll_message` and feeds a tokio mpsc channel.

use std::collections::VecDeque;
use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;
use tokio_postgres::tls::{MakeTlsConnect, TlsConnect};
use tokio_postgres::{AsyncMessage, Client, Config, NoTls, Socket};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::schema::{self, CHANNEL, ROUTED_TO};
use crate::signal::SignalKind;

/// One announcement received on [`CHANNEL`] (the payload sent by the NOTIFY trigger).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notification {
    /// Signal id.
    pub id: Uuid,
    /// Signal kind.
    pub kind: SignalKind,
    /// Change set the signal is about.
    pub change_set_id: Uuid,
    /// Emitting DOT.
    pub emitter_dot_id: i32,
    /// Routing target, always `G-2`.
    pub routed_to: String,
    /// Backend process id of the emitting session (0 when parsed without one).
    #[serde(default, skip_serializing)]
    pub process_id: i32,
}

/// The trigger's payload: exactly the keys of `schema::notify_key`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload {
    id: Uuid,
    kind: String,
    change_set_id: Uuid,
    emitter_dot_id: i32,
    routed_to: String,
}

impl Notification {
    /// Parses a NOTIFY payload such as
    /// `{"id" : "…", "kind" : "dot_pair_drift", "change_set_id" : "…", "emitter_dot_id" : 992, "routed_to" : "G-2"}`.
    pub fn parse(payload: &str, process_id: i32) -> Result<Notification> {
        let malformed = |reason: String| Error::MalformedNotification {
            payload: payload.to_owned(),
            reason,
        };
        let raw: Payload = serde_json::from_str(payload).map_err(|e| malformed(e.to_string()))?;
        let kind = raw
            .kind
            .parse::<SignalKind>()
            .map_err(|e| malformed(e.to_string()))?;
        if raw.routed_to != ROUTED_TO {
            return Err(malformed(format!(
                "routed_to is {:?}, not {ROUTED_TO}",
                raw.routed_to
            )));
        }
        Ok(Notification {
            id: raw.id,
            kind,
            change_set_id: raw.change_set_id,
            emitter_dot_id: raw.emitter_dot_id,
            routed_to: raw.routed_to,
            process_id,
        })
    }

    /// Whether this announces a signal of `kind` about `change_set_id`.
    pub fn matches(&self, kind: SignalKind, change_set_id: Uuid) -> bool {
        self.kind == kind && self.change_set_id == change_set_id
    }
}

/// Owns a dedicated connection that LISTENs on [`CHANNEL`].
///
/// Notifications sent after [`Listener::connect`] returned are delivered in order; those
/// skipped by [`Listener::await_signal`] are kept for later calls.
#[derive(Debug)]
pub struct Listener {
    client: Client,
    rx: mpsc::UnboundedReceiver<Result<Notification>>,
    pending: VecDeque<Notification>,
    driver: JoinHandle<()>,
}

impl Listener {
    /// Connects without TLS and runs `LISTEN cutter_g2_backlog`.
    pub async fn connect(config: &Config) -> Result<Listener> {
        Listener::connect_tls(config, NoTls).await
    }

    /// Connects with `tls` and runs `LISTEN cutter_g2_backlog`.
    pub async fn connect_tls<T>(config: &Config, tls: T) -> Result<Listener>
    where
        T: MakeTlsConnect<Socket>,
        T::Stream: Send + 'static,
        T::TlsConnect: Send,
        <T::TlsConnect as TlsConnect<Socket>>::Future: Send,
    {
        let (client, mut connection) = config.connect(tls).await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let driver = tokio::spawn(async move {
            let mut messages = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
            while let Some(message) = messages.next().await {
                let forward = match message {
                    Ok(AsyncMessage::Notification(n)) if n.channel() == CHANNEL => {
                        Notification::parse(n.payload(), n.process_id())
                    }
                    Ok(AsyncMessage::Notification(n)) => {
                        tracing::debug!(
                            channel = n.channel(),
                            "ignoring notification on another channel"
                        );
                        continue;
                    }
                    Ok(AsyncMessage::Notice(notice)) => {
                        tracing::debug!(
                            message = notice.message(),
                            "server notice on listener connection"
                        );
                        continue;
                    }
                    Ok(_) => continue,
                    Err(e) => {
                        tracing::warn!(error = %e, "listener connection failed");
                        let _ = tx.send(Err(Error::Db(e)));
                        break;
                    }
                };
                if tx.send(forward).is_err() {
                    break; // the Listener was dropped
                }
            }
        });
        let listener = Listener {
            client,
            rx,
            pending: VecDeque::new(),
            driver,
        };
        listener.client.batch_execute(&schema::listen_sql()).await?;
        tracing::debug!(channel = CHANNEL, "listening");
        Ok(listener)
    }

    /// The listening connection's client (e.g. to check it is alive).
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The next notification, waiting at most `timeout`.
    ///
    /// Errors: [`Error::Timeout`], [`Error::ListenerClosed`], [`Error::MalformedNotification`]
    /// for a payload on the channel that is not a signal announcement, [`Error::Db`].
    pub async fn next_within(&mut self, timeout: Duration) -> Result<Notification> {
        if let Some(n) = self.pending.pop_front() {
            return Ok(n);
        }
        match tokio::time::timeout(timeout, self.rx.recv()).await {
            Err(_) => Err(Error::Timeout(timeout)),
            Ok(None) => Err(Error::ListenerClosed),
            Ok(Some(item)) => item,
        }
    }

    /// Waits at most `timeout` for the announcement of a `kind` signal about `change_set_id`.
    /// Other notifications are kept for later; malformed payloads are logged and skipped.
    pub async fn await_signal(
        &mut self,
        kind: SignalKind,
        change_set_id: Uuid,
        timeout: Duration,
    ) -> Result<Notification> {
        if let Some(pos) = self
            .pending
            .iter()
            .position(|n| n.matches(kind, change_set_id))
        {
            if let Some(n) = self.pending.remove(pos) {
                return Ok(n);
            }
        }
        let deadline = Instant::now() + timeout;
        loop {
            let item = match tokio::time::timeout_at(deadline, self.rx.recv()).await {
                Err(_) => return Err(Error::Timeout(timeout)),
                Ok(None) => return Err(Error::ListenerClosed),
                Ok(Some(item)) => item,
            };
            match item {
                Ok(n) if n.matches(kind, change_set_id) => return Ok(n),
                Ok(n) => self.pending.push_back(n),
                Err(Error::MalformedNotification { payload, reason }) => {
                    tracing::warn!(payload, reason, "skipping malformed notification");
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Closes the connection and waits for the driving task to finish (`UNLISTEN` is implicit
    /// when the session ends). Dropping a `Listener` also closes it, without waiting.
    pub async fn close(self) {
        let Listener { client, driver, .. } = self;
        drop(client);
        let _ = driver.await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CS: &str = "11111111-1111-1111-1111-111111111111";
    const ID: &str = "11a3164e-8931-403c-80b0-85bd3a5b1175";

    /// Exactly what `json_build_object(...)::text` in the trigger produces.
    fn trigger_payload(kind: &str, routed_to: &str) -> String {
        format!(
            r#"{{"id" : "{ID}", "kind" : "{kind}", "change_set_id" : "{CS}", "emitter_dot_id" : 991, "routed_to" : "{routed_to}"}}"#
        )
    }

    #[test]
    fn parses_trigger_payload() -> Result<()> {
        let n = Notification::parse(&trigger_payload("dot_pair_drift", "G-2"), 4242)?;
        assert_eq!(n.id.to_string(), ID);
        assert_eq!(n.kind, SignalKind::DotPairDrift);
        assert_eq!(n.change_set_id.to_string(), CS);
        assert_eq!(n.emitter_dot_id, 991);
        assert_eq!(n.routed_to, "G-2");
        assert_eq!(n.process_id, 4242);
        let cs: Uuid = CS
            .parse()
            .map_err(|e: uuid::Error| Error::UnknownKind(e.to_string()))?;
        assert!(n.matches(SignalKind::DotPairDrift, cs));
        assert!(!n.matches(SignalKind::SignatureFailure, cs));
        assert!(!n.matches(SignalKind::DotPairDrift, Uuid::nil()));
        Ok(())
    }

    #[test]
    fn parses_signature_failure() -> Result<()> {
        let n = Notification::parse(&trigger_payload("signature_failure", "G-2"), 1)?;
        assert_eq!(n.kind, SignalKind::SignatureFailure);
        Ok(())
    }

    #[test]
    fn rejects_malformed_payloads() {
        let cases = [
            String::new(),
            "not json".to_owned(),
            "[]".to_owned(),
            trigger_payload("dot_pair_drift", "G-1"),
            trigger_payload("drift", "G-2"),
            trigger_payload("DOT_PAIR_DRIFT", "G-2"),
            trigger_payload("dot_pair_drift", "G-2").replace(ID, "not-a-uuid"),
            trigger_payload("dot_pair_drift", "G-2").replace("991", "\"991\""),
            trigger_payload("dot_pair_drift", "G-2").replace(", \"routed_to\" : \"G-2\"", ""),
            trigger_payload("dot_pair_drift", "G-2").replace('}', ", \"extra\" : 1}"),
        ];
        for payload in cases {
            match Notification::parse(&payload, 0) {
                Err(Error::MalformedNotification { payload: p, .. }) => assert_eq!(p, payload),
                other => panic!("{payload:?} should be malformed, got {other:?}"),
            }
        }
    }
}
