//! Where the gateway's objects live: this process's shards (`leofs server`) or the
//! cluster's storage nodes over the RING (`leofs gateway`). Same operations either way.

use crate::cluster::client::ClusterClient;
use crate::shard::{Got, PutCond, PutError, Shards};
use leofs_engine::{Entry, Error, Kind, ObjectMeta, Version};
use std::rc::Rc;

#[derive(Clone)]
pub enum Backend {
    Local(Shards),
    Cluster(Rc<ClusterClient>),
}

impl Backend {
    pub async fn put(&self, key: Vec<u8>, meta: ObjectMeta, body: Vec<u8>, cond: PutCond) -> Result<Version, PutError> {
        match self {
            Backend::Local(s) => s.put(key, meta, body, cond).await,
            Backend::Cluster(c) => c.put(Kind::Object, key, meta, body, cond).await,
        }
    }

    /// Stores a piece of a large object (a multipart part): a record no listing shows.
    pub async fn put_chunk(&self, key: Vec<u8>, meta: ObjectMeta, body: Vec<u8>) -> Result<Version, PutError> {
        match self {
            Backend::Local(s) => s.put_chunk(key, meta, body).await,
            Backend::Cluster(c) => c.put(Kind::Chunk, key, meta, body, PutCond::None).await,
        }
    }

    /// The entry of a live key, without reading its body.
    pub async fn stat(&self, key: Vec<u8>) -> Result<Option<Entry>, Error> {
        match self {
            Backend::Local(s) => s.stat(key).await,
            Backend::Cluster(c) => c.stat(key).await,
        }
    }

    pub async fn get(&self, key: Vec<u8>) -> Result<Option<Got>, Error> {
        match self {
            Backend::Local(s) => s.get(key).await,
            Backend::Cluster(c) => c.get(key).await,
        }
    }

    pub async fn delete(&self, key: Vec<u8>) -> Result<bool, Error> {
        match self {
            Backend::Local(s) => s.delete(key).await,
            Backend::Cluster(c) => c.delete(key).await,
        }
    }

    /// Live entries under `prefix` after `start_after`, in key order, at most `limit`.
    pub async fn list(&self, prefix: &[u8], start_after: &[u8], limit: usize) -> Result<Vec<(Box<[u8]>, Entry)>, Error> {
        match self {
            Backend::Local(s) => s.list(prefix, start_after, limit).await,
            Backend::Cluster(c) => c.list(prefix, start_after, limit).await,
        }
    }
}
