//! The writer task: group commit, segment rollover, index application, poisoning.

use super::{Durability, Head, Inner, Op, Pending, SegInfo};
use crate::checkpoint;
use crate::disk::{Disk, DiskFile};
use crate::error::{is_enospc, Error, Result};
use crate::index::{Entry, Loc};
use crate::record;
use crate::segment::{self, DATA_START};
use leofs_rt::buf::{align_down_u64, align_up};
use leofs_rt::sync::{mpsc, oneshot};
use leofs_rt::AlignedBuf;
use std::rc::{Rc, Weak};
use std::time::Instant;

/// A batch being encoded into aligned buffers of `part` bytes that cover the log from `blk`
/// on; each full buffer's write is started at once (a spawned task), so that encoding the
/// rest overlaps it.
struct Parts<F: DiskFile> {
    file: Rc<F>,
    blk: u64,
    part: usize,
    /// Bytes put so far, from `blk`.
    pos: usize,
    cur: AlignedBuf,
    writes: Vec<leofs_rt::task::JoinHandle<std::io::Result<()>>>,
}

impl<F: DiskFile> Parts<F> {
    fn new(file: Rc<F>, blk: u64, part: usize) -> Self {
        assert!(part > 0 && part.is_multiple_of(leofs_rt::ALIGN), "write parts are whole blocks");
        Parts { file, blk, part, pos: 0, cur: AlignedBuf::with_capacity(part), writes: Vec::new() }
    }

    fn put(&mut self, mut bytes: &[u8]) {
        while !bytes.is_empty() {
            // A full part is started when more bytes come, so a batch that fits one part is
            // written by `finish` without a task or a second buffer.
            if self.cur.len() == self.part {
                let full = std::mem::replace(&mut self.cur, AlignedBuf::with_capacity(self.part));
                self.start(full);
            }
            let n = bytes.len().min(self.part - self.cur.len());
            self.cur.extend_from_slice(&bytes[..n]);
            self.pos += n;
            bytes = &bytes[n..];
        }
    }

    fn start(&mut self, buf: AlignedBuf) {
        let at = self.blk + (self.pos - buf.len()) as u64;
        let file = self.file.clone();
        self.writes.push(leofs_rt::task::spawn(async move { file.write_at(buf, at).await.0 }));
    }

    /// Pads and writes the last part, waits for every write; returns the first error and
    /// the bytes of the last, partly filled block (where the next batch starts).
    async fn finish(mut self) -> (std::io::Result<()>, Vec<u8>) {
        // Parts are whole blocks, so the last partly filled block is in the current one.
        let t0 = align_down_u64(self.cur.len() as u64) as usize;
        let tail = self.cur.as_slice()[t0..].to_vec();
        if !self.cur.is_empty() {
            let at = self.blk + (self.pos - self.cur.len()) as u64;
            let mut last = self.cur;
            last.pad_to_align();
            if self.writes.is_empty() {
                // The common small batch: one write, awaited here.
                return (self.file.write_at(last, at).await.0, tail);
            }
            let file = self.file.clone();
            self.writes.push(leofs_rt::task::spawn(async move { file.write_at(last, at).await.0 }));
        }
        let mut res = Ok(());
        for w in self.writes {
            if let Err(e) = w.await {
                if res.is_ok() {
                    res = Err(e);
                }
            }
        }
        (res, tail)
    }
}

impl<D: Disk> Inner<D> {
    /// Queues `op` for the writer; the receiver resolves once it is durable and applied.
    pub(crate) fn enqueue(&self, op: Op) -> Result<oneshot::Receiver<Result<Option<Loc>>>> {
        if let Some(why) = self.poison.borrow().as_ref() {
            return Err(Error::Poisoned(why.clone()));
        }
        if self.closed.get() {
            return Err(Error::Closed);
        }
        let (tx, rx) = oneshot::channel();
        self.queue.borrow_mut().push_back(Pending { op, done: tx });
        let _ = self.wake.send(());
        Ok(rx)
    }

    pub(crate) async fn submit(&self, op: Op) -> Result<Option<Loc>> {
        let rx = self.enqueue(op)?;
        rx.await.unwrap_or(Err(Error::Closed))
    }

