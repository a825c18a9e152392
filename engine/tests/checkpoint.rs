//! Index checkpoints far larger than one 4 MiB write piece round-trip exactly (a piece
//! boundary that is not 4 KiB-aligned once made every large checkpoint unreadable).

use leofs_engine::checkpoint;
use leofs_engine::index::{Entry, Index, Loc};
use leofs_engine::{Kind, SimDisk, Version};
use std::cell::RefCell;

#[test]
fn large_checkpoints_round_trip() {
    for n in [1u64, 114_913, 300_007] {
        let mut ix = Index::default();
        for i in 0..n {
            let key = format!("bucket/obj-{i:07}-{}", "x".repeat((i % 13) as usize)).into_bytes();
            let e = Entry {
                loc: Loc { seg: 1 + (i % 5) as u32, off: (i * 8) as u32, len: 64 },
                kind: if i % 17 == 0 { Kind::Tombstone } else { Kind::Object },
                size: i,
                md5: [(i % 251) as u8; 16],
                parts: (i % 3) as u32,
                version: Version { timestamp_us: i * 3, tiebreak: 7 },
            };
            ix.insert(key.into_boxed_slice(), e);
        }
        let want: Vec<(Vec<u8>, Entry)> = ix.iter().map(|(k, e)| (k.to_vec(), *e)).collect();
        let disk = SimDisk::new();
        let segs = vec![(1, 4096 + 64), (2, 8192), (3, 4096), (4, 4096), (5, 4096)];
        let cell = RefCell::new(ix);
        leofs_rt::block_on(async {
            checkpoint::write(&disk, 3, (5, 12345), &segs, &cell).await.expect("write");
            let loaded = checkpoint::load(&disk).await.expect("load").expect("present");
            assert_eq!(loaded.covered, (5, 12345));
            assert_eq!(loaded.segments, segs);
            let got: Vec<(Vec<u8>, Entry)> = loaded.index.iter().map(|(k, e)| (k.to_vec(), *e)).collect();
            assert_eq!(got.len(), want.len(), "n={n}");
            assert!(got == want, "entries differ for n={n}");
        });
    }
}
