//! The catalog file under damage and concurrency: every corrupted byte and truncation is
//! detected, leftovers of interrupted writes are ignored, failed writes change nothing,
//! and readers never see a half-applied change.

mod common;

use std::fs;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;

use common::{dump, temp_dir};
use leofs_control::{Acl, Catalog, CatalogError};

/// A small but complete catalog: root, one user with a key, one bucket.
fn small_catalog(name: &str) -> (std::path::PathBuf, common::Dump) {
    let dir = temp_dir(name);
    let catalog = Catalog::open(&dir).unwrap();
    catalog
        .ensure_root(Some("ROOTKEY"), Some("rootsecret"))
        .unwrap();
    catalog.create_user("u", "U").unwrap();
    catalog
        .create_bucket("bkt", "u", Acl::PublicRead, None)
        .unwrap();
    let d = dump(&catalog);
    (dir, d)
}

fn expect_corrupt(dir: &std::path::Path, what: &str) -> String {
    match Catalog::open(dir) {
        Err(err @ CatalogError::Corrupt { .. }) => err.to_string(),
        Err(other) => panic!("{what}: expected Corrupt, got {other}"),
        Ok(_) => panic!("{what}: corruption not detected"),
    }
}

#[test]
fn every_flipped_byte_is_detected() {
    let (dir, _) = small_catalog("flip");
    let path = dir.join("catalog.db");
    let good = fs::read(&path).unwrap();
    assert!(
        good.len() > 100 && good.len() < 2000,
        "{} bytes",
        good.len()
    );
    for i in 0..good.len() {
        let mut bad = good.clone();
        bad[i] ^= 0x01;
        fs::write(&path, &bad).unwrap();
        let msg = expect_corrupt(&dir, &format!("flip at byte {i}"));
        assert!(msg.contains("catalog.db"), "{msg}");
    }
    fs::write(&path, &good).unwrap();
    Catalog::open(&dir).unwrap();
}

#[test]
fn truncation_and_garbage_are_detected() {
    let (dir, _) = small_catalog("trunc");
    let path = dir.join("catalog.db");
    let good = fs::read(&path).unwrap();
    for len in [
        0,
        1,
        8,
        31,
        32,
        33,
        good.len() / 2,
        good.len() - 8,
        good.len() - 1,
    ] {
        fs::write(&path, &good[..len]).unwrap();
        let msg = expect_corrupt(&dir, &format!("truncated to {len}"));
        assert!(msg.contains("truncated"), "{len}: {msg}");
    }
    let mut longer = good.clone();
    longer.extend_from_slice(b"junk");
    fs::write(&path, &longer).unwrap();
    expect_corrupt(&dir, "trailing bytes");
    fs::write(&path, b"this is not a catalog file at all, just some text").unwrap();
    assert!(expect_corrupt(&dir, "text").contains("magic"));
}

#[test]
fn a_leftover_tmp_file_is_ignored_and_removed() {
    let (dir, before) = small_catalog("tmp");
    let tmp = dir.join("catalog.db.tmp");
    fs::write(&tmp, b"LEOFSCAT half written").unwrap();
    let catalog = Catalog::open(&dir).unwrap();
    assert_eq!(dump(&catalog), before);
    assert!(!tmp.exists());

    // Without a catalog.db, a tmp file is not promoted: it was never committed.
    let empty = temp_dir("tmp-only");
    fs::write(
        empty.join("catalog.db.tmp"),
        fs::read(dir.join("catalog.db")).unwrap(),
    )
    .unwrap();
    let catalog = Catalog::open(&empty).unwrap();
    assert!(catalog.users().is_empty());
    assert_eq!(catalog.generation(), 0);
}

#[test]
fn a_failed_write_changes_nothing() {
    let (dir, before) = small_catalog("fail");
    let catalog = Catalog::open(&dir).unwrap();
    // A directory where the tmp file should go makes the write fail, even for root.
    fs::create_dir(dir.join("catalog.db.tmp")).unwrap();
    let err = catalog.create_user("v", "").unwrap_err();
    assert!(matches!(err, CatalogError::Io { .. }), "{err}");
    assert!(err.to_string().contains("catalog.db.tmp"), "{err}");
    assert!(catalog
        .create_bucket("other", "u", Acl::Private, None)
        .is_err());
    assert!(catalog.set_acl("bkt", Acl::Private).is_err());
    assert!(catalog.delete_bucket("bkt").is_err());
    assert_eq!(dump(&catalog), before, "memory unchanged");
    fs::remove_dir(dir.join("catalog.db.tmp")).unwrap();
    assert_eq!(
        dump(&Catalog::open(&dir).unwrap()),
        before,
        "disk unchanged"
    );

    // Same when the rename fails (catalog.db replaced by a directory).
    let (dir, before) = small_catalog("fail-rename");
    let catalog = Catalog::open(&dir).unwrap();
    fs::remove_file(dir.join("catalog.db")).unwrap();
    fs::create_dir(dir.join("catalog.db")).unwrap();
    fs::write(dir.join("catalog.db").join("x"), b"x").unwrap();
    let err = catalog.create_user("v", "").unwrap_err();
    assert!(
        matches!(
            err,
            CatalogError::Io {
                op: "rename over catalog.db",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(dump(&catalog), before);
    assert!(
        !dir.join("catalog.db.tmp").exists(),
        "the failed write's tmp is cleaned up"
    );
}

#[cfg(unix)]
#[test]
fn the_file_is_private_to_its_owner() {
    use std::os::unix::fs::PermissionsExt;
    let (dir, _) = small_catalog("mode");
    let mode = fs::metadata(dir.join("catalog.db"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
}

#[test]
fn readers_run_while_a_writer_mutates() {
    let dir = temp_dir("concurrent");
    let catalog = Catalog::open(&dir).unwrap();
    let (root, _) = catalog.ensure_root(None, None).unwrap();
    let done = AtomicBool::new(false);
    thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                let mut last_generation = 0;
                let mut rounds = 0u64;
                while !done.load(Ordering::Acquire) || rounds == 0 {
                    rounds += 1;
                    let (key, user) = catalog.lookup_key(&root.access_key_id).expect("root key");
                    assert_eq!((key.user_id.as_str(), user.id.as_str()), ("root", "root"));
                    let generation = catalog.generation();
                    assert!(generation >= last_generation, "generation went backwards");
                    last_generation = generation;
                    // Users are only ever added here, so every bucket's owner must exist and
                    // every listed user must have a working key.
                    for bucket in catalog.all_buckets() {
                        assert!(catalog.user(&bucket.owner).is_some(), "{}", bucket.owner);
                    }
                    for user in catalog.users() {
                        let keys = catalog.keys_of(&user.id).unwrap();
                        assert!(catalog.lookup_key(&keys[0].access_key_id).is_some());
                    }
                }
            });
        }
        s.spawn(|| {
            for i in 0..40 {
                let user = format!("user{i}");
                catalog.create_user(&user, "").unwrap();
                let bucket = format!("bucket-{i}");
                catalog
                    .create_bucket(&bucket, &user, Acl::Private, None)
                    .unwrap();
                catalog.set_acl(&bucket, Acl::PublicRead).unwrap();
            }
            done.store(true, Ordering::Release);
        });
    });
    assert_eq!(catalog.generation(), 1 + 3 * 40);
    assert_eq!(dump(&Catalog::open(&dir).unwrap()), dump(&catalog));
}
