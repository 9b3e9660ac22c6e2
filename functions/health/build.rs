//! Prepares the API description once, at build time: `api/openapi.json` gzip-compressed (about a
//! tenth of its size) with its ETag, and the `/docs` page rendered from it (`src/docs_page/`)
//! and compressed, so the component neither holds the texts in its data nor parses, renders,
//! hashes or compresses anything per request (see `src/docs.rs`).

use std::io::Write;

use sha2::Digest as _;

#[path = "src/docs_page/mod.rs"]
#[allow(dead_code)]
mod docs_page;

fn gzip(what: &str, bytes: &[u8]) -> Vec<u8> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    gz.write_all(bytes)
        .and_then(|()| gz.finish())
        .unwrap_or_else(|e| panic!("cannot compress {what}: {e}"))
}

fn sha256_hex(bytes: &[u8]) -> String {
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn main() {
    let source = "../../api/openapi.json";
    println!("cargo:rerun-if-changed={source}");
    println!("cargo:rerun-if-changed=src/docs_page");
    let text = match std::fs::read(source) {
        Ok(text) => text,
        Err(e) => panic!("cannot read {source}: {e}"),
    };
    let doc: serde_json::Value =
        serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{source} is not JSON: {e}"));
    let page = docs_page::render(&doc);
    let hex = sha256_hex(&text);
    let page_hex = sha256_hex(page.as_bytes());
    let out = std::env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}"));
    let write = |name: &str, bytes: &[u8]| {
        if let Err(e) = std::fs::write(format!("{out}/{name}"), bytes) {
            panic!("cannot write {name}: {e}");
        }
    };
    write("openapi.json.gz", &gzip(source, &text));
    write("openapi.etag", format!("\"{}\"", &hex[..32]).as_bytes());
    write("docs.html.gz", &gzip("the docs page", page.as_bytes()));
    write(
        "docs.etag",
        format!("\"docs-{}\"", &page_hex[..32]).as_bytes(),
    );
}
