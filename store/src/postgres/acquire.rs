//! Getting a pooled connection without hanging on a database that is gone: a wait that runs long is checked with a probe connection, and when the database takes none the wait fails at once.
//!
//! sqlx's pool retries a refused or starting-up database until its acquire timeout
//! (`--db-connect-timeout`, 5 s), so during a restart every request would wait that long
//! while holding its isolate and HTTP connection. A busy pool must still be waited for,
//! though, and both look the same from outside the pool. So a wait that runs past
//! [`PROBE_AFTER`] also opens one connection of its own: the wait goes on while that probe
//! connects (a busy pool, or a slow database, is waited for as before), and ends with
//! [`StoreError::Unavailable`] as soon as the probe is refused.

use std::future::Future;
use std::time::{Duration, Instant};

use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

use super::PgStore;
use crate::{Result, StoreError};

/// How long a wait for a connection runs before the database is probed.
pub const PROBE_AFTER: Duration = Duration::from_millis(500);
/// How long one probe's answer stands for every other waiter, so an outage under load costs
/// one probe connection per second, not one per request.
const PROBE_FRESH: Duration = Duration::from_secs(1);

/// Probes whether the database takes connections, one probe at a time.
pub(super) struct Prober {
    options: PgConnectOptions,
    /// How long a probe may take to connect (the pool's own connect timeout): a database
    /// that is merely slow is not called unreachable.
    timeout: Duration,
    /// When the last probe ran and what it found (the reason, when it failed).
    last: tokio::sync::Mutex<Option<(Instant, std::result::Result<(), String>)>>,
}

impl Prober {
    pub(super) fn new(options: PgConnectOptions, timeout: Duration) -> Self {
        Self { options, timeout, last: tokio::sync::Mutex::new(None) }
    }

    /// Whether the database took a connection just now (or within [`PROBE_FRESH`]).
    async fn check(&self) -> std::result::Result<(), String> {
        // Waiters queue here while one probes, then read its fresh answer.
        let mut last = self.last.lock().await;
        if let Some((at, answer)) = &*last {
            if at.elapsed() < PROBE_FRESH {
                return answer.clone();
            }
        }
        let answer = match tokio::time::timeout(self.timeout, PgConnection::connect_with(&self.options)).await {
            Ok(Ok(conn)) => {
                // Said goodbye to properly, off the waiter's path.
                tokio::spawn(conn.close());
                Ok(())
            }
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err(format!("no connection within {} ms", self.timeout.as_millis())),
        };
        *last = Some((Instant::now(), answer.clone()));
        answer
    }

    /// Resolves with the reason once a probe finds the database taking no connections;
    /// never, when it takes them.
    async fn refused(&self) -> String {
        match self.check().await {
            Err(reason) => reason,
            Ok(()) => std::future::pending().await,
        }
    }
}

impl PgStore {
    /// Waits for `getting` (a connection or a transaction from the pool); any failure is
    /// [`StoreError::Unavailable`], and so is a wait past [`PROBE_AFTER`] once a probe finds
    /// the database taking no connections.
    pub(super) async fn connected<T>(&self, getting: impl Future<Output = std::result::Result<T, sqlx::Error>>) -> Result<T> {
        let mut getting = std::pin::pin!(getting);
        tokio::select! {
            biased;
            got = &mut getting => return got.map_err(StoreError::Unavailable),
            () = tokio::time::sleep(PROBE_AFTER) => {}
        }
        // Still waiting: the pool's own timeout bounds the wait, unless the probe is refused.
        tokio::select! {
            biased;
            got = &mut getting => got.map_err(StoreError::Unavailable),
            reason = self.prober.refused() => {
                let said = format!("no pooled connection within {} ms, and a new one failed: {reason}", PROBE_AFTER.as_millis());
                Err(StoreError::Unavailable(sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::NotConnected, said))))
            }
        }
    }
}
