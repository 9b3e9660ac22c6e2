//! Response compression on the runtime under test: gzip for JSON bodies of 1 KiB or more when the
//! client accepts it, `Vary: Accept-Encoding` on every such response, and ETags that tell the two
//! representations apart yet revalidate either way.

use std::io::Read;

use reqwest::Method;
use serde_json::{Value, json};

use crate::api::start;

async fn raw(
    api: &crate::api::Api,
    path: &str,
    headers: &[(&str, &str)],
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut req = api.app.http.request(Method::GET, api.app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.bytes().await.unwrap().to_vec())
}

fn h<'a>(headers: &'a reqwest::header::HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

#[tokio::test(flavor = "multi_thread")]
async fn large_json_is_gzipped_for_clients_that_accept_it_and_etags_stay_correct() {
    let api = start().await;
    api.create_board(json!({"id": "big", "public_read": true}))
        .await;
    for i in 0..40 {
        api.submit_ok("big", &format!("player-{i:02}"), json!(i * 10))
            .await;
    }
    let page = "/api/v1/boards/big/entries?limit=40";
    let (status, plain_h, plain) = raw(&api, page, &[]).await;
    assert_eq!(status, 200);
    assert!(plain.len() >= 1024, "the page is {} bytes", plain.len());
    assert_eq!(h(&plain_h, "content-encoding"), "");
    assert!(
        h(&plain_h, "vary").contains("Accept-Encoding"),
        "{plain_h:?}"
    );
    let plain_etag = h(&plain_h, "etag").to_string();
    assert!(!plain_etag.ends_with("-gzip\""), "{plain_etag}");

    let (status, gz_h, gz) = raw(&api, page, &[("accept-encoding", "br;q=1, gzip;q=0.8")]).await;
    assert_eq!(status, 200);
    assert_eq!(h(&gz_h, "content-encoding"), "gzip");
    assert!(h(&gz_h, "vary").contains("Accept-Encoding"));
    assert!(
        gz.len() * 2 < plain.len(),
        "{} vs {} bytes",
        gz.len(),
        plain.len()
    );
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_end(&mut unzipped)
        .unwrap();
    let a: Value = serde_json::from_slice(&unzipped).unwrap();
    let b: Value = serde_json::from_slice(&plain).unwrap();
    assert_eq!(a["entries"], b["entries"]);
    let gz_etag = h(&gz_h, "etag").to_string();
    assert_eq!(
        gz_etag,
        format!("{}-gzip\"", plain_etag.trim_end_matches('"')),
        "a representation of its own"
    );

    // Either validator revalidates; the 304 echoes the one the client holds.
    let (status, h304, _) = raw(
        &api,
        page,
        &[("accept-encoding", "gzip"), ("if-none-match", &gz_etag)],
    )
    .await;
    assert_eq!(status, 304);
    assert_eq!(h(&h304, "etag"), gz_etag);
    let (status, h304, _) = raw(&api, page, &[("if-none-match", &plain_etag)]).await;
    assert_eq!(status, 304);
    assert_eq!(h(&h304, "etag"), plain_etag);

    // gzip refused, and small bodies: as they are.
    let (_, refused, _) = raw(&api, page, &[("accept-encoding", "gzip;q=0, identity")]).await;
    assert_eq!(h(&refused, "content-encoding"), "");
    let (_, small, body) = raw(
        &api,
        "/api/v1/boards/big/entries?limit=2",
        &[("accept-encoding", "gzip")],
    )
    .await;
    assert!(body.len() < 1024);
    assert_eq!(h(&small, "content-encoding"), "");
    api.stop().await;
}

/// The OpenAPI document is compiled in gzip-compressed: sent as it is to a client that accepts
/// gzip, inflated for one that does not, the same document either way, and revalidated with
/// either validator.
#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_is_served_precompressed() {
    let api = start().await;
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../api/openapi.json"
        ))
        .unwrap(),
    )
    .unwrap();
    let (status, plain_h, plain) = raw(&api, "/openapi.json", &[]).await;
    assert_eq!(status, 200);
    assert_eq!(h(&plain_h, "content-encoding"), "");
    assert_eq!(h(&plain_h, "vary"), "Accept-Encoding");
    assert_eq!(serde_json::from_slice::<Value>(&plain).unwrap(), committed);
    let (status, gz_h, gz) = raw(&api, "/openapi.json", &[("accept-encoding", "gzip")]).await;
    assert_eq!(status, 200);
    assert_eq!(h(&gz_h, "content-encoding"), "gzip");
    assert!(
        gz.len() * 4 < plain.len(),
        "{} of {} bytes",
        gz.len(),
        plain.len()
    );
    let mut text = String::new();
    flate2::read::GzDecoder::new(gz.as_slice())
        .read_to_string(&mut text)
        .unwrap();
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), committed);
    let plain_etag = h(&plain_h, "etag").to_string();
    let gz_etag = h(&gz_h, "etag").to_string();
    assert_eq!(
        gz_etag,
        format!("{}-gzip\"", plain_etag.trim_end_matches('"'))
    );
    let (status, h304, _) = raw(
        &api,
        "/openapi.json",
        &[("accept-encoding", "gzip"), ("if-none-match", &gz_etag)],
    )
    .await;
    assert_eq!(status, 304);
    assert_eq!(h(&h304, "etag"), gz_etag);
    let (status, h304, _) = raw(&api, "/openapi.json", &[("if-none-match", &plain_etag)]).await;
    assert_eq!(status, 304);
    assert_eq!(h(&h304, "etag"), plain_etag);
    api.stop().await;
}
