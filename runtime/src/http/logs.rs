//! `GET /admin/v1/extensions/{id}/logs` (also followed live as server-sent events) and `…/errors`: an extension's recent log on this node.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::extract::{extension_id, AdminCaller, ApiPath, ApiQuery};
use super::{ApiError, AppState};
use crate::registry::logs::{Level, LogEntry, ENTRIES_KEPT};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct LogsQuery {
    /// Lowest level shown: `debug` (default), `info`, `warn` or `error`.
    level: Option<String>,
    /// Most entries answered, 1..=500 (default 100).
    #[param(value_type = Option<u32>, minimum = 1, maximum = 500)]
    limit: Option<String>,
    /// `1`: answer `text/event-stream`, the recent entries (oldest first) then each new one
    /// as it is written, until the client goes away.
    follow: Option<String>,
}

/// How often a followed stream says it is alive, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);
/// How long one followed stream lasts: the caller's rights were checked when it began, so it
/// ends and must be opened again (`alga-ext logs --follow` and the console reconnect).
const FOLLOW_FOR: Duration = Duration::from_secs(3600);

/// `GET /admin/v1/extensions/{id}/errors`: the extension's recent failures on this node
/// (limit hits, crashes, widget timeouts, breaker trips), newest first.
pub async fn recent_errors(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    let id = extension_id(&state, &who, &id).await?;
    state.registry.get(&who.tenant, id).await?;
    Ok(Json(json!({ "errors": state.registry.logs().list(&who.tenant, id, Level::Debug, true, ENTRIES_KEPT) })))
}

/// `GET /admin/v1/extensions/{id}/logs`: console output and failures, newest first; with
/// `?follow=1` a live stream.
pub async fn logs(
    State(state): State<AppState>,
    AdminCaller(who): AdminCaller,
    ApiPath(id): ApiPath<String>,
    ApiQuery(query): ApiQuery<LogsQuery>,
) -> Result<Response, ApiError> {
    let min = match query.level.as_deref() {
        None => Level::Debug,
        Some(raw) => Level::parse(raw).ok_or_else(|| invalid("level", format!("level {:?} is not one of debug, info, warn, error", clip(raw))))?,
    };
    let limit = match query.limit.as_deref() {
        None => 100,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=ENTRIES_KEPT).contains(n))
            .ok_or_else(|| invalid("limit", format!("limit must be a whole number from 1 to {ENTRIES_KEPT}")))?,
    };
    let follow = match query.follow.as_deref() {
        None | Some("0" | "false") => false,
        Some("1" | "true") => true,
        Some(_) => return Err(invalid("follow", "follow must be 1 or 0".into())),
    };
    let id = extension_id(&state, &who, &id).await?;
    state.registry.get(&who.tenant, id).await?;
    let logs = state.registry.logs();
    if !follow {
        return Ok(Json(json!({ "entries": logs.list(&who.tenant, id, min, false, limit) })).into_response());
    }
    let Some(slot) = logs.follower_slot(&who.tenant) else {
        return Err(ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TOO_MANY_FOLLOWERS",
            format!("this tenant already follows {} logs; close one", crate::registry::logs::FOLLOWERS_PER_TENANT),
        )
        .with_retry_after(10));
    };
    let deadline = tokio::time::Instant::now() + FOLLOW_FOR;
    // Subscribe before reading the backlog, so nothing written in between is lost (an entry
    // may then show twice, never not at all).
    let live = logs.follow(&who.tenant, id);
    let mut backlog = logs.list(&who.tenant, id, min, false, limit);
    backlog.reverse();
    // The slot travels with the stream and is given back when the stream is dropped.
    let stream = futures_util::stream::unfold((backlog.into_iter(), live, slot), move |(mut backlog, mut live, slot)| async move {
        if let Some(entry) = backlog.next() {
            return Some((Ok::<_, Infallible>(event(&entry)), (backlog, live, slot)));
        }
        loop {
            match tokio::time::timeout_at(deadline, live.recv()).await {
                Ok(Ok(entry)) if entry.level >= min => return Some((Ok(event(&entry)), (backlog, live, slot))),
                Ok(Ok(_)) => continue,
                Ok(Err(RecvError::Lagged(missed))) => {
                    let notice = Event::default().event("missed").data(json!({ "missed": missed }).to_string());
                    return Some((Ok(notice), (backlog, live, slot)));
                }
                // The extension was uninstalled (its ring dropped), or the stream's hour is up.
                Ok(Err(RecvError::Closed)) | Err(_) => return None,
            }
        }
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)).into_response())
}

fn event(entry: &LogEntry) -> Event {
    Event::default().event("log").data(serde_json::to_string(entry).unwrap_or_default())
}

fn invalid(field: &str, message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "VALIDATION_FAILED", message).with_details(json!({ "field": field }))
}

fn clip(text: &str) -> String {
    text.chars().take(32).collect()
}
