//! `fermyon:spin/key-value@2.0.0` and `wasi:keyvalue@0.2.0-draft2` over the same backends.
//! A component may open only the labels in its `key_value_stores` (`access-denied` otherwise).
//!
//! Every operation may trap: where Spin's store panics (see [`SpinPanics`]) the guest is trapped,
//! which is what a panic in Spin's host call does to the request.

use wasmtime::component::Resource;

use super::fermyon::spin2_0_0::key_value as spin_kv;
use super::wasi::keyvalue::{atomics, batch, store as wasi_kv};
use crate::kv::{KvBackend, SpinPanics};
use crate::state::{CasHandle, KvHandle, State};

type Trappable<T, E> = wasmtime::Result<Result<T, E>>;

/// A backend result for the guest: a [`SpinPanics`] traps, any other error is the guest's error
/// value.
fn guest<T, E>(r: anyhow::Result<T>, error: impl FnOnce(anyhow::Error) -> E) -> Trappable<T, E> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(e) if e.is::<SpinPanics>() => Err(wasmtime::Error::from_anyhow(e)),
        Err(e) => Ok(Err(error(e))),
    }
}

fn spin_err(e: anyhow::Error) -> spin_kv::Error {
    spin_kv::Error::Other(format!("{e:#}"))
}

fn wasi_err(e: anyhow::Error) -> wasi_kv::Error {
    wasi_kv::Error::Other(format!("{e:#}"))
}

enum OpenError {
    Denied,
    Missing,
}

impl State {
    fn open_store(&self, label: &str) -> Result<KvBackend, OpenError> {
        if !self.component.kv_grants.iter().any(|g| g == label) {
            return Err(OpenError::Denied);
        }
        self.shared.kv.get(label).cloned().ok_or(OpenError::Missing)
    }

    fn kv_backend(&mut self, handle: &Resource<KvHandle>) -> wasmtime::Result<KvBackend> {
        Ok(self.table().get(handle)?.backend.clone())
    }

    fn push_store(&mut self, backend: KvBackend) -> wasmtime::Result<Resource<KvHandle>> {
        Ok(self.table().push(KvHandle { backend })?)
    }
}

impl spin_kv::Host for State {}

impl spin_kv::HostStore for State {
    async fn open(&mut self, label: String) -> Trappable<Resource<KvHandle>, spin_kv::Error> {
        match self.open_store(&label) {
            Ok(backend) => Ok(Ok(self.push_store(backend)?)),
            Err(OpenError::Denied) => Ok(Err(spin_kv::Error::AccessDenied)),
            Err(OpenError::Missing) => Ok(Err(spin_kv::Error::NoSuchStore)),
        }
    }

    async fn get(
        &mut self,
        store: Resource<KvHandle>,
        key: String,
    ) -> Trappable<Option<Vec<u8>>, spin_kv::Error> {
        let b = self.kv_backend(&store)?;
        guest(b.get(&key).await, spin_err)
    }

    async fn set(
        &mut self,
        store: Resource<KvHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Trappable<(), spin_kv::Error> {
        let b = self.kv_backend(&store)?;
        guest(b.set(&key, &value).await, spin_err)
    }

    async fn delete(
        &mut self,
        store: Resource<KvHandle>,
        key: String,
    ) -> Trappable<(), spin_kv::Error> {
        let b = self.kv_backend(&store)?;
        guest(b.delete(&key).await, spin_err)
    }

    async fn exists(
        &mut self,
        store: Resource<KvHandle>,
        key: String,
    ) -> Trappable<bool, spin_kv::Error> {
        let b = self.kv_backend(&store)?;
        guest(b.exists(&key).await, spin_err)
    }

    async fn get_keys(
        &mut self,
        store: Resource<KvHandle>,
    ) -> Trappable<Vec<String>, spin_kv::Error> {
        let b = self.kv_backend(&store)?;
        guest(b.keys().await, spin_err)
    }

    async fn drop(&mut self, store: Resource<KvHandle>) -> wasmtime::Result<()> {
        self.table().delete(store)?;
        Ok(())
    }
}

impl wasi_kv::Host for State {
    async fn open(&mut self, identifier: String) -> Trappable<Resource<KvHandle>, wasi_kv::Error> {
        match self.open_store(&identifier) {
            Ok(backend) => Ok(Ok(self.push_store(backend)?)),
            Err(OpenError::Denied) => Ok(Err(wasi_kv::Error::AccessDenied)),
            Err(OpenError::Missing) => Ok(Err(wasi_kv::Error::NoSuchStore)),
        }
    }
}

impl wasi_kv::HostBucket for State {
    async fn get(
        &mut self,
        bucket: Resource<KvHandle>,
        key: String,
    ) -> Trappable<Option<Vec<u8>>, wasi_kv::Error> {
        let b = self.kv_backend(&bucket)?;
        guest(b.get(&key).await, wasi_err)
    }

