//! `fermyon:spin/key-value@2.0.0` and `wasi:keyvalue@0.2.0-draft2` over the same backends.
//! A component may open only the labels in its `key_value_stores` (`access-denied` otherwise).

use wasmtime::component::Resource;

use super::fermyon::spin2_0_0::key_value as spin_kv;
use super::wasi::keyvalue::{atomics, batch, store as wasi_kv};
use crate::kv::KvBackend;
use crate::state::{CasHandle, KvHandle, State};

enum OpenError {
    Denied,
    Missing,
}

impl State {
    fn open_store(&self, label: &str) -> Result<KvBackend, OpenError> {
        if !self.component.kv_grants.iter().any(|g| g == label) {
            return Err(OpenError::Denied);
        }
        self.runtime
            .kv
            .get(label)
            .cloned()
            .ok_or(OpenError::Missing)
    }

    fn kv_backend(&mut self, handle: &Resource<KvHandle>) -> anyhow::Result<KvBackend> {
        Ok(self.table().get(handle)?.backend.clone())
    }
}

fn spin_err(e: anyhow::Error) -> spin_kv::Error {
    spin_kv::Error::Other(format!("{e:#}"))
}

fn wasi_err(e: anyhow::Error) -> wasi_kv::Error {
    wasi_kv::Error::Other(format!("{e:#}"))
}

impl spin_kv::Host for State {}

impl spin_kv::HostStore for State {
    async fn open(&mut self, label: String) -> Result<Resource<KvHandle>, spin_kv::Error> {
        let backend = self.open_store(&label).map_err(|e| match e {
            OpenError::Denied => spin_kv::Error::AccessDenied,
            OpenError::Missing => spin_kv::Error::NoSuchStore,
        })?;
        self.table()
            .push(KvHandle { backend })
            .map_err(|e| spin_kv::Error::Other(e.to_string()))
    }

    async fn get(
        &mut self,
        store: Resource<KvHandle>,
        key: String,
    ) -> Result<Option<Vec<u8>>, spin_kv::Error> {
        let b = self.kv_backend(&store).map_err(spin_err)?;
        b.get(&key).await.map_err(spin_err)
    }

    async fn set(
        &mut self,
        store: Resource<KvHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), spin_kv::Error> {
        let b = self.kv_backend(&store).map_err(spin_err)?;
        b.set(&key, &value).await.map_err(spin_err)
    }

    async fn delete(
        &mut self,
        store: Resource<KvHandle>,
        key: String,
    ) -> Result<(), spin_kv::Error> {
        let b = self.kv_backend(&store).map_err(spin_err)?;
        b.delete(&key).await.map_err(spin_err)
    }

    async fn exists(
        &mut self,
        store: Resource<KvHandle>,
        key: String,
    ) -> Result<bool, spin_kv::Error> {
        let b = self.kv_backend(&store).map_err(spin_err)?;
        b.exists(&key).await.map_err(spin_err)
    }

    async fn get_keys(&mut self, store: Resource<KvHandle>) -> Result<Vec<String>, spin_kv::Error> {
        let b = self.kv_backend(&store).map_err(spin_err)?;
        b.keys().await.map_err(spin_err)
    }

    async fn drop(&mut self, store: Resource<KvHandle>) -> wasmtime::Result<()> {
        self.table().delete(store)?;
        Ok(())
    }
}

impl wasi_kv::Host for State {
    async fn open(&mut self, identifier: String) -> Result<Resource<KvHandle>, wasi_kv::Error> {
        let backend = self.open_store(&identifier).map_err(|e| match e {
            OpenError::Denied => wasi_kv::Error::AccessDenied,
            OpenError::Missing => wasi_kv::Error::NoSuchStore,
        })?;
        self.table()
            .push(KvHandle { backend })
            .map_err(|e| wasi_kv::Error::Other(e.to_string()))
    }
}

impl wasi_kv::HostBucket for State {
    async fn get(
        &mut self,
        bucket: Resource<KvHandle>,
        key: String,
    ) -> Result<Option<Vec<u8>>, wasi_kv::Error> {
        let b = self.kv_backend(&bucket).map_err(wasi_err)?;
        b.get(&key).await.map_err(wasi_err)
    }

    async fn set(
        &mut self,
        bucket: Resource<KvHandle>,
        key: String,
        value: Vec<u8>,
    ) -> Result<(), wasi_kv::Error> {
        let b = self.kv_backend(&bucket).map_err(wasi_err)?;
        b.set(&key, &value).await.map_err(wasi_err)
    }

