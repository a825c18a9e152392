//! Encoding a scrape: the cores' snapshots, summed where the series have no core label,
//! written by prometheus-client in the Prometheus text format (0.0.4) or OpenMetrics.
//!
//! A fresh registry per scrape holds one collector over the snapshot: the values are
//! already counted (per core, without atomics), so there is nothing for prometheus-client's
//! own atomic metric types to do but copy them.

use super::{sum_s3, CoreSnapshot, LATENCY_BUCKETS};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{self, DescriptorEncoder, EncodeGaugeValue, NoLabelSet};
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use std::fmt;

/// The exposition format of a scrape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// `text/plain; version=0.0.4`: what `curl` and `promtool check metrics` get.
    Prometheus,
    /// OpenMetrics 1.0: what Prometheus asks for first.
    OpenMetrics,
}

impl Format {
    /// The format for a request's `Accept` header: OpenMetrics only when asked for.
    pub fn negotiate(accept: Option<&str>) -> Format {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::Prometheus => encoding::prometheus_text::CONTENT_TYPE,
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
        }
    }
}

/// Encodes a scrape: the cores' snapshots and the catalog's counts.
pub fn encode(cores: Vec<CoreSnapshot>, buckets: usize, users: usize, format: Format) -> Result<String, fmt::Error> {
    encode_with(cores, buckets, users, None, format)
}

/// What a cluster process adds to its scrape: the RING it routes with, the node states it
/// knows, and queued repairs by target node.
#[derive(Debug, Default, Clone)]
pub struct ClusterGauges {
    pub ring_version: u64,
    /// Hex; empty before the node has a RING.
    pub ring_checksum: String,
    pub states: Vec<(String, String)>,
    pub repairs: Vec<(String, u64)>,
    /// Manager only: nodes whose reported RING differs from the current one.
    pub stale_nodes: Option<u64>,
    /// Storage only: scrub's passes, records and bytes verified, corrupt records found.
    pub scrub: Option<[u64; 4]>,
}

/// [`encode`] with the cluster's gauges.
pub fn encode_with(cores: Vec<CoreSnapshot>, buckets: usize, users: usize, cluster: Option<ClusterGauges>, format: Format) -> Result<String, fmt::Error> {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(Scrape { cores, buckets, users, cluster }));
    let mut out = String::with_capacity(16 << 10);
    match format {
        Format::Prometheus => encoding::prometheus_text::encode(&mut out, &registry)?,
        Format::OpenMetrics => encoding::text::encode(&mut out, &registry)?,
    }
    Ok(out)
}

