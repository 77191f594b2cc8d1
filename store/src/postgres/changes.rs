//! The PostgreSQL change feed: one `LISTEN` connection per node, reconnected with backoff.

use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::mpsc;

use super::PgStore;
use crate::changes::{parse_payload, ChangeFeed, FeedEvent};

/// First and longest wait before listening again after the connection was lost.
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Events a slow reader may fall behind by before the feed waits for it. The reader drops
/// caches (fast); waiting is better than losing a change.
const BUFFER: usize = 4096;

impl PgStore {
    /// Starts listening for other writers' changes. Fails only when the channel's name cannot
    /// be read (the database is down or the schema is not migrated); a connection lost later
    /// is reconnected by the feed itself.
    pub async fn listen_for_changes(&self) -> crate::Result<ChangeFeed> {
        let channel: String = sqlx::query_scalar("SELECT alga_ext_changes_channel()").fetch_one(&self.pool).await?;
        let (tx, events) = mpsc::channel(BUFFER);
        let node = self.node.to_string();
        tokio::spawn(listen(self.pool.clone(), channel.clone(), node, tx));
        Ok(ChangeFeed { events, node: self.node, channel })
    }
}

/// Listens until the reader goes away: tells it `Listening` on every (re)connection and `Lost`
/// when the connection drops.
async fn listen(pool: sqlx::PgPool, channel: String, node: String, tx: mpsc::Sender<FeedEvent>) {
    let mut backoff = BACKOFF_MIN;
    loop {
        let connected = async {
            let mut listener = PgListener::connect_with(&pool).await?;
            listener.listen(&channel).await?;
            Ok::<_, sqlx::Error>(listener)
        };
        let mut listener = tokio::select! {
            _ = tx.closed() => return,
            connected = connected => match connected {
                Ok(listener) => listener,
                Err(e) => {
                    if tx.send(FeedEvent::Lost { reason: e.to_string() }).await.is_err() {
                        return;
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                    continue;
                }
            },
        };
        backoff = BACKOFF_MIN;
        if tx.send(FeedEvent::Listening).await.is_err() {
            return;
        }
        let reason = loop {
            let received = tokio::select! {
                _ = tx.closed() => return,
                received = listener.try_recv() => received,
            };
            match received {
                Ok(Some(notification)) => match parse_payload(notification.payload(), &node) {
                    Ok(Some(change)) => {
                        if tx.send(FeedEvent::Change(change)).await.is_err() {
                            return;
                        }
                    }
                    Ok(None) => {}
                    Err(e) => tracing::warn!(error = %e, "change notification ignored"),
                },
                // `try_recv` answers `None` when the connection closed.
                Ok(None) => break "the listening connection closed".to_owned(),
                Err(e) => break e.to_string(),
            }
        };
        if tx.send(FeedEvent::Lost { reason }).await.is_err() {
            return;
        }
        tokio::time::sleep(backoff).await;
    }
}
