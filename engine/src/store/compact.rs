//! Compaction: copy live records out of mostly-garbage segments, then reclaim them.
//!
//! Crash safety at every step: (1) copies go through the writer like any record, applied
//! only if the index still points at the original (a newer write always wins); (2) once
//! every copy is durable, the segments leave the segment table and a checkpoint is written
//! without them; (3) only then are the files removed. A crash before (2) replays the copies
//! (same version, later in the log: they win or are garbage); a crash between (2) and (3)
//! leaves files that open() recognises as leftovers. A record the index still points at is
//! never dropped: a segment is only removed when its live-byte count is zero.

use super::{Inner, Op};
use crate::disk::{Disk, DiskFile};
use crate::error::{Error, Result};
use crate::index::{Entry, Loc};
use crate::record::{self, Kind};
use crate::segment::{self, Scan, Scanner};
use leofs_rt::buf::{align_down_u64, align_up};
use leofs_rt::sync::oneshot;
use leofs_rt::AlignedBuf;
use std::collections::VecDeque;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Bytes of copies in flight before compaction waits for them to be durable.
const MAX_IN_FLIGHT: u64 = 8 << 20;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CompactStats {
    pub segments_removed: u32,
    pub records_copied: u64,
    pub bytes_copied: u64,
    pub bytes_reclaimed: u64,
    pub tombstones_dropped: u64,
}

struct Guard<'a>(&'a std::cell::Cell<bool>);
impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.0.set(false);
    }
}

type Waiter = oneshot::Receiver<Result<Option<Loc>>>;

async fn settle(waiters: &mut VecDeque<(Waiter, u64)>, in_flight: &mut u64, until: u64) -> Result<()> {
    while *in_flight > until {
        let Some((w, len)) = waiters.pop_front() else { break };
        w.await.unwrap_or(Err(Error::Closed))?;
        *in_flight -= len;
    }
    Ok(())
}