/// A label set; values are owned because most are formatted numbers.
type Labels = Vec<(&'static str, String)>;

#[derive(Debug)]
struct Scrape {
    cores: Vec<CoreSnapshot>,
    buckets: usize,
    users: usize,
    cluster: Option<ClusterGauges>,
}

/// Writes one counter family. Names go without `_total` (and without the unit): the
/// encoders add them.
fn counter<V: encoding::EncodeCounterValue>(enc: &mut DescriptorEncoder, name: &str, help: &str, unit: Option<Unit>, rows: Vec<(Labels, V)>) -> fmt::Result {
    let mut m = enc.encode_descriptor(name, help, unit.as_ref(), MetricType::Counter)?;
    for (labels, v) in &rows {
        if labels.is_empty() {
            m.encode_counter::<NoLabelSet, _, u64>(v, None)?;
        } else {
            m.encode_family(labels)?.encode_counter::<NoLabelSet, _, u64>(v, None)?;
        }
    }
    Ok(())
}

/// Writes one gauge family.
fn gauge<V: EncodeGaugeValue>(enc: &mut DescriptorEncoder, name: &str, help: &str, unit: Option<Unit>, rows: Vec<(Labels, V)>) -> fmt::Result {
    let mut m = enc.encode_descriptor(name, help, unit.as_ref(), MetricType::Gauge)?;
    for (labels, v) in &rows {
        if labels.is_empty() {
            m.encode_gauge(v)?;
        } else {
            m.encode_family(labels)?.encode_gauge(v)?;
        }
    }
    Ok(())
}

impl Scrape {
    /// One row per shard: `(shard label, value)`.
    fn per_shard<V>(&self, f: impl Fn(&CoreSnapshot) -> V) -> Vec<(Labels, V)> {
        self.cores.iter().map(|c| (vec![("shard", c.core.to_string())], f(c))).collect()
    }

    fn encode_s3(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let s3 = sum_s3(&self.cores);
        let mut requests: Vec<_> = s3.requests.iter().map(|(&(op, status), &n)| (op, status, n)).collect();
        requests.sort_unstable();
        let rows = requests.into_iter().map(|(op, status, n)| (vec![("op", op.to_owned()), ("status", status.to_string())], n)).collect();
        counter(enc, "leofs_s3_requests", "S3 requests answered, by operation and HTTP status (op=\"Unknown\": failed before routing).", None, rows)?;

        let mut latency: Vec<_> = s3.latency.iter().collect();
        latency.sort_unstable_by_key(|(op, _)| **op);
        let mut m = enc.encode_descriptor(
            "leofs_s3_request_duration",
            "S3 request latency by operation, from request head parsed to response ready (a GET's body streams after).",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for (op, h) in latency {
            let bounds = LATENCY_BUCKETS.iter().copied().chain([f64::INFINITY]);
            let buckets: Vec<(f64, u64)> = bounds.zip(h.buckets).collect();
            let labels: Labels = vec![("op", (*op).to_owned())];
            m.encode_family(&labels)?.encode_histogram::<NoLabelSet>(h.sum_ns as f64 / 1e9, h.count, &buckets, None)?;
        }
        counter(enc, "leofs_s3_bytes_received", "S3 request body bytes read from clients.", None, vec![(vec![], s3.bytes_received)])?;
        counter(enc, "leofs_s3_bytes_sent", "S3 response body bytes written to clients.", None, vec![(vec![], s3.bytes_sent)])
    }

    fn encode_cores(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        let conns = self.cores.iter().map(|c| (vec![("core", c.core.to_string())], c.open_connections)).collect();
        gauge(enc, "leofs_open_connections", "Open S3 connections, by core.", None, conns)?;
        let by_core = |f: fn(&CoreSnapshot) -> u64| self.cores.iter().map(|c| (vec![("core", c.core.to_string())], f(c))).collect();
        counter(enc, "leofs_md5_batches", "Multi-buffer MD5 batches: body pieces arriving together on a core, hashed one per SIMD lane.", None, by_core(|c| c.md5_batches.0))?;
        counter(enc, "leofs_md5_batched_pieces", "Body pieces hashed in multi-buffer MD5 batches (divided by batches: the lanes filled on average).", None, by_core(|c| c.md5_batches.1))?;
        let drivers = self.cores.iter().map(|c| (vec![("core", c.core.to_string()), ("driver", c.driver.to_owned())], 1i64)).collect();
        gauge(enc, "leofs_io_driver", "The I/O driver each core runs (io_uring, or epoll where io_uring is blocked); always 1.", None, drivers)
    }

    fn encode_engine(&self, enc: &mut DescriptorEncoder) -> fmt::Result {
        gauge(enc, "leofs_engine_segments", "Log segments on disk.", None, self.per_shard(|c| c.shard.segments as u64))?;
        gauge(enc, "leofs_engine_live", "Bytes of records the index still points at.", Some(Unit::Bytes), self.per_shard(|c| c.shard.live_bytes))?;
        let garbage = |c: &CoreSnapshot| c.shard.used_bytes.saturating_sub(c.shard.live_bytes);
        gauge(enc, "leofs_engine_garbage", "Bytes of superseded or deleted records that compaction can reclaim.", Some(Unit::Bytes), self.per_shard(garbage))?;
        gauge(enc, "leofs_engine_index_entries", "Index entries (objects and tombstones) held in RAM.", None, self.per_shard(|c| c.shard.index_entries as u64))?;
        gauge(enc, "leofs_engine_index", "RAM the index holds: entry slab and keys exactly, map nodes estimated per entry.", Some(Unit::Bytes), self.per_shard(|c| c.shard.index_bytes))?;
        gauge(enc, "leofs_engine_poisoned", "1 when the shard refuses writes after a failed write or fsync (it still serves reads).", None, self.per_shard(|c| u64::from(c.shard.poisoned)))?;
        let stats = |f: fn(&leofs_engine::store::Stats) -> u64| self.per_shard(move |c| f(&c.shard.stats));
        counter(enc, "leofs_engine_group_commit_batches", "Group-commit batches written (one write and one fdatasync each).", None, stats(|s| s.batches))?;
        counter(enc, "leofs_engine_records_written", "Records appended to the log.", None, stats(|s| s.records_written))?;
        counter(enc, "leofs_engine_bytes_written", "Bytes appended to the log.", None, stats(|s| s.bytes_written))?;
        counter(enc, "leofs_engine_fdatasync", "fdatasync calls on log segments.", None, stats(|s| s.fsyncs))?;
        let sync_s = self.per_shard(|c| c.shard.stats.fsync_ns_total as f64 / 1e9);
        counter(enc, "leofs_engine_fdatasync", "Time spent in fdatasync.", Some(Unit::Seconds), sync_s)?;
        counter(enc, "leofs_engine_checkpoints", "Index checkpoints written.", None, stats(|s| s.checkpoints))?;
        counter(enc, "leofs_engine_compacted_segments", "Segments reclaimed by compaction.", None, stats(|s| s.compacted_segments))?;
        counter(enc, "leofs_engine_compaction_copied", "Live bytes compaction copied out of reclaimed segments.", Some(Unit::Bytes), stats(|s| s.compacted_bytes_copied))?;
        counter(enc, "leofs_engine_cache_hits", "Reads served from the read cache of small objects.", None, stats(|s| s.cache_hits))?;
        counter(enc, "leofs_engine_cache_misses", "Reads of small objects the read cache could not serve.", None, stats(|s| s.cache_misses))?;
        gauge(enc, "leofs_engine_cache", "RAM the read cache holds (keys, bodies, per-entry overhead).", Some(Unit::Bytes), stats(|s| s.cache_bytes))
    }
}

impl Scrape {
    fn encode_cluster(&self, enc: &mut DescriptorEncoder, c: &ClusterGauges) -> fmt::Result {
        gauge(enc, "leofs_ring_version", "Version of the RING this process routes with (0: none yet).", None, vec![(vec![], c.ring_version)])?;
        let sum: Labels = vec![("checksum", c.ring_checksum.clone())];
        enc.encode_descriptor("leofs_ring", "Checksum of the RING this process routes with; always 1.", None, MetricType::Info)?.encode_info(&sum)?;
        let states = c.states.iter().map(|(n, st)| (vec![("node", n.clone()), ("state", st.clone())], 1u64)).collect();
        gauge(enc, "leofs_node_state", "Each known node's state (attached, running, suspend, stop, restarted, detached); always 1.", None, states)?;
        let repairs = c.repairs.iter().map(|(t, n)| (vec![("target", t.clone())], *n)).collect();
        gauge(enc, "leofs_repair_queue_depth", "Repairs queued for delivery (hinted hand-off), by the node they are for.", None, repairs)?;
        if let Some([passes, records, bytes, corrupt]) = c.scrub {
            counter(enc, "leofs_scrub_passes", "Full scrub passes over this node's records.", None, vec![(vec![], passes)])?;
            counter(enc, "leofs_scrub_records", "Records whose checksums scrub verified.", None, vec![(vec![], records)])?;
            counter(enc, "leofs_scrub", "Bytes of records scrub verified.", Some(Unit::Bytes), vec![(vec![], bytes)])?;
            counter(enc, "leofs_scrub_corrupt_records", "Records scrub found corrupt (each is repaired from another replica).", None, vec![(vec![], corrupt)])?;
        }
        if let Some(n) = c.stale_nodes {
            gauge(enc, "leofs_ring_stale_nodes", "Nodes whose RING checksum differs from the manager's.", None, vec![(vec![], n)])?;
        }
        Ok(())
    }
}

impl Collector for Scrape {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        if let Some(c) = &self.cluster {
            self.encode_cluster(&mut enc, c)?;
        }
        self.encode_s3(&mut enc)?;
        self.encode_cores(&mut enc)?;
        self.encode_engine(&mut enc)?;
        gauge(&mut enc, "leofs_catalog_buckets", "Buckets in the catalog.", None, vec![(vec![], self.buckets as u64)])?;
        gauge(&mut enc, "leofs_catalog_users", "Users in the catalog.", None, vec![(vec![], self.users as u64)])?;
        let version: Labels = vec![("version", env!("CARGO_PKG_VERSION").to_owned())];
        enc.encode_descriptor("leofs_build", "The leofs version serving; always 1.", None, MetricType::Info)?.encode_info(&version)
    }
}

#[cfg(test)]
mod tests {
    use super::super::{record_request, ShardSnapshot, S3};
    use super::*;
    use std::time::Duration;

    fn scrape(format: Format) -> String {
        record_request("PutObject", 200, Duration::from_millis(3));
        let core = |n: usize| CoreSnapshot {
            core: n,
            driver: "epoll",
            open_connections: 1,
            md5_batches: (2, 5),
            s3: S3.with(|c| c.borrow().clone()),
            shard: ShardSnapshot { segments: 2, used_bytes: 100, live_bytes: 60, index_entries: 5, ..ShardSnapshot::default() },
        };
        encode(vec![core(0), core(1)], 3, 4, format).unwrap()
    }

    #[test]
    fn prometheus_text_names_and_sums() {
        let text = scrape(Format::Prometheus);
        assert!(text.contains("# TYPE leofs_s3_requests_total counter\n"), "{text}");
        assert!(text.contains("leofs_s3_requests_total{op=\"PutObject\",status=\"200\"} 2\n"), "{text}");
        assert!(text.contains("leofs_s3_request_duration_seconds_bucket{op=\"PutObject\",le=\"0.005\"} 2\n"), "{text}");
        assert!(text.contains("leofs_s3_request_duration_seconds_bucket{op=\"PutObject\",le=\"+Inf\"} 2\n"), "{text}");
        assert!(text.contains("leofs_s3_request_duration_seconds_count{op=\"PutObject\"} 2\n"), "{text}");
        assert!(text.contains("leofs_engine_garbage_bytes{shard=\"1\"} 40\n"), "{text}");
        assert!(text.contains("leofs_engine_index_bytes{shard=\"0\"} 0\n"), "{text}");
        assert!(text.contains("leofs_engine_fdatasync_seconds_total{shard=\"0\"} 0"), "{text}");
        assert!(text.contains("leofs_io_driver{core=\"1\",driver=\"epoll\"} 1\n"), "{text}");
        assert!(text.contains(&format!("leofs_build_info{{version=\"{}\"}} 1\n", env!("CARGO_PKG_VERSION"))), "{text}");
        assert!(text.contains("leofs_catalog_users 4\n"), "{text}");
        assert!(!text.contains("# EOF"), "{text}");
    }

    #[test]
    fn cluster_gauges_are_exported() {
        let c = ClusterGauges { ring_version: 2, ring_checksum: "00ff".into(), states: vec![("s1".into(), "running".into())], repairs: vec![("s2".into(), 7)], stale_nodes: Some(1), scrub: Some([1, 2, 3, 4]) };
        let text = encode_with(Vec::new(), 0, 0, Some(c), Format::Prometheus).unwrap();
        assert!(text.contains("leofs_ring_version 2\n"), "{text}");
        assert!(text.contains("leofs_ring_info{checksum=\"00ff\"} 1\n"), "{text}");
        assert!(text.contains("leofs_node_state{node=\"s1\",state=\"running\"} 1\n"), "{text}");
        assert!(text.contains("leofs_repair_queue_depth{target=\"s2\"} 7\n"), "{text}");
        assert!(text.contains("leofs_ring_stale_nodes 1\n"), "{text}");
        assert!(text.contains("leofs_scrub_corrupt_records_total 4\n"), "{text}");
        assert!(text.contains("leofs_scrub_bytes_total 3\n"), "{text}");
    }

    #[test]
    fn openmetrics_ends_with_eof() {
        let text = scrape(Format::OpenMetrics);
        assert!(text.contains("# TYPE leofs_s3_requests counter\n"), "{text}");
        assert!(text.contains("# UNIT leofs_engine_live_bytes bytes\n"), "{text}");
        assert!(text.ends_with("# EOF\n"), "{text}");
        assert_eq!(Format::negotiate(Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5")), Format::OpenMetrics);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Prometheus);
    }
}
