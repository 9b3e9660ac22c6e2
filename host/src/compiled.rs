//! Compiled components: kept in memory for the process, and on disk beside their `.wasm` for the
//! processes after it (Spin keeps wasmtime's compilation cache in a directory of its own), so a
//! restarted host, and every test process after the first, loads machine code instead of
//! compiling each component again.
//!
//! On disk, `<name>.wasm` is compiled to `<name>.wasm.<engine>-<content>.cwasm` beside it:
//! `<engine>` hashes what wasmtime says a compilation depends on (its version and the engine's
//! settings), `<content>` is the start of the `.wasm`'s SHA-256. Writing one removes the other
//! `.cwasm` files of the same `.wasm`, so a rebuilt component leaves one file, not one per build.
//! A file wasmtime refuses (written by another version or for other settings) is compiled again
//! and replaced. A file is loaded only if the `.wasm`'s owner owns it and no one else may write
//! it: machine code runs in the host's process, unlike the `.wasm`, which runs in a sandbox. A
//! directory that cannot be written leaves the host compiling once per process (one warning).
//! `EDGE_HOST_COMPILE_CACHE=off` keeps nothing on disk. Loads are one at a time in a process: a
//! component another thread is compiling is waited for, not compiled twice.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
    if trusted(path, &cached) {
        // SAFETY: `deserialize_file` trusts the file to be what `Component::serialize` wrote,
        // and maps it: it must not change while the component is in use. `trusted` checked that
        // the `.wasm`'s owner owns it and that no one else may write it, so it was written by
        // that owner (this host, through `keep`: a file of its own, complete and flushed before
        // it is renamed into place) and no other user could have put it there. It never changes
        // in place: a newer compilation is a new file renamed over the name, and removing a file
        // leaves its mapping whole. wasmtime still checks the version and settings it was
        // written for, and refuses others.
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
    // Each said once per process: a read-only directory, or files of another user, would say it
    // for every component.
    static NOT_KEPT: AtomicBool = AtomicBool::new(false);
    static NOT_LOADED: AtomicBool = AtomicBool::new(false);
    match keep(&c, &cached) {
        Err(e) if !NOT_KEPT.swap(true, Ordering::Relaxed) => tracing::warn!(
            "compiled components are not kept on disk ({e:#}): each start compiles them"
        ),
        // Kept, and still not to be loaded: this host runs as another user than the one who
        // owns the `.wasm` files (or the directory lets others replace what it wrote).
        Ok(()) if !trusted(path, &cached) && !NOT_LOADED.swap(true, Ordering::Relaxed) => {
            tracing::warn!(
                "compiled components are kept but not loaded: {} is not owned by the owner of {} \
                 or may be written by others, so each start compiles them (run the host as the \
                 owner of the .wasm files)",
                cached.display(),
                path.display()
            )
        }
        _ => {}
    }
    Ok(c)
}

/// Whether `cached` may be loaded as machine code: a file the owner of `wasm` owns, which no
/// one else may write.
fn trusted(wasm: &Path, cached: &Path) -> bool {
    match (std::fs::metadata(wasm), std::fs::symlink_metadata(cached)) {
        (Ok(w), Ok(c)) => c.is_file() && c.uid() == w.uid() && c.mode() & 0o022 == 0,
        _ => false,
    }
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
    // A name no other writer uses (process, time and a count), created only if new: two hosts
    // that share the directory (even with the same pid, in two containers) never write one file.
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let temporary = cached.with_file_name(format!(
        "{file_name}.{}-{nanos}-{}.tmp",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    ));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o644)
            .open(&temporary)?;
        file.write_all(&bytes)?;
        file.sync_all()?;
        std::fs::rename(&temporary, cached)
    })();
    if let Err(e) = written {
        if let Err(left) = std::fs::remove_file(&temporary)
            && left.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!("{} is left behind: {left}", temporary.display());
        }
        return Err(anyhow::Error::from(e).context(format!("writing {}", cached.display())));
    }
    let dir = cached.parent().unwrap_or(Path::new("."));
    for entry in std::fs::read_dir(dir)?.flatten() {
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name != file_name && name.starts_with(&stem) && name.ends_with(".cwasm") {
            // Another process may have removed it first.
            match std::fs::remove_file(entry.path()) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(
                        anyhow::Error::from(e).context(format!("removing the older {name}"))
                    );
                }
                _ => {}
            }
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
        // Loaded from disk the second time: the file is not written again (a write is a new
        // file renamed over the name, so its inode would change).
        let inode = |name: &str| std::fs::metadata(dir.join(name)).unwrap().ino();
        let at = inode(&first[0]);
        load_or_compile(&engine, &wasm).unwrap();
        assert_eq!(kept(&dir), first);
        assert_eq!(
            inode(&first[0]),
            at,
            "loaded, not compiled and written again"
        );
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
        // One that others may write is not loaded: compiled again and written anew.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join(&second[0]), std::fs::Permissions::from_mode(0o666))
            .unwrap();
        assert!(!trusted(&wasm, &dir.join(&second[0])));
        load_or_compile(&engine, &wasm).unwrap();
        assert!(trusted(&wasm, &dir.join(&second[0])));
        let names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