    async fn delete(
        &mut self,
        bucket: Resource<KvHandle>,
        key: String,
    ) -> Result<(), wasi_kv::Error> {
        let b = self.kv_backend(&bucket).map_err(wasi_err)?;
        b.delete(&key).await.map_err(wasi_err)
    }

    async fn exists(
        &mut self,
        bucket: Resource<KvHandle>,
        key: String,
    ) -> Result<bool, wasi_kv::Error> {
        let b = self.kv_backend(&bucket).map_err(wasi_err)?;
        b.exists(&key).await.map_err(wasi_err)
    }

    /// Returns every key in one page (the stores here are small enough); `cursor` is ignored
    /// beyond the first call, which is allowed by the draft interface.
    async fn list_keys(
        &mut self,
        bucket: Resource<KvHandle>,
        cursor: Option<String>,
    ) -> Result<wasi_kv::KeyResponse, wasi_kv::Error> {
        let b = self.kv_backend(&bucket).map_err(wasi_err)?;
        let keys = match cursor {
            Some(_) => Vec::new(),
            None => b.keys().await.map_err(wasi_err)?,
        };
        Ok(wasi_kv::KeyResponse { keys, cursor: None })
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
    ) -> Result<i64, wasi_kv::Error> {
        let b = self.kv_backend(&bucket).map_err(wasi_err)?;
        b.increment(&key, delta).await.map_err(wasi_err)
    }

    async fn swap(
        &mut self,
        cas: Resource<CasHandle>,
        value: Vec<u8>,
    ) -> Result<(), atomics::CasError> {
        let store_err = |e: anyhow::Error| atomics::CasError::StoreError(wasi_err(e));
        let (backend, key, snapshot) = {
            let c = self.table().get(&cas).map_err(|e| store_err(e.into()))?;
            (c.backend.clone(), c.key.clone(), c.snapshot.clone())
        };
        if backend
            .swap_if(&key, snapshot.as_deref(), &value)
            .await
            .map_err(store_err)?
        {
            self.table().delete(cas).map_err(|e| store_err(e.into()))?;
            return Ok(());
        }
        // Lost the race: hand the handle back with a fresh snapshot so the guest can retry.
        let fresh = backend.get(&key).await.map_err(store_err)?;
        self.table()
            .get_mut(&cas)
            .map_err(|e| store_err(e.into()))?
            .snapshot = fresh;
        Err(atomics::CasError::CasFailed(cas))
    }
}

impl atomics::HostCas for State {
    async fn new(
        &mut self,
        bucket: Resource<KvHandle>,
        key: String,
    ) -> Result<Resource<CasHandle>, wasi_kv::Error> {
        let backend = self.kv_backend(&bucket).map_err(wasi_err)?;
        let snapshot = backend.get(&key).await.map_err(wasi_err)?;
        self.table()
            .push(CasHandle {
                backend,
                key,
                snapshot,
            })
            .map_err(|e| wasi_kv::Error::Other(e.to_string()))
    }

    async fn current(
        &mut self,
        cas: Resource<CasHandle>,
    ) -> Result<Option<Vec<u8>>, wasi_kv::Error> {
        Ok(self
            .table()
            .get(&cas)
            .map_err(|e| wasi_kv::Error::Other(e.to_string()))?
            .snapshot
            .clone())
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
    ) -> Result<Vec<(String, Option<Vec<u8>>)>, wasi_kv::Error> {
        let b = self.kv_backend(&bucket).map_err(wasi_err)?;
        b.get_many(&keys).await.map_err(wasi_err)
    }

    async fn set_many(
        &mut self,
        bucket: Resource<KvHandle>,
        key_values: Vec<(String, Vec<u8>)>,
    ) -> Result<(), wasi_kv::Error> {
        let b = self.kv_backend(&bucket).map_err(wasi_err)?;
        b.set_many(&key_values).await.map_err(wasi_err)
    }

    async fn delete_many(
        &mut self,
        bucket: Resource<KvHandle>,
        keys: Vec<String>,
    ) -> Result<(), wasi_kv::Error> {
        let b = self.kv_backend(&bucket).map_err(wasi_err)?;
        b.delete_many(&keys).await.map_err(wasi_err)
    }
}
