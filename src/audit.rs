//! Audit events: one structured record per security-relevant action — a login that
//! succeeded or failed, a consent, tokens issued, a refresh token rotated or replayed, a
//! revocation, a logout, a change through the admin API.
//!
//! Each event goes to the log under the target [`TARGET`] (a JSON line with
//! `logger.format: json`), to `logger.auditFile` when set (one JSON object a line, written by
//! a thread of its own so a slow disk never holds a request up), and is counted in
//! `/metrics` as `tessera_audit_events_total{event}`.
//!
//! An event names who and what by ids only: user and client ids, connector ids, scopes, token
//! ids (`jti`, a refresh token's family id). Never a secret, a password, a token, a code or a
//! session id: the types below have no field that could hold one.

use serde::Serialize;
use std::io::Write;
use std::net::IpAddr;
use std::path::Path;
use std::sync::mpsc;

/// The log target of audit events.
pub const TARGET: &str = "tessera::audit";

/// Events waiting for the file writer; past this many, events are dropped from the file
/// (and counted), never from the log.
const QUEUE: usize = 10_000;

tokio::task_local! {
    /// The source address of the request being served, set by the web layer.
    static SOURCE: Option<IpAddr>;
}

/// Runs `f` with `source` as the source address of the events it records.
pub async fn with_source<F: Future>(source: Option<IpAddr>, f: F) -> F::Output {
    SOURCE.scope(source, f).await
}

/// What happened.
#[derive(Debug, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event<'a> {
    LoginSucceeded {
        connector: &'a str,
        client: &'a str,
        user: &'a str,
        username: &'a str,
    },
    /// `reason`: `invalid_credentials`, `refused` (by the upstream) or `error`.
    LoginFailed {
        connector: &'a str,
        client: &'a str,
        login: &'a str,
        reason: &'a str,
    },
    Consent {
        client: &'a str,
        user: &'a str,
        scopes: &'a [String],
    },
    TokenIssued {
        grant: &'a str,
        client: &'a str,
        user: &'a str,
        scopes: &'a [String],
        jti: &'a str,
    },
    RefreshRotated {
        client: &'a str,
        user: &'a str,
        family: &'a str,
    },
    /// A rotated refresh token came back after the reuse window: the family is revoked.
    RefreshReuseDetected {
        client: &'a str,
        user: &'a str,
        family: &'a str,
    },
    /// `kind`: `access_token` (`id` is its `jti`) or `refresh_token` (its family id).
    TokenRevoked {
        client: &'a str,
        kind: &'a str,
        id: &'a str,
    },
    /// `session_clients`: how many clients held tokens from the session (told of the logout
    /// over the back channel where they asked to be).
    Logout {
        user: &'a str,
        connector: &'a str,
        session_clients: usize,
    },
    /// Brute-force protection refused a request (`throttle`); `scope` names the limit.
    /// `login` (a password attempt) or `client` (a client authentication) when known.
    Throttled {
        scope: &'a str,
        login: &'a str,
        client: &'a str,
    },
    /// A call of the admin API that changes something. `who`: the client certificate's
    /// subject, or `plaintext` on a listener without TLS.
    AdminChange {
        method: &'a str,
        target: &'a str,
        outcome: &'a str,
        who: &'a str,
    },
}

impl Event<'_> {
    fn name(&self) -> &'static str {
        match self {
            Self::LoginSucceeded { .. } => "login_succeeded",
            Self::LoginFailed { .. } => "login_failed",
            Self::Consent { .. } => "consent",
            Self::TokenIssued { .. } => "token_issued",
            Self::RefreshRotated { .. } => "refresh_rotated",
            Self::RefreshReuseDetected { .. } => "refresh_reuse_detected",
            Self::TokenRevoked { .. } => "token_revoked",
            Self::Logout { .. } => "logout",
            Self::Throttled { .. } => "throttled",
            Self::AdminChange { .. } => "admin_change",
        }
    }
}

/// Where events go besides the log.
#[derive(Clone, Default)]
pub struct Audit {
    file: Option<mpsc::SyncSender<String>>,
}

impl Audit {
    /// Events to the log only.
    pub fn log_only() -> Self {
        Self::default()
    }

    /// Events to the log and appended to `path` (created if missing).
    pub fn to_file(path: &Path) -> std::io::Result<Self> {
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        let (sender, lines) = mpsc::sync_channel::<String>(QUEUE);
        std::thread::Builder::new().name("tessera-audit".into()).spawn(move || {
            for line in lines {
                if let Err(e) = file.write_all(line.as_bytes()).and_then(|()| file.flush()) {
                    tracing::error!(error = %e, "writing the audit file failed");
                }
            }
        })?;
        Ok(Self { file: Some(sender) })
    }

    /// Records one event, at `now` (Unix seconds), from the source address of the request
    /// being served (see [`with_source`]).
    pub fn record(&self, now: i64, event: &Event<'_>) {
        self.record_from(SOURCE.try_with(|s| *s).ok().flatten(), now, event);
    }

    /// Records one event from `source`.
    pub fn record_from(&self, source: Option<IpAddr>, now: i64, event: &Event<'_>) {
        let name = event.name();
        metrics::counter!("tessera_audit_events_total", "event" => name).increment(1);
        let mut line = match serde_json::to_value(event) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => return,
        };
        line.insert("time".into(), now.into());
        if let Some(ip) = source {
            line.insert("source_ip".into(), ip.to_string().into());
        }
        let text = serde_json::Value::Object(line).to_string();
        tracing::info!(target: TARGET, event = name, audit = %text);
        if let Some(file) = &self.file
            && file.try_send(text + "\n").is_err()
        {
            metrics::counter!("tessera_audit_dropped_total").increment(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn events_are_json_lines_with_their_source() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("audit.jsonl");
        let audit = Audit::to_file(&path).unwrap();
        let scopes = vec!["openid".to_string()];
        with_source(Some("192.0.2.7".parse().unwrap()), async {
            audit.record(
                1_700_000_000,
                &Event::TokenIssued {
                    grant: "authorization_code",
                    client: "app",
                    user: "u",
                    scopes: &scopes,
                    jti: "j",
                },
            );
        })
        .await;
        audit.record(
            1,
            &Event::LoginFailed {
                connector: "local",
                client: "app",
                login: "a@b",
                reason: "invalid_credentials",
            },
        );
        let mut text = String::new();
        for _ in 0..100 {
            text = std::fs::read_to_string(&path).unwrap_or_default();
            if text.lines().count() == 2 {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines[0]["event"], "token_issued");
        assert_eq!(lines[0]["source_ip"], "192.0.2.7");
        assert_eq!(lines[0]["time"], 1_700_000_000);
        assert_eq!(lines[0]["scopes"], serde_json::json!(["openid"]));
        assert_eq!(lines[1]["event"], "login_failed");
        assert!(lines[1].get("source_ip").is_none(), "no request, no source");
    }
}
