//! Compiled components: kept in memory for the process, and on disk beside their `.wasm` for the
//! processes after it (as Spin keeps wasmtime's compilation cache), so a restarted host, and
//! every test process after the first, loads machine code instead of compiling each component
//! again.
//!
//! On disk, `<name>.wasm` is compiled to `<name>.wasm.<engine>-<content>.cwasm` beside it:
//! `<engine>` hashes what wasmtime says a compilation depends on (its version and the engine's
//! settings), `<content>` is the start of the `.wasm`'s SHA-256. Writing one removes the other
//! `.cwasm` files of the same `.wasm`, so a rebuilt component leaves one file, not one per build.
//! A file wasmtime refuses (written by another version or for other settings) is compiled again
//! and replaced; a directory that cannot be written leaves the host compiling once per process
//! (logged at debug). `EDGE_HOST_COMPILE_CACHE=off` keeps nothing on disk.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use std::time::SystemTime;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};
use wasmtime::Engine;
use wasmtime::component::Component;

/// The component at `path` for `engine`: from this process's memory when the file is unchanged,
/// else from its compilation on disk, else compiled (and kept in both).
pub fn component(engine: &Engine, path: &Path) -> Result<Component> {
    type Memory = Mutex<HashMap<(PathBuf, Option<SystemTime>), Component>>;
    static MEMORY: OnceLock<Memory> = OnceLock::new();
    let mtime = std::fs::metadata(path)
        .with_context(|| {
            format!(
                "component source {} not found: run scripts/build.sh",
                path.display()
            )
        })?
        .modified()
        .ok();
    let key = (path.to_path_buf(), mtime);
    // One load at a time: a thread that wants a component another is compiling waits for it
    // instead of compiling it too (wasmtime spreads one compilation over every core already).
    let mut memory = MEMORY
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(c) = memory.get(&key) {
        return Ok(c.clone());
    }
    let c = load_or_compile(engine, path)?;
    memory.insert(key, c.clone());
    Ok(c)
}

fn load_or_compile(engine: &Engine, path: &Path) -> Result<Component> {
    let wasm = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let compile = || {
        Component::new(engine, &wasm)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("compiling {}", path.display()))
    };
    if std::env::var("EDGE_HOST_COMPILE_CACHE").is_ok_and(|v| v == "off") {
        return compile();
    }
    let cached = on_disk(engine, path, &wasm);
    if cached.is_file() {
        // SAFETY: `deserialize_file` trusts the file to be what `Component::serialize` wrote.
        // This one is ours: written by `keep` below under a temporary name and renamed into
        // place, beside the `.wasm` it was compiled from; whoever can write there can replace
        // that `.wasm` too. wasmtime still checks its version and settings, and refuses others.
        match unsafe { Component::deserialize_file(engine, &cached) } {
            Ok(c) => return Ok(c),
            Err(e) => tracing::debug!(
                "compiling {} again: {} does not load ({e:#})",
                path.display(),
                cached.display()
            ),
        }
    }
    let c = compile()?;
    if let Err(e) = keep(&c, &cached) {
        tracing::debug!("{} is not kept on disk: {e:#}", cached.display());
    }
    Ok(c)
}

/// Where the compilation of `wasm` (read from `path`) for `engine` is kept.
fn on_disk(engine: &Engine, path: &Path, wasm: &[u8]) -> PathBuf {
    let mut hasher = DefaultHasher::new();
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let content = Sha256::digest(wasm);
    let content: String = content[..8].iter().map(|b| format!("{b:02x}")).collect();
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(format!(".{:016x}-{content}.cwasm", hasher.finish()));
    path.with_file_name(name)
}

/// Writes `component`'s compilation to `cached` (through a temporary file, so a reader never
/// sees half of it) and removes the other compilations of the same `.wasm`.
fn keep(component: &Component, cached: &Path) -> Result<()> {
    let bytes = component.serialize().map_err(anyhow::Error::from)?;
    let file_name = cached
        .file_name()
        .and_then(|n| n.to_str())
        .context("a compiled component's file name")?;
    let stem = file_name
        .rsplit_once(".wasm.")
        .map(|(wasm, _)| format!("{wasm}.wasm."))
        .context("a compiled component's file name")?;
    let temporary = cached.with_file_name(format!("{file_name}.{}.tmp", std::process::id()));
    std::fs::write(&temporary, bytes)
        .with_context(|| format!("writing {}", temporary.display()))?;
    std::fs::rename(&temporary, cached)
        .with_context(|| format!("renaming {} into place", temporary.display()))?;
    let dir = cached.parent().unwrap_or(Path::new("."));
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name != file_name && name.starts_with(&stem) && name.ends_with(".cwasm") {
            std::fs::remove_file(entry.path())
                .with_context(|| format!("removing the older {name}"))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// The smallest component there is, `(component)`, in the binary format.
    const EMPTY: &[u8] = b"\0asm\x0d\0\x01\0";
    /// `(component (core module))`: the same with one empty core module (section 1).
    const ONE_MODULE: &[u8] = b"\0asm\x0d\0\x01\0\x01\x08\0asm\x01\0\0\0";

    #[test]
    fn a_compilation_is_kept_beside_its_wasm_and_replaced_when_the_wasm_changes() {
        let dir = std::env::temp_dir().join(format!("edge-host-compiled-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let wasm = dir.join("c.wasm");
        let engine = Engine::default();
        let kept = |dir: &Path| {
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .filter(|n| n.ends_with(".cwasm"))
                .collect();
            names.sort();
            names
        };
        std::fs::write(&wasm, EMPTY).unwrap();
        load_or_compile(&engine, &wasm).unwrap();
        let first = kept(&dir);
        assert_eq!(first.len(), 1, "{first:?}");
        assert!(first[0].starts_with("c.wasm.") && first[0].ends_with(".cwasm"));
        // Loaded from disk the second time: the same file stays.
        load_or_compile(&engine, &wasm).unwrap();
        assert_eq!(kept(&dir), first);
        // A changed .wasm: its compilation replaces the old one.
        std::fs::write(&wasm, ONE_MODULE).unwrap();
        load_or_compile(&engine, &wasm).unwrap();
        let second = kept(&dir);
        assert_eq!(second.len(), 1, "{second:?}");
        assert_ne!(second, first);
        // A file that is not a compilation is compiled again and replaced, not trusted.
        std::fs::write(dir.join(&second[0]), b"not machine code").unwrap();
        load_or_compile(&engine, &wasm).unwrap();
        assert_ne!(
            std::fs::read(dir.join(&second[0])).unwrap(),
            b"not machine code"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
