//! Compresses `api/openapi.json` once, at build time: the component carries the gzip form
//! (about a tenth of the document's 136 KB) and its ETag, so it neither holds the text in its
//! data nor hashes and compresses it per request (see `src/docs.rs`).

use std::io::Write;

fn main() {
    let source = "../../api/openapi.json";
    println!("cargo:rerun-if-changed={source}");
    let text = match std::fs::read(source) {
        Ok(text) => text,
        Err(e) => panic!("cannot read {source}: {e}"),
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let compressed = gz
        .write_all(&text)
        .and_then(|()| gz.finish())
        .unwrap_or_else(|e| panic!("cannot compress {source}: {e}"));
    let digest = sha2::Sha256::digest(&text);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let out = std::env::var("OUT_DIR").unwrap_or_else(|e| panic!("OUT_DIR: {e}"));
    let write = |name: &str, bytes: &[u8]| {
        if let Err(e) = std::fs::write(format!("{out}/{name}"), bytes) {
            panic!("cannot write {name}: {e}");
        }
    };
    write("openapi.json.gz", &compressed);
    write("openapi.etag", format!("\"{}\"", &hex[..32]).as_bytes());
}

use sha2::Digest as _;