    pub(crate) async fn submit_checkpoint(&self) -> Result<()> {
        self.submit(Op::Checkpoint).await.map(|_| ())
    }

    /// Marks the shard read-only for good and fails everything queued.
    pub(crate) fn poison(&self, why: String) {
        if self.poison.borrow().is_none() {
            log::error!("shard {} poisoned, refusing writes: {why}", self.cfg.shard_id);
            *self.poison.borrow_mut() = Some(why);
        }
        self.fail_queue(Error::Poisoned(self.poison.borrow().clone().unwrap_or_default()));
    }

    fn fail_queue(&self, err: Error) {
        let drained: Vec<Pending> = self.queue.borrow_mut().drain(..).collect();
        for p in drained {
            let _ = p.done.send(Err(err.clone()));
        }
    }

    fn op_len(op: &Op) -> Option<u64> {
        match op {
            Op::Put { key, meta, body, .. } => Some(record::record_len(key.len(), meta.len(), body.len() as u64)),
            Op::Copy { raw, .. } => Some(raw.len() as u64),
            _ => None,
        }
    }

    /// Takes the longest run of record ops at the queue front that fits the current
    /// segment and the batch limit. Empty with `true` when the first one needs a new segment.
    fn take_batch(&self) -> (Vec<(Pending, u64)>, bool) {
        let remaining = self.cfg.segment_size - self.head.borrow().off;
        let mut q = self.queue.borrow_mut();
        let mut batch = Vec::new();
        let mut total = 0u64;
        while let Some(len) = q.front().and_then(|p| Self::op_len(&p.op)) {
            if total + len > remaining {
                return (batch, total == 0);
            }
            if total > 0 && total + len > self.cfg.max_batch_bytes as u64 {
                break;
            }
            total += len;
            batch.push((q.pop_front().expect("front exists"), len));
        }
        (batch, false)
    }

    async fn write_batch(&self, batch: Vec<(Pending, u64)>) {
        let (seg, off, tail) = {
            let h = self.head.borrow();
            (h.seg, h.off, h.tail.clone())
        };
        let file = self.segs.borrow()[&seg].file.clone();
        let blk = align_down_u64(off);
        let pre = (off - blk) as usize;
        assert_eq!(pre, tail.len(), "tail block copy matches the head offset");
        let total: u64 = batch.iter().map(|(_, l)| l).sum();
        // A large batch is encoded into `write_part_bytes` buffers, each written as soon as it is
        // full while the next one is encoded: the CPU work of the batch (copies, checksums)
        // overlaps its I/O instead of preceding it.
        let whole = align_up(pre + total as usize);
        let mut out = Parts::new(file.clone(), blk, if whole > self.cfg.write_part_bytes { self.cfg.write_part_bytes } else { whole });
        out.put(&tail);
        let mut locs = Vec::with_capacity(batch.len());
        let mut writing = 0;
        for (p, len) in &batch {
            let at = blk + out.pos as u64;
            let before = out.pos;
            match &p.op {
                Op::Put { kind, key, meta, body, version, .. } => {
                    record::encode_pieces(*kind, key, meta, body, *version, &mut |piece| out.put(piece));
                }
                Op::Copy { raw, .. } => out.put(raw),
                _ => unreachable!("take_batch only takes record ops"),
            }
            assert_eq!((out.pos - before) as u64, *len, "record length as planned");
            locs.push(Loc { seg, off: at as u32, len: *len as u32 });
            if out.writes.len() > writing {
                // Lets the runtime hand the new full parts' writes to the kernel now.
                writing = out.writes.len();
                leofs_rt::task::yield_now().await;
            }
        }
        let new_off = off + total;
        assert_eq!(blk + out.pos as u64, new_off, "batch length as planned");
        let (res, tail) = out.finish().await;
        if let Err(e) = res {
            let why = if is_enospc(&e) { "no space left on device".to_string() } else { e.to_string() };
            self.poison(format!("write of {total} bytes to segment {seg} at offset {off} failed: {why}"));
            return self.fail_batch(batch);
        }
        if self.cfg.durability == Durability::Fsync {
            let t = Instant::now();
            if let Err(e) = file.sync().await {
                self.poison(format!("fdatasync of segment {seg} failed: {e}"));
                return self.fail_batch(batch);
            }
            let mut st = self.stats.borrow_mut();
            st.fsyncs += 1;
            st.fsync_ns_total += t.elapsed().as_nanos() as u64;
        }
        {
            let mut h = self.head.borrow_mut();
            h.tail = tail;
            h.off = new_off;
        }
        if let Some(s) = self.segs.borrow_mut().get_mut(&seg) {
            s.end = new_off;
        }
        {
            let mut st = self.stats.borrow_mut();
            st.batches += 1;
            st.records_written += batch.len() as u64;
            st.bytes_written += total;
        }
        for ((p, _), loc) in batch.into_iter().zip(locs) {
            let applied = self.apply(p.op, loc);
            let _ = p.done.send(Ok(applied));
        }
        self.since_checkpoint.set(self.since_checkpoint.get() + total);
    }

