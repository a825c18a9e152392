//! Opening a shard: checkpoint, log replay, torn-tail truncation.

use super::{writer, Config, Head, Inner, SegInfo, Stats, Store};
use crate::checkpoint;
use crate::disk::{Disk, DiskFile};
use crate::error::{Error, Result};
use crate::index::{Entry, Index, Loc};
use crate::meta::ObjectMeta;
use crate::record::Kind;
use crate::segment::{self, Scan, Scanner, DATA_START};
use crate::version::Clock;
use leofs_rt::buf::{align_down_u64, align_up};
use leofs_rt::sync::mpsc;
use leofs_rt::{AlignedBuf, ALIGN};
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, VecDeque};
use std::rc::Rc;

pub(crate) async fn open<D: Disk>(disk: D, cfg: Config) -> Result<Store<D>> {
    assert!(cfg.segment_size.is_multiple_of(ALIGN as u64) && cfg.segment_size >= 4 * ALIGN as u64, "segment size must be a multiple of 4 KiB");
    assert!(cfg.segment_size <= u32::MAX as u64, "segment offsets are 32-bit");
    let io = |op| move |e| Error::io(op, e);
    let names = disk.list().map_err(io("list data directory"))?;
    if names.iter().any(|n| n == checkpoint::TMP) {
        disk.remove(checkpoint::TMP).map_err(io("remove stale checkpoint"))?;
    }
    let mut ids: Vec<u32> = names.iter().filter_map(|n| segment::parse_file_name(n)).collect();
    ids.sort_unstable();

    let loaded = match checkpoint::load(&disk).await {
        Ok(l) => l,
        Err(Error::Corrupt(why)) => {
            log::warn!("shard {}: {why}; rebuilding the index from the whole log", cfg.shard_id);
            None
        }
        Err(e) => return Err(e),
    };
    let (index, covered, ck_ends) = match loaded {
        Some(l) => (l.index, Some(l.covered), l.segments.into_iter().collect::<BTreeMap<u32, u64>>()),
        None => (Index::default(), None, BTreeMap::new()),
    };

    if let Some((cseg, _)) = covered {
        // Segments older than the covered position that the checkpoint does not list were
        // being removed by a compaction when the process stopped.
        let mut removed = false;
        ids.retain(|id| {
            let orphan = *id < cseg && !ck_ends.contains_key(id);
            if orphan {
                log::info!("shard {}: removing segment {id} left by an interrupted compaction", cfg.shard_id);
                removed |= disk.remove(&segment::file_name(*id)).is_ok();
            }
            !orphan
        });
        if removed {
            disk.sync_dir().map_err(io("directory sync"))?;
        }
        if let Some(missing) = ck_ends.keys().find(|id| !ids.contains(id)) {
            return Err(Error::Corrupt(format!("segment {missing} named by the index checkpoint is missing")));
        }
    }

    let (wake_tx, wake_rx) = mpsc::channel();
    let inner = Rc::new(Inner {
        disk,
        cfg: cfg.clone(),
        index: RefCell::new(index),
        segs: RefCell::new(BTreeMap::new()),
        head: RefCell::new(Head { seg: 0, off: DATA_START, tail: Vec::new() }),
        clock: RefCell::new(Clock::new(cfg.tiebreak)),
        queue: RefCell::new(VecDeque::new()),
        wake: wake_tx,
        poison: RefCell::new(None),
        closed: Cell::new(false),
        since_checkpoint: Cell::new(0),
        stats: RefCell::new(Stats::default()),
        compacting: Cell::new(false),
        cache: super::cache::SharedCache::new(cfg.read_cache_bytes),
    });

    // Open every segment and check its header. A newest segment with a bad header was being
    // created when the process stopped and never received a record.
    let newest = ids.last().copied();
    for &id in &ids {
        let name = segment::file_name(id);
        let file = inner.disk.open(&name, false).map_err(io("open segment"))?;
        let (r, hdr) = file.read_at(AlignedBuf::with_capacity(ALIGN), 0, ALIGN).await;
        r.map_err(io("read segment header"))?;
        match segment::parse_header(hdr.as_slice()) {
            Some((hid, size)) if hid == id && size == cfg.segment_size => {}
            Some((hid, size)) if hid == id => {
                return Err(Error::Invalid(format!("segment {id} is {size} bytes but the configured segment size is {}", cfg.segment_size)))
            }
            _ if Some(id) == newest && !ck_ends.contains_key(&id) => {
                log::warn!("shard {}: removing segment {id}, whose creation was interrupted", cfg.shard_id);
                drop(file);
                inner.disk.remove(&name).map_err(io("remove segment"))?;
                inner.disk.sync_dir().map_err(io("directory sync"))?;
                continue;
            }
            _ => return Err(Error::Corrupt(format!("segment {id} has an invalid header"))),
        }
        let end = ck_ends.get(&id).copied().unwrap_or(DATA_START);
        inner.segs.borrow_mut().insert(id, SegInfo { file: Rc::new(file), end, live: 0 });
    }

    let ids: Vec<u32> = inner.segs.borrow().keys().copied().collect();
    if ids.is_empty() {
        let file = inner.create_segment(1).await?;
        inner.segs.borrow_mut().insert(1, SegInfo { file: Rc::new(file), end: DATA_START, live: 0 });
    } else {
        let newest = *ids.last().expect("non-empty");
        for &id in &ids {
            let start = match covered {
                Some((cseg, _)) if id < cseg => continue,
                Some((cseg, coff)) if id == cseg => coff,
                _ => DATA_START,
            };
            replay_segment(&inner, id, start, id == newest).await?;
        }
    }

    // Live bytes per segment and the clock come from the final index.
    {
        let ix = inner.index.borrow();
        let mut segs = inner.segs.borrow_mut();
        let mut clock = inner.clock.borrow_mut();
        for (_, e) in ix.iter() {
            clock.observe(e.version);
            match segs.get_mut(&e.loc.seg) {
                Some(s) => s.live += e.loc.len as u64,
                None => return Err(Error::Corrupt(format!("index points at missing segment {}", e.loc.seg))),
            }
        }
    }

    // The head is the newest segment's end; keep a copy of its partial last block.
    let (hid, hfile, hend) = {
        let segs = inner.segs.borrow();
        let (id, s) = segs.iter().next_back().expect("at least one segment");
        (*id, s.file.clone(), s.end)
    };
    let blk = align_down_u64(hend);
    let tail = if hend > blk {
        let (r, b) = hfile.read_at(AlignedBuf::with_capacity(ALIGN), blk, ALIGN).await;
        r.map_err(io("read tail block"))?;
        b.as_slice()[..(hend - blk) as usize].to_vec()
    } else {
        Vec::new()
    };
    *inner.head.borrow_mut() = Head { seg: hid, off: hend, tail };
    log::info!(
        "shard {}: opened with {} index entries in {} segments",
        cfg.shard_id,
        inner.index.borrow().len(),
        inner.segs.borrow().len()
    );

    leofs_rt::task::spawn(writer::run(Rc::downgrade(&inner), wake_rx));
    Ok(Store { inner })
}