    async fn set(
        &mut self,
        bucket: Resource<KvHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Trappable<(), wasi_kv::Error> {
        let b = self.kv_backend(&bucket)?;
        guest(b.set(&key, &value).await, wasi_err)
    }

    async fn delete(
        &mut self,
        bucket: Resource<KvHandle>,
        key: String,
    ) -> Trappable<(), wasi_kv::Error> {
        let b = self.kv_backend(&bucket)?;
        guest(b.delete(&key).await, wasi_err)
    }

    async fn exists(
        &mut self,
        bucket: Resource<KvHandle>,
        key: String,
    ) -> Trappable<bool, wasi_kv::Error> {
        let b = self.kv_backend(&bucket)?;
        guest(b.exists(&key).await, wasi_err)
    }

    /// Returns every key in one page; a cursor is an error, as in Spin ("cursor not supported").
    async fn list_keys(
        &mut self,
        bucket: Resource<KvHandle>,
        cursor: Option<String>,
    ) -> Trappable<wasi_kv::KeyResponse, wasi_kv::Error> {
        if cursor.is_some() {
            return Ok(Err(wasi_kv::Error::Other(
                "list_keys: cursor not supported".to_owned(),
            )));
        }
        let b = self.kv_backend(&bucket)?;
        guest(
            b.keys()
                .await
                .map(|keys| wasi_kv::KeyResponse { keys, cursor: None }),
            wasi_err,
        )
    }

    async fn drop(&mut self, bucket: Resource<KvHandle>) -> wasmtime::Result<()> {
        self.table().delete(bucket)?;
        Ok(())
    }
}

impl atomics::Host for State {
    async fn increment(
        &mut self,
        bucket: Resource<KvHandle>,
        key: String,
        delta: i64,
    ) -> Trappable<i64, wasi_kv::Error> {
        let b = self.kv_backend(&bucket)?;
        guest(b.increment(&key, delta).await, wasi_err)
    }

    /// Swaps; when the swap fails, Spin hands back a fresh CAS on the same key with `current`
    /// already read, and so does this host.
    async fn swap(
        &mut self,
        cas: Resource<CasHandle>,
        value: Vec<u8>,
    ) -> Trappable<(), atomics::CasError> {
        let store_err = |e: anyhow::Error| atomics::CasError::StoreError(wasi_err(e));
        let handle = self.table().delete(cas)?;
        match guest(handle.cas.swap(&value).await, store_err)? {
            Ok(true) => return Ok(Ok(())),
            Ok(false) => {}
            Err(e) => return Ok(Err(e)),
        }
        let fresh = async {
            let mut fresh = handle.cas.backend().new_cas(&handle.cas.key).await?;
            fresh.current().await?;
            Ok(fresh)
        };
        match guest(fresh.await, store_err)? {
            Ok(fresh) => {
                let fresh = self.table().push(CasHandle { cas: fresh })?;
                Ok(Err(atomics::CasError::CasFailed(fresh)))
            }
            Err(e) => Ok(Err(e)),
        }
    }
}

impl atomics::HostCas for State {
    async fn new(
        &mut self,
        bucket: Resource<KvHandle>,
        key: String,
    ) -> Trappable<Resource<CasHandle>, wasi_kv::Error> {
        let backend = self.kv_backend(&bucket)?;
        match guest(backend.new_cas(&key).await, wasi_err)? {
            Ok(cas) => Ok(Ok(self.table().push(CasHandle { cas })?)),
            Err(e) => Ok(Err(e)),
        }
    }

    async fn current(
        &mut self,
        cas: Resource<CasHandle>,
    ) -> Trappable<Option<Vec<u8>>, wasi_kv::Error> {
        let handle = self.table().get_mut(&cas)?;
        guest(handle.cas.current().await, wasi_err)
    }

    async fn drop(&mut self, cas: Resource<CasHandle>) -> wasmtime::Result<()> {
        self.table().delete(cas)?;
        Ok(())
    }
}

impl batch::Host for State {
    async fn get_many(
        &mut self,
        bucket: Resource<KvHandle>,
        keys: Vec<String>,
    ) -> Trappable<Vec<(String, Option<Vec<u8>>)>, wasi_kv::Error> {
        let b = self.kv_backend(&bucket)?;
        guest(b.get_many(&keys).await, wasi_err)
    }

    async fn set_many(
        &mut self,
        bucket: Resource<KvHandle>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Trappable<(), wasi_kv::Error> {
        let b = self.kv_backend(&bucket)?;
        guest(b.set_many(&key_values).await, wasi_err)
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<KvHandle>,
        keys: Vec<String>,
    ) -> Trappable<(), wasi_kv::Error> {
        let b = self.kv_backend(&bucket)?;
        guest(b.delete_many(&keys).await, wasi_err)
    }
}
