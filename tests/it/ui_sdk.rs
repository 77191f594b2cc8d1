//! The SDKs and UI components at `/ext-ui/_sdk/{version}/{file}` and the demo host shell at `/demo` over real HTTP: headers, ETag/304, 404s for other versions and files, never behind a token, never shadowing an install; `/demo` only in dev mode, with its own CSP.

use alga_ext::http::sdk_files::{self, SDK_VERSION};
use alga_ext::http::ui_assets::UiSettings;

use crate::dispatch::install_zip;
use crate::support::TestStore;
use crate::wire::{request, spawn};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// Every SDK file named by this build's version, with the bytes it must be served as.
fn sdk_sources() -> Vec<(&'static str, &'static [u8], &'static str)> {
    let js = "text/javascript; charset=utf-8";
    let ts = "application/typescript; charset=utf-8";
    vec![
        ("alga-host.js", include_bytes!("../../js/host/alga-host.js"), js),
        ("alga-host.d.ts", include_bytes!("../../js/host/alga-host.d.ts"), ts),
        ("frames.js", include_bytes!("../../js/host/frames.js"), js),
        ("frames.d.ts", include_bytes!("../../js/host/frames.d.ts"), ts),
        ("react.js", include_bytes!("../../js/host/react.js"), js),
        ("react.d.ts", include_bytes!("../../js/host/react.d.ts"), ts),
        ("alga-page.js", include_bytes!("../../js/page/alga-page.js"), js),
        ("alga-page.d.ts", include_bytes!("../../js/page/alga-page.d.ts"), ts),
        ("page-react.js", include_bytes!("../../js/page/react.js"), js),
        ("page-react.d.ts", include_bytes!("../../js/page/react.d.ts"), ts),
        ("alga-ui.js", include_bytes!("../../js/ui/alga-ui.js"), js),
        ("alga-ui-core.js", include_bytes!("../../js/ui/alga-ui-core.js"), js),
        ("alga-ui-data.js", include_bytes!("../../js/ui/alga-ui-data.js"), js),
        ("alga-ui-forms.js", include_bytes!("../../js/ui/alga-ui-forms.js"), js),
        ("alga-ui-select.js", include_bytes!("../../js/ui/alga-ui-select.js"), js),
        ("alga-ui-overlays.js", include_bytes!("../../js/ui/alga-ui-overlays.js"), js),
        ("alga-ui.d.ts", include_bytes!("../../js/ui/alga-ui.d.ts"), ts),
        ("alga-ui.css", include_bytes!("../../js/ui/alga-ui.css"), "text/css; charset=utf-8"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_files_are_served_immutable_with_etags_and_cors() {
    let db = TestStore::sqlite().await;
    let state = db.app_state();
    let (addr, _stop) = spawn(&state).await;
    let sources = sdk_sources();
    assert_eq!(sdk_files::file_names().count(), sources.len(), "every served file is checked here");
    for (file, bytes, content_type) in sources {
        let url = sdk_files::url_path(file);
        assert_eq!(url, format!("/ext-ui/_sdk/{SDK_VERSION}/{file}"));
        let reply = request(addr, "GET", &url, &[("Origin", "null")]).await;
        assert_eq!(reply.status, 200, "{url}: {}", reply.text());
        assert_eq!(reply.body, bytes, "{url} is the repository's file");
        assert_eq!(reply.header("content-type"), Some(content_type), "{url}");
        assert_eq!(reply.header("cache-control"), Some(IMMUTABLE), "{url}");
        assert_eq!(reply.header("x-content-type-options"), Some("nosniff"), "{url}");
        assert_eq!(reply.header("access-control-allow-origin"), Some("*"), "{url}");
        let etag = format!("\"sha256-{}\"", alga_bundle::sha256_hex(bytes));
        assert_eq!(reply.header("etag"), Some(etag.as_str()), "{url}");
        let again = request(addr, "GET", &url, &[("If-None-Match", &etag)]).await;
        assert_eq!((again.status, again.body.len()), (304, 0), "{url}");
        let head = request(addr, "HEAD", &url, &[]).await;
        assert_eq!((head.status, head.body.len()), (200, 0), "{url}");
    }
    // Another version, an unknown or nested file, an encoded name: 404 in the API's shape.
    for url in [
        "/ext-ui/_sdk/0.0.1/alga-page.js".to_owned(),
        format!("/ext-ui/_sdk/{SDK_VERSION}/nope.js"),
        format!("/ext-ui/_sdk/{SDK_VERSION}/"),
        format!("/ext-ui/_sdk/{SDK_VERSION}/host/alga-host.js"),
        format!("/ext-ui/_sdk/{SDK_VERSION}/ui/alga-ui.js"),
        "/ext-ui/_sdk/0.0.1/alga-ui.css".to_owned(),
        format!("/ext-ui/_sdk/{SDK_VERSION}/%61lga-page.js"),
        format!("/ext-ui/_sdk/{SDK_VERSION}/..%2falga-page.js"),
        "/ext-ui/_sdk/".to_owned(),
        "/ext-ui/_SDK/0.1.0/alga-page.js".to_owned(),
    ] {
        let reply = request(addr, "GET", &url, &[]).await;
        assert_eq!(reply.status, 404, "{url}: {}", reply.text());
        assert_eq!(reply.json()["error"]["code"], "NOT_FOUND", "{url}");
    }
    // A wrong version says which one is served, and which files.
    let reply = request(addr, "GET", "/ext-ui/_sdk/0.0.1/alga-page.js", &[]).await;
    let error = &reply.json()["error"];
    assert_eq!(error["details"]["version"], SDK_VERSION, "{error}");
    assert!(error["details"]["files"].as_array().is_some_and(|f| f.iter().any(|f| f == "alga-host.js")), "{error}");
    assert!(error["details"]["files"].as_array().is_some_and(|f| f.iter().any(|f| f == "alga-ui.css")), "{error}");
    assert!(error["message"].as_str().unwrap_or_default().contains(&format!("version {SDK_VERSION}")), "{error}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sdk_files_need_no_token_and_leave_installs_alone_on_both_backends() {
    for db in [TestStore::sqlite().await, TestStore::postgres().await] {
        // Even where extension assets need a token, the SDKs are public code.
        let state = db.app_state().with_ui_assets(UiSettings::new("'self'", None, true).unwrap());
        let zip = crate::archives::zip(&[
            crate::archives::Entry::file(
                "manifest.json",
                br#"{"id":"com.example.sdk","name":"S","version":"1.0.0","main":"index.js","extensionPoints":{"endpoints":[{"method":"GET","path":"/p","handler":"p"}]},"assets":["ui/**"]}"#.to_vec(),
            ),
            crate::archives::Entry::file("index.js", b"export function p() { return 1; }".to_vec()),
            crate::archives::Entry::file("ui/alga-page.js", b"// the extension's own copy".to_vec()),
        ]);
        let hash = alga_bundle::bundle_hash(&alga_bundle::read_archive(&zip, &Default::default()).unwrap());
        let id = install_zip(&state, "acme", zip).await;
        let (addr, _stop) = spawn(&state).await;
        let sdk = request(addr, "GET", &sdk_files::url_path("alga-page.js"), &[]).await;
        assert_eq!(sdk.status, 200, "{}", sdk.text());
        assert_eq!(sdk.body, include_bytes!("../../js/page/alga-page.js"));
        assert_eq!(sdk.header("cache-control"), Some(IMMUTABLE));
        assert_eq!(sdk.header("vary"), None);
        // The install's own file still needs its token and is its own bytes.
        let own = format!("/ext-ui/{id}/sha256:{hash}/ui/alga-page.js");
        assert_eq!(request(addr, "GET", &own, &[]).await.status, 401);
        let bearer = format!("Bearer {}", crate::support::admin_token("acme"));
        let reply = request(addr, "GET", &own, &[("Authorization", &bearer)]).await;
        assert_eq!((reply.status, reply.body.as_slice()), (200, &b"// the extension's own copy"[..]), "{}", reply.text());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_shell_is_served_only_in_dev_mode() {
    let db = TestStore::sqlite().await;
    let (addr, _stop) = spawn(&db.app_state()).await;
    for url in ["/demo", "/demo/", "/demo/demo.js", "/demo/demo.css"] {
        let reply = request(addr, "GET", url, &[]).await;
        assert_eq!(reply.status, 404, "{url} without --dev: {}", reply.text());
        assert_eq!(reply.json()["error"]["code"], "NOT_FOUND", "{url}");
    }

    let (addr, _stop) = spawn(&db.app_state().with_dev(true)).await;
    let page = request(addr, "GET", "/demo", &[]).await;
    assert_eq!(page.status, 200, "{}", page.text());
    assert_eq!(page.header("content-type"), Some("text/html; charset=utf-8"));
    let csp = page.header("content-security-policy").expect("a CSP");
    for directive in ["default-src 'none'", "script-src 'self'", "connect-src 'self'", "frame-src 'self'", "frame-ancestors 'none'"] {
        assert!(csp.contains(directive), "CSP {csp:?} lacks {directive}");
    }
    assert!(!csp.contains("unsafe") && !csp.contains("http"), "only this origin: {csp}");
    assert!(
        page.text().contains("/demo/demo.js") && page.text().contains("sessionStorage"),
        "the page loads its script and says where the token goes"
    );
    let script = request(addr, "GET", "/demo/demo.js", &[]).await;
    assert_eq!(script.status, 200);
    assert_eq!(script.header("content-type"), Some("text/javascript; charset=utf-8"));
    // The SDK it imports is the one this binary serves.
    let import = sdk_files::url_path("alga-host.js");
    assert!(script.text().contains(&format!("from \"{import}\"")), "demo.js imports {import}");
    assert_eq!(request(addr, "GET", &import, &[]).await.status, 200);
    assert_eq!(request(addr, "GET", "/demo/demo.css", &[]).await.header("content-type"), Some("text/css; charset=utf-8"));
    let other = request(addr, "GET", "/demo/secret.txt", &[]).await;
    assert_eq!((other.status, other.json()["error"]["code"].as_str()), (404, Some("NOT_FOUND")));
}