/// Replays one segment from `start`, applying each valid record to the index. In the
/// newest segment the first invalid record is a torn tail: truncate there. In an older
/// segment it is corruption: report it and resynchronise on the next valid record.
async fn replay_segment<D: Disk>(inner: &Rc<Inner<D>>, id: u32, start: u64, newest: bool) -> Result<()> {
    let file = inner.segs.borrow()[&id].file.clone();
    let size = inner.cfg.segment_size;
    let mut sc = Scanner::new(&*file, size, start);
    let end = loop {
        match sc.next().await? {
            Scan::Record { off, header, key, meta } => {
                let (size, md5, parts) = if header.kind == Kind::Tombstone {
                    (0, [0; 16], 0)
                } else {
                    let m = ObjectMeta::decode(&meta, header.body_len)?;
                    (m.size, m.md5, m.parts)
                };
                let loc = Loc { seg: id, off: off as u32, len: header.total_len() as u32 };
                let e = Entry { loc, kind: header.kind, size, md5, parts, version: header.version };
                // Live bytes are computed once the index is final, so only the index changes here.
                let mut ix = inner.index.borrow_mut();
                if ix.get(&key[..]).is_none_or(|cur| e.version >= cur.version) {
                    ix.insert(key.into(), e);
                }
            }
            Scan::End { off } => break off,
            Scan::Invalid { off, why } if newest => {
                log::warn!("shard {}: segment {id}: torn tail at offset {off} ({why}); truncating", inner.cfg.shard_id);
                break off;
            }
            Scan::Invalid { off, why } => {
                log::error!("shard {}: segment {id}: corrupt record at offset {off} ({why}); skipping", inner.cfg.shard_id);
                sc.pos = off + crate::record::RECORD_ALIGN;
            }
        }
    };
    if newest {
        truncate(&*file, end, size).await.map_err(|e| Error::io("truncate torn tail", e))?;
    }
    if let Some(s) = inner.segs.borrow_mut().get_mut(&id) {
        s.end = end;
    }
    Ok(())
}

/// Zeroes everything after `end` so that bytes of a lost batch can never reappear behind
/// records written later (docs/format.md, "Write path and crash rules").
async fn truncate<F: DiskFile>(file: &F, end: u64, size: u64) -> std::io::Result<()> {
    let next_blk = align_up(end as usize) as u64;
    if next_blk < size {
        file.zero_range(next_blk, size - next_blk)?;
    }
    let blk = align_down_u64(end);
    if end > blk {
        let (r, mut b) = file.read_at(AlignedBuf::with_capacity(ALIGN), blk, ALIGN).await;
        r?;
        b.set_len(ALIGN);
        b.as_mut_slice()[(end - blk) as usize..].fill(0);
        let (r, _) = file.write_at(b, blk).await;
        r?;
    }
    file.sync().await
}
