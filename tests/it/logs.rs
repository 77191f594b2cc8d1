//! An extension's log over real HTTP: console output and failures in one ring per extension,
//! filtered by level, followed live as server-sent events, visible only to its tenant's admins.

use std::time::Duration;

use serde_json::Value;

use crate::support::{admin_token, TestStore};

const SOURCE: &str = r#"
export function hello(req) { console.log("hello from", req.path); console.warn("careful"); return { body: "hi" }; }
export function boom() { console.error("about to fail"); throw new Error("the tickets table is empty"); }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_output_and_failures_are_listed_filtered_and_followed_live() {
    let db = TestStore::sqlite().await;
    let state = db.app_state();
    let id = crate::dispatch::install(&state, "acme", "com.example.chatty", "1.0.0", SOURCE, &["hello", "boom"]).await;
    let (addr, _stop) = crate::wire::spawn(&state).await;
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    let admin = admin_token("acme");
    let call = |path: &str| client.get(format!("{base}/api/extensions/{id}/{path}")).bearer_auth(&admin).send();
    call("hello").await.unwrap();
    call("boom").await.unwrap();
    let get = |query: &str, token: &str| client.get(format!("{base}/admin/v1/extensions/{id}/logs{query}")).bearer_auth(token.to_owned()).send();

    let body: Value = get("", &admin).await.unwrap().json().await.unwrap();
    let entries = body["entries"].as_array().unwrap();
    let seen: Vec<(&str, &str, &str)> =
        entries.iter().map(|e| (e["source"].as_str().unwrap(), e["level"].as_str().unwrap(), e["message"].as_str().unwrap())).collect();
    assert_eq!(seen.len(), 4, "{body}");
    assert_eq!(seen[1], ("console", "error", "about to fail"));
    assert_eq!(seen[2], ("console", "warn", "careful"));
    assert_eq!(seen[3], ("console", "info", "hello from /hello"));
    assert_eq!((seen[0].0, seen[0].1), ("runtime", "error"));
    assert_eq!(entries[0]["code"], "EXTENSION_ERROR");
    assert!(seen[0].2.contains("the tickets table is empty"), "{body}");

    let body: Value = get("?level=warn&limit=2", &admin).await.unwrap().json().await.unwrap();
    assert_eq!(body["entries"].as_array().unwrap().len(), 2, "{body}");
    let errors: Value = client.get(format!("{base}/admin/v1/extensions/{id}/errors")).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    assert_eq!(errors["errors"].as_array().unwrap().len(), 1, "{errors}");
    for (query, field) in [("?level=loud", "level"), ("?limit=0", "limit"), ("?limit=501", "limit"), ("?follow=yes", "follow")] {
        let res = get(query, &admin).await.unwrap();
        assert_eq!(res.status().as_u16(), 400, "{query}");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"]["details"]["field"], field, "{query}: {body}");
    }
    assert_eq!(get("", &admin_token("globex")).await.unwrap().status().as_u16(), 404, "another tenant's admin");

    // Followed: the backlog oldest first, then what the next call logs, as it happens.
    let res = get("?follow=1&level=info&limit=1", &admin).await.unwrap();
    assert_eq!(res.headers()["content-type"], "text/event-stream");
    let mut res = res;
    let mut text = String::new();
    let mut next_event = async || -> Value {
        loop {
            if let Some(end) = text.find("\n\n") {
                let block: String = text.drain(..end + 2).collect();
                if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                    return serde_json::from_str(data).unwrap();
                }
                continue;
            }
            let chunk = tokio::time::timeout(Duration::from_secs(10), res.chunk())
                .await
                .expect("an event within 10 s")
                .unwrap()
                .expect("the stream stays open");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
    };
    assert_eq!(next_event().await["code"], "EXTENSION_ERROR", "the backlog's newest entry first");
    call("hello").await.unwrap();
    assert_eq!(next_event().await["message"], "hello from /hello");
    assert_eq!(next_event().await["message"], "careful");
}