    fn fail_batch(&self, batch: Vec<(Pending, u64)>) {
        let err = Error::Poisoned(self.poison.borrow().clone().unwrap_or_default());
        for (p, _) in batch {
            let _ = p.done.send(Err(err.clone()));
        }
    }

    /// Applies a durable record to the index. Returns its location if it became current.
    fn apply(&self, op: Op, loc: Loc) -> Option<Loc> {
        match op {
            Op::Put { kind, key, version, summary, .. } => {
                let e = Entry { loc, kind, size: summary.size, md5: summary.md5, parts: summary.parts, version };
                self.apply_entry(key, e, None)
            }
            Op::Copy { key, from, entry, .. } => self.apply_entry(key, Entry { loc, ..entry }, Some(from)),
            _ => None,
        }
    }

    /// Installs `e` for `key` if it wins: a copy only if the index still points at `cond`;
    /// otherwise by version (`>=`, so a later copy of the same version wins in replay).
    pub(crate) fn apply_entry(&self, key: Box<[u8]>, e: Entry, cond: Option<Loc>) -> Option<Loc> {
        let mut ix = self.index.borrow_mut();
        let cur = ix.get(&key).copied();
        let accept = match (cond, cur) {
            (Some(from), Some(c)) => c.loc == from,
            (Some(_), None) => false,
            (None, Some(c)) => e.version >= c.version,
            (None, None) => true,
        };
        if !accept {
            return None;
        }
        let mut segs = self.segs.borrow_mut();
        if let Some(c) = cur {
            if let Some(s) = segs.get_mut(&c.loc.seg) {
                assert!(s.live >= c.loc.len as u64, "live bytes of segment {} underflow", c.loc.seg);
                s.live -= c.loc.len as u64;
            }
        }
        if let Some(s) = segs.get_mut(&e.loc.seg) {
            s.live += e.loc.len as u64;
        }
        if cur.is_some_and(|c| c.version != e.version) {
            // The cached copy can no longer be served: free its RAM now.
            self.cache.lock().remove(&key);
        }
        ix.insert(key, e);
        Some(e.loc)
    }

    fn drop_tombstone(&self, key: &[u8], at: Loc) {
        let mut ix = self.index.borrow_mut();
        if ix.get(key).is_some_and(|e| e.loc == at && !e.is_live()) {
            ix.remove(key);
            if let Some(s) = self.segs.borrow_mut().get_mut(&at.seg) {
                s.live -= at.len as u64;
            }
        }
    }

    /// Starts a new segment: preallocated, header written, file and directory synced
    /// before any record goes to it (docs/format.md, "Write path and crash rules").
    pub(crate) async fn rollover(&self) -> Result<()> {
        let old = self.head.borrow().seg;
        if self.cfg.durability == Durability::None {
            let f = self.segs.borrow()[&old].file.clone();
            if let Err(e) = f.sync().await {
                self.poison(format!("fdatasync of segment {old} failed: {e}"));
                return Err(Error::Poisoned(e.to_string()));
            }
        }
        let id = old + 1;
        let file = self.create_segment(id).await?;
        self.segs.borrow_mut().insert(id, SegInfo { file: Rc::new(file), end: DATA_START, live: 0 });
        *self.head.borrow_mut() = Head { seg: id, off: DATA_START, tail: Vec::new() };
        Ok(())
    }