pub(crate) async fn run<D: Disk>(inner: &Rc<Inner<D>>, garbage_ratio: f64, bytes_per_sec: u64) -> Result<CompactStats> {
    if let Some(why) = inner.poison.borrow().as_ref() {
        return Err(Error::Poisoned(why.clone()));
    }
    if inner.compacting.replace(true) {
        return Err(Error::Invalid("compaction already running on this shard".into()));
    }
    let _guard = Guard(&inner.compacting);
    let head = inner.head.borrow().seg;
    let (cands, min_kept) = {
        let segs = inner.segs.borrow();
        let cands: Vec<u32> = segs
            .iter()
            .filter(|(id, s)| {
                let used = s.end - segment::DATA_START;
                **id != head && (used == 0 || (used - s.live) as f64 >= garbage_ratio * used as f64)
            })
            .map(|(id, _)| *id)
            .collect();
        let min_kept = segs.keys().copied().find(|id| !cands.contains(id)).unwrap_or(head);
        (cands, min_kept)
    };
    let mut stats = CompactStats::default();
    if cands.is_empty() {
        return Ok(stats);
    }
    let started = Instant::now();
    let grace_us = inner.cfg.tombstone_grace_secs.saturating_mul(1_000_000);
    let now_us = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64);
    let mut waiters: VecDeque<(Waiter, u64)> = VecDeque::new();
    let mut in_flight = 0u64;
    // The throttle counts every byte compaction moves: scanned (mostly garbage, read at
    // disk speed if unchecked) plus copied.
    let mut scanned_done = 0u64;
    for &id in &cands {
        let (file, end) = {
            let segs = inner.segs.borrow();
            let s = &segs[&id];
            (s.file.clone(), s.end)
        };
        let mut sc = Scanner::new(&*file, end, segment::DATA_START);
        loop {
            let (off, header, key) = match sc.next().await? {
                Scan::Record { off, header, key, .. } => (off, header, key),
                Scan::End { .. } => break,
                Scan::Invalid { off, why } => {
                    return Err(Error::Corrupt(format!("segment {id} offset {off}: {why}; compaction stopped")));
                }
            };
            let at = Loc { seg: id, off: off as u32, len: header.total_len() as u32 };
            let cur: Option<Entry> = inner.index.borrow().get(&key[..]).copied();
            let io = scanned_done + sc.pos.saturating_sub(segment::DATA_START) + stats.bytes_copied;
            let Some(cur) = cur.filter(|e| e.loc == at) else {
                throttle(started, io, bytes_per_sec).await;
                continue;
            };
            if header.kind == Kind::Tombstone && id < min_kept && header.version.timestamp_us.saturating_add(grace_us) <= now_us {
                // No older segment survives that could hold a version this tombstone hides,
                // and the grace period for replicas that missed the delete is over.
                waiters.push_back((inner.enqueue(Op::DropTombstone { key: key.into(), at })?, 0));
                stats.tombstones_dropped += 1;
                continue;
            }
            let raw = read_raw(&*file, at).await?;
            let len = raw.len() as u64;
            waiters.push_back((inner.enqueue(Op::Copy { key: key.into(), raw, from: at, entry: cur })?, len));
            in_flight += len;
            stats.records_copied += 1;
            stats.bytes_copied += len;
            settle(&mut waiters, &mut in_flight, MAX_IN_FLIGHT).await?;
            throttle(started, io + len, bytes_per_sec).await;
        }
        scanned_done += end - segment::DATA_START;
    }
    settle(&mut waiters, &mut in_flight, 0).await?;
    while let Some((w, _)) = waiters.pop_front() {
        w.await.unwrap_or(Err(Error::Closed))?;
    }
    // Only segments nothing points at any more leave the table.
    let mut removed = Vec::new();
    {
        let mut segs = inner.segs.borrow_mut();
        for id in cands {
            if segs.get(&id).is_some_and(|s| s.live == 0) {
                if let Some(s) = segs.remove(&id) {
                    stats.bytes_reclaimed += s.end - segment::DATA_START;
                    removed.push(id);
                }
            } else {
                log::warn!("shard {}: segment {id} still has live records after compaction; kept", inner.cfg.shard_id);
            }
        }
    }
    if removed.is_empty() {
        return Ok(stats);
    }
    inner.submit_checkpoint().await?;
    for id in &removed {
        inner.disk.remove(&segment::file_name(*id)).map_err(|e| Error::io("remove compacted segment", e))?;
    }
    inner.disk.sync_dir().map_err(|e| Error::io("directory sync", e))?;
    stats.segments_removed = removed.len() as u32;
    {
        let mut st = inner.stats.borrow_mut();
        st.compacted_segments += removed.len() as u64;
        st.compacted_bytes_copied += stats.bytes_copied;
    }
    log::info!("shard {}: compaction removed {} segments, copied {} bytes", inner.cfg.shard_id, removed.len(), stats.bytes_copied);
    Ok(stats)
}

/// Reads a record's exact bytes and verifies them again before they are copied.
async fn read_raw<F: DiskFile>(file: &F, at: Loc) -> Result<Vec<u8>> {
    let off = at.off as u64;
    let blk = align_down_u64(off);
    let skip = (off - blk) as usize;
    let n = align_up(skip + at.len as usize);
    let (r, buf) = file.read_at(AlignedBuf::with_capacity(n), blk, n).await;
    let got = r.map_err(|e| Error::io("compaction read", e))?;
    let raw = buf.as_slice().get(skip..skip + at.len as usize).filter(|_| got >= skip + at.len as usize);
    let raw = raw.ok_or_else(|| Error::Corrupt("short read during compaction".into()))?;
    let h = record::parse_header(raw).map_err(|e| Error::Corrupt(format!("compaction re-read: {e:?}")))?;
    let b0 = h.body_offset() as usize;
    if !record::verify_head(&h, raw) || record::body_checksum(&raw[b0..b0 + h.body_len as usize]) != h.body_sum {
        return Err(Error::Corrupt(format!("record at segment {} offset {off} changed under compaction", at.seg)));
    }
    Ok(raw.to_vec())
}

/// Sleeps so that compaction's I/O stays under `bytes_per_sec`, and yields to foreground
/// requests.
async fn throttle(started: Instant, io_bytes: u64, bytes_per_sec: u64) {
    if bytes_per_sec > 0 {
        let due = Duration::from_secs_f64(io_bytes as f64 / bytes_per_sec as f64);
        let elapsed = started.elapsed();
        if due > elapsed {
            leofs_rt::task::sleep(due - elapsed).await;
            return;
        }
    }
    leofs_rt::task::yield_now().await;
}
