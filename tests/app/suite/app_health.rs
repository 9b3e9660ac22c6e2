//! The project's own `spin.toml`, as shipped (component paths pointed at the build output): the
//! liveness route and the catch-all 404 problem.

use reqwest::Method;

#[tokio::test(flavor = "multi_thread")]
async fn shipped_manifest_serves_health_live_and_a_404_problem() {
    let api = crate::api::start().await;
    let r = api.get("/health/live", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(r.header("cache-control"), "no-store");
    assert_eq!(r.body, serde_json::json!({"status": "ok"}));

    let r = api
        .call(Method::POST, "/health/live", None, None, &[])
        .await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("content-type"), "application/problem+json");
    assert_eq!(r.header("allow"), "GET, HEAD");

    // Paths no route serves get a problem, not the runtime's bare 404: the same whichever
    // component the manifest's broad triggers bring them to (`/api/...` is boards',
    // `/api/:v/boards/:board/...` scores'), before any check of the caller, and logged under the
    // catch-all's route.
    for path in [
        "/nothing/here",
        "/",
        "/health",
        "/api/v1/nothing",
        "/api/v1/boards/b/nothing",
        "/api/v1/boards/b/scores/x",
        "/api/v1/tenants2",
    ] {
        for method in [Method::GET, Method::POST] {
            let r = api.call(method.clone(), path, None, None, &[]).await;
            r.assert_problem(404, path);
            assert_eq!(r.body["instance"], path, "{method} {path}");
            let line = api.log_line(r.header("x-request-id")).await;
            assert_eq!(line["route"], "/...", "{method} {path}: {line}");
        }
    }
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_follows_redis_and_detailed_health_names_each_dependency() {
    if harness::cluster_three() {
        eprintln!(
            "skipped: it stops Redis, one node of six on a cluster (the cluster's failover: api_cluster)"
        );
        return;
    }
    let mut api = crate::api::start().await;
    let r = api.get("/health/ready", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "ready");
    assert_eq!(r.body["checks"]["redis"]["status"], "up");
    assert_eq!(r.body["checks"]["kv"]["status"], "up");
    assert!(r.body["checks"]["redis"]["latency_ms"].is_number());

    let d = api.get("/health/detailed", None).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.body["version"], env!("CARGO_PKG_VERSION"));
    let revision = d.body["revision"].as_str().unwrap_or_default();
    assert!(
        revision.len() >= 7 || revision == "unknown",
        "revision {revision}"
    );

    // Redis stopped: not ready, with the reason; the other probes still answer.
    api.redis.kill();
    let r = api.get("/health/ready", None).await;
    r.assert_problem(503, "redis");
    assert_eq!(r.header("retry-after"), "1");
    let d = api.get("/health/detailed", None).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.body["status"], "degraded");
    assert_eq!(d.body["dependencies"]["redis"]["status"], "down");
    assert_eq!(d.body["dependencies"]["kv"]["status"], "up");
    assert_eq!(api.get("/health/live", None).await.status, 200);

    // Back: ready again.
    api.redis.restart();
    let r = api.get("/health/ready", None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn security_headers_are_on_every_response_errors_included() {
    if harness::cluster_three() {
        eprintln!(
            "skipped: it stops Redis, one node of six on a cluster (the cluster's failover: api_cluster)"
        );
        return;
    }
    let mut api = crate::api::start().await;
    api.create_board(serde_json::json!({"id": "open", "public_read": true}))
        .await;
    let ok = api.get("/api/v1/boards/open/entries", None).await;
    let not_found = api.get("/nothing/here", None).await;
    let bad = api
        .call(
            Method::GET,
            "/api/v1/boards/open/entries?limit=0",
            None,
            None,
            &[],
        )
        .await;
    api.redis.kill();
    let unavailable = api.get("/api/v1/boards/open/players/ann", None).await;
    assert_eq!(ok.status, 200);
    assert_eq!(not_found.status, 404);
    assert_eq!(bad.status, 400);
    assert_eq!(unavailable.status, 503, "{}", unavailable.body);
    for r in [&ok, &not_found, &bad, &unavailable] {
        assert_eq!(
            r.header("x-content-type-options"),
            "nosniff",
            "{}",
            r.status
        );
        assert_eq!(r.header("referrer-policy"), "no-referrer", "{}", r.status);
    }
    api.redis.restart();
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cors_preflight_is_answered_for_allowed_origins_and_refused_for_others() {
    let api = crate::api::start_with(
        &[(
            "cors_allowed_origins",
            "https://game.example, https://admin.example",
        )],
        edge_host::HostConfig::default(),
    )
    .await;
    api.create_board(serde_json::json!({"id": "open", "public_read": true}))
        .await;
    let preflight = |origin: &'static str| {
        let api = &api;
        async move {
            api.call(
                Method::OPTIONS,
                "/api/v1/boards/open/scores",
                None,
                None,
                &[
                    ("origin", origin),
                    ("access-control-request-method", "POST"),
                    (
                        "access-control-request-headers",
                        "authorization, content-type",
                    ),
                ],
            )
            .await
        }
    };
    let ok = preflight("https://game.example").await;
    assert_eq!(ok.status, 204, "{}", ok.body);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        "https://game.example"
    );
    assert!(ok.header("access-control-allow-methods").contains("POST"));
    assert!(
        ok.header("access-control-allow-headers")
            .contains("authorization")
    );
    assert_eq!(ok.header("vary"), "Origin");
    let denied = preflight("https://evil.example").await;
    denied.assert_problem(403, "https://evil.example");
    assert_eq!(denied.header("access-control-allow-origin"), "");

    // A real cross-origin read: the origin is echoed, the useful headers are readable, caches
    // keep answers per origin.
    let r = api
        .call(
            Method::GET,
            "/api/v1/boards/open/entries",
            None,
            None,
            &[("origin", "https://admin.example")],
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("access-control-allow-origin"),
        "https://admin.example"
    );
    assert!(r.header("access-control-expose-headers").contains("etag"));
    assert!(r.header("vary").ends_with("Origin"), "{}", r.header("vary"));
    let other = api
        .call(
            Method::GET,
            "/api/v1/boards/open/entries",
            None,
            None,
            &[("origin", "https://evil.example")],
        )
        .await;
    assert_eq!(
        other.status, 200,
        "the API answers; the browser withholds it"
    );
    assert_eq!(other.header("access-control-allow-origin"), "");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_join_the_callers_trace_and_leave_one_json_log_line() {
    use serde_json::json;
    let api = crate::api::start_with(
        &[("hsts_max_age_secs", "31536000"), ("request_log", "json")],
        edge_host::HostConfig::default(),
    )
    .await;
    api.create_board(json!({"id": "open", "public_read": true}))
        .await;
    let caller = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let joined = api
        .call(
            Method::GET,
            "/api/v1/boards/open/entries?limit=5",
            None,
            None,
            &[("traceparent", caller)],
        )
        .await;
    assert_eq!(joined.status, 200);
    let tp: Vec<&str> = joined.header("traceparent").split('-').collect();
    assert_eq!(tp.len(), 4, "{}", joined.header("traceparent"));
    assert_eq!(
        (tp[0], tp[1], tp[3]),
        ("00", "4bf92f3577b34da6a3ce929d0e0e4736", "01")
    );
    assert_ne!(
        tp[2], "00f067aa0ba902b7",
        "the response names the request's own span"
    );
    let span = tp[2].to_string();
    assert_eq!(
        joined.header("strict-transport-security"),
        "max-age=31536000; includeSubDomains"
    );

    // Without a (valid) traceparent a trace is started.
    for sent in [
        None,
        Some("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
    ] {
        let headers: Vec<(&str, &str)> = sent.map(|s| vec![("traceparent", s)]).unwrap_or_default();
        let r = api
            .call(
                Method::GET,
                "/api/v1/boards/open/entries",
                None,
                None,
                &headers,
            )
            .await;
        let tp: Vec<&str> = r.header("traceparent").split('-').collect();
        assert_eq!(tp.len(), 4);
        assert_eq!(tp[1].len(), 32);
        assert_ne!(tp[1], "00000000000000000000000000000000");
        assert_ne!(tp[1], "4bf92f3577b34da6a3ce929d0e0e4736");
    }
    // Errors carry the trace and the security headers too.
    let missing = api
        .call(
            Method::GET,
            "/api/v1/boards/nope/entries",
            Some(&crate::api::admin()),
            None,
            &[("traceparent", caller)],
        )
        .await;
    assert_eq!(missing.status, 404);
    assert!(
        missing
            .header("traceparent")
            .contains("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(
        missing.header("strict-transport-security"),
        "max-age=31536000; includeSubDomains"
    );

    // A call to another component (service chaining: a targeted product flag) is a child span.
    // The p3 build evaluates the flag in process (Spin 4.0.2 does not chain p3 components:
    // `edge::platform::SERVICE_CHAINING`): no chained request, and the submission still sees it.
    let chains = !harness::p3_under_test();
    let doc = json!({"flags": {"submissions-enabled": {"state": "ENABLED",
        "variants": {"on": true, "off": false}, "defaultVariant": "on",
        "targeting": {"if": [{"==": [{"var": "board"}, "closed"]}, "off", null]}}}});
    let r = api
        .call(
            Method::PUT,
            "/api/v1/flags",
            Some(&crate::api::admin()),
            Some(doc),
            &[],
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let submit_trace = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    let r = api
        .call(
            Method::POST,
            "/api/v1/boards/open/scores",
            Some(&crate::api::service()),
            Some(json!({"player": "ann", "score": 5})),
            &[("traceparent", submit_trace)],
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    // The targeting rule is evaluated (chained or in process): the board it names is switched off.
    assert_eq!(
        api.create_board(json!({"id": "closed", "public_read": true}))
            .await
            .status,
        201
    );
    api.call(
        Method::POST,
        "/api/v1/boards/closed/scores",
        Some(&crate::api::service()),
        Some(json!({"player": "ann", "score": 5})),
        &[],
    )
    .await
    .assert_problem(503, "submissions-enabled");
    let submit_span = r
        .header("traceparent")
        .split('-')
        .nth(2)
        .unwrap()
        .to_string();

    let lines = harness::eventually(std::time::Duration::from_secs(10), || {
        let lines = api.access_log();
        let done = (!chains
            || lines
                .iter()
                .any(|l| l["path"] == "/internal/flags/evaluate"))
            && lines.iter().any(|l| l["span_id"] == span.as_str())
            && lines.iter().any(|l| l["status"] == 404);
        done.then_some(lines)
    })
    .await
    .unwrap_or_else(|| panic!("no access lines: {}", api.app.guest_log()));
    let read = lines
        .iter()
        .find(|l| l["span_id"] == span.as_str())
        .unwrap();
    assert_eq!(read["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(read["parent_span_id"], "00f067aa0ba902b7");
    assert_eq!(read["status"], 200);
    assert_eq!(read["method"], "GET");
    assert_eq!(read["path"], "/api/v1/boards/open/entries");
    assert_eq!(read["route"], "/api/:v/boards/:board/entries");
    assert_eq!(read["tenant"], "default");
    assert_eq!(read["cache"], "MISS");
    assert_eq!(read["level"], "info");
    assert!(read["duration_ms"].as_f64().unwrap() >= 0.0);
    let err = lines.iter().find(|l| l["status"] == 404).unwrap();
    assert_eq!(
        (err["level"].as_str(), err["problem"].as_str()),
        (Some("warn"), Some("board-not-found"))
    );
    let chained = lines
        .iter()
        .find(|l| l["path"] == "/internal/flags/evaluate");
    if chains {
        let chained = chained.unwrap();
        assert_eq!(chained["trace_id"], "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(chained["parent_span_id"], submit_span.as_str(), "{chained}");
    } else {
        assert!(chained.is_none(), "{chained:?}");
        assert!(
            !api.app
                .guest_log()
                .contains("cannot reach the flags component")
        );
    }
    // Never a credential: no token, no secret, no query string.
    let log = api.app.guest_log();
    let admin = crate::api::admin();
    let token_part = admin.split('.').nth(2).unwrap();
    assert!(!log.contains(token_part));
    assert!(!log.contains(crate::api::SECRET));
    assert!(!log.contains("limit=5"));
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_and_its_page_are_served_with_validators_and_a_strict_csp() {
    let api = crate::api::start().await;
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../api/openapi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let r = api.get("/openapi.json", None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), "application/json");
    assert_eq!(
        r.body, committed,
        "the served document is the committed one"
    );
    assert!(r.body["openapi"].as_str().unwrap().starts_with("3.1"));
    let etag = r.header("etag").to_string();
    let again = api
        .call(
            Method::GET,
            "/openapi.json",
            None,
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(again.status, 304);

    let page = api.get("/docs", None).await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    let csp = page.header("content-security-policy");
    assert!(csp.contains("default-src 'none'"), "{csp}");
    assert!(!csp.contains("script-src"), "no script is allowed: {csp}");
    let html = page.body.as_str().unwrap();
    assert!(!html.contains("<script"), "the page runs no script");
    assert!(html.contains("/api/{v}/boards/{board}/entries"));
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    // A reference to learn from: the submission's section has its body's fields.
    let submit = &html[html
        .find(r#"<section class="op" id="submitScore">"#)
        .expect("the submission has its anchor")..];
    let submit = &submit[..submit.find("</section>").unwrap()];
    for field in ["player", "score", "subscore", "metadata"] {
        assert!(
            submit.contains(&format!(r#"<td class="bf"><code>{field}</code>"#)),
            "{field}"
        );
    }
    assert!(
        html.contains(r##"<a href="#submitScore">"##),
        "in the contents"
    );
    let again = api
        .call(
            Method::GET,
            "/docs",
            None,
            None,
            &[("if-none-match", page.header("etag"))],
        )
        .await;
    assert_eq!(again.status, 304);

    // In a browser: the submission's body fields are drawn (a request body's field names are
    // #0f766e on the page; the scores' section follows the contents, so the only request body in
    // the screenshot's 4200 px is the submission's).
    if let Some(chromium) = crate::browser::chromium() {
        let runtime = std::env::var("EDGE_TEST_RUNTIME").unwrap_or_else(|_| "edge-host".into());
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target");
        std::fs::create_dir_all(&dir).unwrap();
        let out = dir.join(format!("docs-{runtime}.png"));
        let _ = std::fs::remove_file(&out);
        let (rgba, width) =
            crate::browser::screenshot(&chromium, &api.app.url("/docs"), &out, "1100,4200").await;
        assert_eq!(width, 1100);
        let names = crate::browser::pixels_of(&rgba, "#0f766e");
        assert!(
            names >= 200,
            "{names} body-field-name pixels in {}",
            out.display()
        );
    } else {
        eprintln!("skipped: the /docs page in Chromium (no /usr/bin/chromium)");
    }

    let r = api.call(Method::POST, "/docs", None, None, &[]).await;
    assert_eq!(r.status, 405);
    assert_eq!(r.header("allow"), "GET, HEAD");
    api.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn problems_follow_accept_language_and_say_which() {
    let api = crate::api::start().await;
    let admin = crate::api::admin();
    for (lang, tag, title, detail) in [
        (
            Some("de-DE,de;q=0.9,en;q=0.5"),
            "de",
            "Bestenliste nicht gefunden",
            "Diese Bestenliste existiert nicht.",
        ),
        (
            Some("ja"),
            "ja",
            "リーダーボードが見つかりません",
            "このリーダーボードは存在しません。",
        ),
        (
            Some("fr-CA"),
            "fr",
            "Classement introuvable",
            "Ce classement n’existe pas.",
        ),
        (
            Some("es;q=0.8, pt-BR"),
            "pt-BR",
            "Placar não encontrado",
            "Este placar não existe.",
        ),
        (Some("xx-YY"), "en", "Board not found", ""),
        (None, "en", "Board not found", ""),
    ] {
        let headers: Vec<(&str, &str)> = lang
            .map(|l| vec![("accept-language", l)])
            .unwrap_or_default();
        let r = api
            .call(
                Method::GET,
                "/api/v1/boards/nowhere/entries",
                Some(&admin),
                None,
                &headers,
            )
            .await;
        assert_eq!(r.status, 404, "{}", r.body);
        assert_eq!(r.header("content-language"), tag, "{lang:?}");
        assert!(
            r.header("vary")
                .to_ascii_lowercase()
                .contains("accept-language"),
            "{:?}",
            r.headers
        );
        assert_eq!(r.body["title"], title, "{lang:?}: {}", r.body);
        // The occurrence's own detail, in English: as `detail`, or beside the translated one.
        let own = if detail.is_empty() {
            &r.body["detail"]
        } else {
            assert_eq!(r.body["detail"], detail, "{lang:?}: {}", r.body);
            &r.body["detail_en"]
        };
        assert!(
            own.as_str().unwrap().contains("nowhere"),
            "{lang:?}: {}",
            r.body
        );
        // The machine-readable members do not change with the language.
        assert_eq!(
            r.body["type"],
            "https://leaderboard.dev/problems/board-not-found"
        );
        assert_eq!(r.body["status"], 404);
    }
    api.stop().await;
}

/// One rule for every variable (`edge::settings`): a value a variable does not take fails what
/// reads it with `500 misconfigured` naming the variable, never its value, and is never replaced
/// by its default; what does not read it is served as before.
#[tokio::test(flavor = "multi_thread")]
async fn a_variable_set_to_a_value_it_does_not_take_fails_what_reads_it_naming_it() {
    use serde_json::json;
    let api = crate::api::start_with(
        &[
            ("live_max_streams", "many"),
            ("webhook_allow_private", "10.0.0.0/33"),
        ],
        edge_host::HostConfig::default(),
    )
    .await;
    let misconfigured = |r: &crate::api::Reply, variable: &str, value: &str| {
        r.assert_problem(500, &format!("'{variable}'"));
        assert_eq!(
            r.body["type"], "https://leaderboard.dev/problems/misconfigured",
            "{}",
            r.body
        );
        assert!(
            !r.body.to_string().contains(value),
            "the value is for the operator's log, not the caller: {}",
            r.body
        );
    };
    api.create_board(json!({"id": "open", "public_read": true}))
        .await;
    // Reads and writes that need neither variable are served.
    assert_eq!(api.get("/health/ready", None).await.status, 200);
    let entries = api.get("/api/v1/boards/open/entries", None).await;
    assert_eq!(entries.status, 200, "{}", entries.body);
    // A live read needs the live limits: never 500 streams by default.
    let live = api.get("/api/v1/boards/open/live", None).await;
    misconfigured(&live, "live_max_streams", "many");
    // A subscription's target is checked against the private addresses opened: none by default
    // would refuse one the operator meant to open.
    let admin = crate::api::token("ops", &["admin"], Some("acme"));
    let r = api
        .call(
            Method::POST,
            "/api/v1/webhooks",
            Some(&admin),
            Some(json!({"url": "http://10.0.0.7/lb", "events": ["score.applied"]})),
            &[],
        )
        .await;
    misconfigured(&r, "webhook_allow_private", "10.0.0.0/33");
    let log = api.app.guest_log();
    for (variable, value) in [
        ("live_max_streams", "'many'"),
        ("webhook_allow_private", "'10.0.0.0/33'"),
    ] {
        assert!(
            log.lines()
                .any(|l| l.contains(&format!("'{variable}' variable is {value}"))),
            "the component's log names {variable} and its value: {log}"
        );
    }
    api.stop().await;
}