    pub(crate) async fn create_segment(&self, id: u32) -> Result<D::File> {
        let name = segment::file_name(id);
        let fail = |what: &str, e: std::io::Error| -> Error {
            if is_enospc(&e) {
                let _ = self.disk.remove(&name);
                Error::NoSpace(format!("cannot preallocate segment {id} ({} bytes)", self.cfg.segment_size))
            } else {
                let why = format!("{what} of segment {id} failed: {e}");
                self.poison(why.clone());
                Error::Poisoned(why)
            }
        };
        let file = self.disk.open(&name, true).map_err(|e| fail("create", e))?;
        file.allocate(0, self.cfg.segment_size).map_err(|e| fail("preallocation", e))?;
        let now_ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0);
        let hdr = segment::encode_header(id, self.cfg.segment_size, self.cfg.shard_id, now_ms);
        let (r, _) = file.write_at(hdr, 0).await;
        r.map_err(|e| fail("header write", e))?;
        file.sync().await.map_err(|e| fail("header sync", e))?;
        self.disk.sync_dir().map_err(|e| fail("directory sync", e))?;
        Ok(file)
    }

    async fn checkpoint_now(&self) -> Result<()> {
        let (covered, head_file) = {
            let h = self.head.borrow();
            ((h.seg, h.off), self.segs.borrow()[&h.seg].file.clone())
        };
        if self.cfg.durability == Durability::None {
            // The checkpoint must never name a record that is not durable yet.
            if let Err(e) = head_file.sync().await {
                let why = format!("fdatasync of segment {} failed: {e}", covered.0);
                self.poison(why.clone());
                return Err(Error::Poisoned(why));
            }
        }
        let segs: Vec<(u32, u64)> = self.segs.borrow().iter().map(|(id, s)| (*id, s.end)).collect();
        match checkpoint::write(&self.disk, self.cfg.shard_id, covered, &segs, &self.index).await {
            Ok(()) => {
                self.since_checkpoint.set(0);
                self.stats.borrow_mut().checkpoints += 1;
                Ok(())
            }
            Err(Error::Io { source, .. }) if is_enospc(&source) => {
                // The log is intact; recovery just replays more. Retry at the next interval.
                log::warn!("shard {}: index checkpoint skipped, disk full", self.cfg.shard_id);
                self.since_checkpoint.set(0);
                Err(Error::NoSpace("index checkpoint".into()))
            }
            Err(e) => {
                self.poison(format!("index checkpoint failed: {e}"));
                Err(e)
            }
        }
    }
}

/// The writer task body. Holds only a weak reference, so dropping every `Store` handle
/// ends it.
pub(crate) async fn run<D: Disk>(inner: Weak<Inner<D>>, mut wake: mpsc::Rx<()>) {
    while wake.recv().await.is_some() {
        let Some(inner) = inner.upgrade() else { return };
        loop {
            if inner.poison.borrow().is_some() {
                inner.fail_queue(Error::Poisoned(inner.poison.borrow().clone().unwrap_or_default()));
                break;
            }
            let is_record = match inner.queue.borrow().front() {
                None => break,
                Some(p) => Inner::<D>::op_len(&p.op).is_some(),
            };
            if !is_record {
                let Some(p) = inner.queue.borrow_mut().pop_front() else { break };
                let res = match p.op {
                    Op::Checkpoint => inner.checkpoint_now().await.map(|_| None),
                    Op::DropTombstone { key, at } => {
                        inner.drop_tombstone(&key, at);
                        Ok(None)
                    }
                    _ => Ok(None),
                };
                let _ = p.done.send(res);
                continue;
            }
            let (batch, needs_segment) = inner.take_batch();
            if needs_segment {
                if let Err(e) = inner.rollover().await {
                    // Nothing was written: fail what is queued, keep serving.
                    inner.fail_queue(e);
                }
                continue;
            }
            inner.write_batch(batch).await;
            if inner.since_checkpoint.get() >= inner.cfg.checkpoint_interval_bytes {
                let _ = inner.checkpoint_now().await;
            }
        }
        if inner.closed.get() {
            inner.fail_queue(Error::Closed);
            return;
        }
    }
}
