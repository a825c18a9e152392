//! Injected EIO and ENOSPC: a failed write or fsync poisons the shard (writes refused with
//! the reason, reads still served, nothing corrupted); a full disk at segment creation is
//! reported as NoSpace without poisoning.

use leofs_engine::disk::{Fault, FaultOp};
use leofs_engine::testing::{body_for, check_model, small_config};
use leofs_engine::{Error, ObjectMeta, SimDisk, Store};
use std::collections::BTreeMap;

fn meta(b: &[u8]) -> ObjectMeta {
    ObjectMeta { size: b.len() as u64, ..Default::default() }
}

async fn fill(store: &Store<SimDisk>, model: &mut BTreeMap<Vec<u8>, Vec<u8>>, n: u64) {
    for i in 0..n {
        let key = format!("b/k{i}").into_bytes();
        let body = body_for(i, 1, 700);
        store.put(&key, &meta(&body), body.clone()).await.unwrap();
        model.insert(key, body);
    }
}

#[test]
fn failed_write_or_fsync_poisons_the_shard() {
    for (op, errno) in [(FaultOp::Write, libc_eio()), (FaultOp::Sync, libc_eio()), (FaultOp::Write, libc_enospc())] {
        leofs_rt::block_on(async {
            let disk = SimDisk::new();
            let store = Store::open(disk.clone(), small_config()).await.unwrap();
            let mut model = BTreeMap::new();
            fill(&store, &mut model, 20).await;
            disk.set_fault(Some(Fault { op, after: 0, errno, sticky: false }));
            let err = store.put(b"b/new", &meta(b"x"), b"x".to_vec()).await.unwrap_err();
            assert!(matches!(err, Error::Poisoned(_)), "{op:?}: {err}");
            let why = store.poisoned().expect("poisoned");
            assert!(why.contains("failed"), "reason says what failed: {why}");
            // Later writes are refused even though the device works again.
            let err = store.put(b"b/other", &meta(b"y"), b"y".to_vec()).await.unwrap_err();
            assert!(matches!(err, Error::Poisoned(_)));
            assert!(matches!(store.delete(b"b/k1").await.unwrap_err(), Error::Poisoned(_)));
            // Reads keep working and return what was acknowledged.
            check_model(&store, &model).await.unwrap();
            drop(store);
            // Restarting on the same disk (no crash) loses nothing acknowledged. The record
            // whose fsync failed may be readable (it reached the page cache): unacknowledged,
            // but intact.
            let store = Store::open(disk.clone(), small_config()).await.unwrap();
            if let Some((_, b)) = store.get_all(b"b/new").await.unwrap() {
                assert_eq!(b, b"x");
                model.insert(b"b/new".to_vec(), b.clone());
            }
            check_model(&store, &model).await.unwrap();
        });
    }
}

#[test]
fn full_disk_at_segment_creation_is_reported_not_fatal() {
    leofs_rt::block_on(async {
        let disk = SimDisk::new();
        let store = Store::open(disk.clone(), small_config()).await.unwrap();
        let mut model = BTreeMap::new();
        disk.set_fault(Some(Fault { op: FaultOp::Allocate, after: 0, errno: libc_enospc(), sticky: true }));
        let mut saw_nospace = false;
        for i in 0..200u64 {
            let key = format!("b/k{i}").into_bytes();
            let body = body_for(i, 2, 900);
            match store.put(&key, &meta(&body), body.clone()).await {
                Ok(_) => {
                    model.insert(key, body);
                }
                Err(Error::NoSpace(_)) => {
                    saw_nospace = true;
                    break;
                }
                Err(e) => panic!("unexpected error {e}"),
            }
        }
        assert!(saw_nospace, "a full disk is reported as NoSpace");
        assert!(store.poisoned().is_none(), "ENOSPC before any write does not poison");
        check_model(&store, &model).await.unwrap();
        disk.set_fault(None);
        let body = body_for(999, 2, 900);
        store.put(b"b/after", &meta(&body), body.clone()).await.expect("writes resume once space is back");
        model.insert(b"b/after".to_vec(), body);
        check_model(&store, &model).await.unwrap();
    });
}

#[test]
fn corrupt_body_is_an_error_not_bad_data() {
    leofs_rt::block_on(async {
        let disk = SimDisk::new();
        let store = Store::open(disk.clone(), small_config()).await.unwrap();
        let body = body_for(1, 1, 3000);
        store.put(b"b/x", &meta(&body), body.clone()).await.unwrap();
        let e = store.stat(b"b/x").unwrap();
        // Flip a byte in the middle of the body.
        disk.corrupt(&leofs_engine::segment::file_name(e.loc.seg), e.loc.off as u64 + 200);
        let err = store.get_all(b"b/x").await.unwrap_err();
        assert!(matches!(err, Error::Corrupt(_)), "{err}");
    });
}

fn libc_eio() -> i32 {
    5
}
fn libc_enospc() -> i32 {
    28
}
