//! The catalog's API: root bootstrap, users, keys, buckets, error cases, and that every
//! mutation is on disk when it returns.

mod common;

use common::{dump, temp_dir};
use leofs_control::{Acl, Catalog, CatalogError, Role, DEFAULT_LOCATION, ROOT_USER};

#[test]
fn root_with_configured_credentials_is_idempotent_across_restarts() {
    let dir = temp_dir("root-env");
    let (id, secret) = ("MYROOTACCESSKEY", "my-root-secret/+=1234");
    let catalog = Catalog::open(&dir).unwrap();
    let (key, created) = catalog.ensure_root(Some(id), Some(secret)).unwrap();
    assert!(created);
    assert_eq!(
        (key.access_key_id.as_str(), key.secret.as_str()),
        (id, secret)
    );
    assert_eq!(key.user_id, ROOT_USER);
    let (_, root) = catalog.lookup_key(id).unwrap();
    assert_eq!(root.role, Role::Admin);
    drop(catalog);

    let catalog = Catalog::open(&dir).unwrap();
    let generation = catalog.generation();
    assert_eq!(
        catalog.ensure_root(Some(id), Some(secret)).unwrap(),
        (key.clone(), false)
    );
    assert_eq!(
        catalog.ensure_root(None, None).unwrap(),
        (key.clone(), false)
    );
    assert_eq!(
        catalog.generation(),
        generation,
        "a no-op restart must not write"
    );

    let err = catalog
        .ensure_root(Some(id), Some("another-secret"))
        .unwrap_err();
    assert!(matches!(err, CatalogError::RootKeyMismatch { .. }), "{err}");
    assert!(err.to_string().contains("secret for access key"), "{err}");
    let err = catalog
        .ensure_root(Some("OTHERKEYID"), Some(secret))
        .unwrap_err();
    assert!(
        err.to_string().contains(id) && !err.to_string().contains(secret),
        "{err}"
    );
    let err = catalog.ensure_root(Some(id), None).unwrap_err();
    assert!(matches!(err, CatalogError::Invalid(_)), "{err}");
    let err = catalog.ensure_root(None, Some(secret)).unwrap_err();
    assert!(matches!(err, CatalogError::Invalid(_)), "{err}");
    let err = catalog
        .ensure_root(Some("bad/id"), Some(secret))
        .unwrap_err();
    assert!(matches!(err, CatalogError::Invalid(_)), "{err}");
}

#[test]
fn root_with_generated_credentials() {
    let dir = temp_dir("root-gen");
    let catalog = Catalog::open(&dir).unwrap();
    let (key, created) = catalog.ensure_root(None, None).unwrap();
    assert!(created);
    assert_eq!(key.access_key_id.len(), 20);
    assert!(key.access_key_id.starts_with("LEO"));
    assert_eq!(key.secret.len(), 40);
    let again = Catalog::open(&dir)
        .unwrap()
        .ensure_root(None, None)
        .unwrap();
    assert_eq!(again, (key, false));
}

#[test]
fn users_and_keys() {
    let dir = temp_dir("users");
    let catalog = Catalog::open(&dir).unwrap();
    catalog.ensure_root(None, None).unwrap();
    let alice = catalog.create_user("alice", "Alice A.").unwrap();
    assert_eq!(alice.user_id, "alice");
    let (key, user) = catalog.lookup_key(&alice.access_key_id).unwrap();
    assert_eq!(
        (key, user.display_name.as_str(), user.role),
        (alice.clone(), "Alice A.", Role::Normal)
    );
    assert_eq!(catalog.user("alice").unwrap().id, "alice");
    assert_eq!(catalog.create_user("bob", "").unwrap().user_id, "bob");
    assert_eq!(catalog.user("bob").unwrap().display_name, "bob");
    let ids: Vec<String> = catalog.users().into_iter().map(|u| u.id).collect();
    assert_eq!(ids, ["alice", "bob", "root"]);

    let second = catalog.create_key("alice").unwrap();
    assert_ne!(second.access_key_id, alice.access_key_id);
    assert_eq!(catalog.keys_of("alice").unwrap().len(), 2);
    catalog.delete_key(&alice.access_key_id).unwrap();
    assert!(catalog.lookup_key(&alice.access_key_id).is_none());
    assert_eq!(catalog.keys_of("alice").unwrap(), vec![second.clone()]);

    let err = catalog.create_user("alice", "again").unwrap_err();
    assert!(
        matches!(err, CatalogError::UserAlreadyExists { .. }),
        "{err}"
    );
    for err in [
        catalog.create_key("nobody").unwrap_err(),
        catalog.keys_of("nobody").unwrap_err(),
        catalog.delete_user("nobody").unwrap_err(),
        catalog.set_role("nobody", Role::Admin).unwrap_err(),
    ] {
        assert!(
            matches!(&err, CatalogError::NoSuchUser { user } if user == "nobody"),
            "{err}"
        );
    }
    let err = catalog.delete_key("LEONOSUCHKEY").unwrap_err();
    assert!(matches!(err, CatalogError::NoSuchAccessKey { .. }), "{err}");
    for bad in ["", "a/b", "has space", &"x".repeat(65)] {
        let err = catalog.create_user(bad, "").unwrap_err();
        assert!(matches!(err, CatalogError::Invalid(_)), "{bad}: {err}");
    }
    assert!(matches!(
        catalog.create_user("carol", "a\u{0}b"),
        Err(CatalogError::Invalid(_))
    ));

    catalog.delete_user("alice").unwrap();
    assert!(catalog.user("alice").is_none());
    assert!(
        catalog.lookup_key(&second.access_key_id).is_none(),
        "keys go with their user"
    );
}

#[test]
fn the_last_admin_that_can_sign_in_is_protected() {
    let dir = temp_dir("admin");
    let catalog = Catalog::open(&dir).unwrap();
    let (root_key, _) = catalog.ensure_root(None, None).unwrap();
    let is_last_admin =
        |r: Result<_, CatalogError>| matches!(r, Err(CatalogError::LastAdmin { .. }));
    assert!(is_last_admin(catalog.delete_user(ROOT_USER)));
    assert!(is_last_admin(
        catalog.delete_key(&root_key.access_key_id).map(|_| ())
    ));
    assert!(is_last_admin(
        catalog.set_role(ROOT_USER, Role::Normal).map(|_| ())
    ));
    assert!(catalog.lookup_key(&root_key.access_key_id).is_some());

    // A second admin makes root removable.
    catalog
        .create_user_with_role("ops", "", Role::Admin)
        .unwrap();
    catalog.set_role(ROOT_USER, Role::Normal).unwrap();
    catalog.set_role(ROOT_USER, Role::Admin).unwrap();
    catalog.delete_user(ROOT_USER).unwrap();
    assert!(catalog.lookup_key(&root_key.access_key_id).is_none());
    let msg = catalog.delete_user("ops").unwrap_err().to_string();
    assert!(msg.contains("ops") && msg.contains("admin"), "{msg}");
}

#[test]
fn buckets() {
    let dir = temp_dir("buckets");
    let catalog = Catalog::open(&dir).unwrap();
    catalog.ensure_root(None, None).unwrap();
    catalog.create_user("alice", "").unwrap();
    let b = catalog
        .create_bucket("photos", "alice", Acl::Private, None)
        .unwrap();
    assert_eq!(
        (b.owner.as_str(), b.acl, b.location.as_str()),
        ("alice", Acl::Private, DEFAULT_LOCATION)
    );
    assert_eq!(
        catalog
            .create_bucket("logs", "alice", Acl::PublicRead, Some(""))
            .unwrap()
            .location,
        DEFAULT_LOCATION
    );
    catalog
        .create_bucket("eu-data", "root", Acl::Private, Some("eu-west-1"))
        .unwrap();
    assert_eq!(catalog.bucket("eu-data").unwrap().location, "eu-west-1");
    assert_eq!(catalog.bucket("photos"), Some(b));

    let names = |v: Vec<leofs_control::Bucket>| v.into_iter().map(|b| b.name).collect::<Vec<_>>();
    assert_eq!(names(catalog.buckets_of("alice")), ["logs", "photos"]);
    assert_eq!(names(catalog.all_buckets()), ["eu-data", "logs", "photos"]);
    assert!(catalog.buckets_of("nobody").is_empty());

    let err = catalog
        .create_bucket("photos", "alice", Acl::Private, None)
        .unwrap_err();
    assert!(
        matches!(err, CatalogError::BucketAlreadyOwnedByYou { .. }),
        "{err}"
    );
    let err = catalog
        .create_bucket("photos", "root", Acl::Private, None)
        .unwrap_err();
    assert!(
        matches!(err, CatalogError::BucketAlreadyExists { .. }),
        "{err}"
    );
    let err = catalog
        .create_bucket("x", "alice", Acl::Private, None)
        .unwrap_err();
    assert!(
        matches!(err, CatalogError::InvalidBucketName { .. }),
        "{err}"
    );
    let err = catalog
        .create_bucket("fine-name", "nobody", Acl::Private, None)
        .unwrap_err();
    assert!(matches!(err, CatalogError::NoSuchUser { .. }), "{err}");
    let err = catalog
        .create_bucket("fine-name", "alice", Acl::Private, Some("bad region"))
        .unwrap_err();
    assert!(matches!(err, CatalogError::Invalid(_)), "{err}");

    let generation = catalog.generation();
    assert_eq!(
        catalog.set_acl("photos", Acl::PublicReadWrite).unwrap().acl,
        Acl::PublicReadWrite
    );
    assert_eq!(catalog.generation(), generation + 1);
    catalog.set_acl("photos", Acl::PublicReadWrite).unwrap();
    assert_eq!(
        catalog.generation(),
        generation + 1,
        "an unchanged ACL writes nothing"
    );
    assert!(matches!(
        catalog.set_acl("nope", Acl::Private),
        Err(CatalogError::NoSuchBucket { .. })
    ));

    let err = catalog.delete_user("alice").unwrap_err();
    assert!(
        matches!(&err, CatalogError::UserOwnsBuckets { buckets, .. } if buckets == &["logs", "photos"])
    );
    assert!(err.to_string().contains("logs, photos"), "{err}");
    assert_eq!(catalog.delete_bucket("logs").unwrap().name, "logs");
    assert!(matches!(
        catalog.delete_bucket("logs"),
        Err(CatalogError::NoSuchBucket { .. })
    ));
    catalog.delete_bucket("photos").unwrap();
    catalog.delete_user("alice").unwrap();
    assert_eq!(names(catalog.all_buckets()), ["eu-data"]);
}

#[test]
fn every_mutation_is_durable_on_return() {
    let dir = temp_dir("durable");
    let catalog = Catalog::open(&dir).unwrap();
    assert_eq!(catalog.generation(), 0);
    let same_on_disk = |what: &str| {
        let reopened = Catalog::open(&dir).unwrap();
        assert_eq!(dump(&reopened), dump(&catalog), "after {what}");
    };
    let mut generation = 0;
    let mut step = |what: &str| {
        generation += 1;
        assert_eq!(
            catalog.generation(),
            generation,
            "{what} bumps the generation by one"
        );
        same_on_disk(what);
    };
    catalog.ensure_root(None, None).unwrap();
    step("ensure_root");
    let key = catalog.create_user("alice", "Alice").unwrap();
    step("create_user");
    catalog
        .create_user_with_role("ops", "Ops", Role::Admin)
        .unwrap();
    step("create_user_with_role");
    catalog.create_key("alice").unwrap();
    step("create_key");
    catalog.delete_key(&key.access_key_id).unwrap();
    step("delete_key");
    catalog.set_role("alice", Role::Admin).unwrap();
    step("set_role");
    catalog
        .create_bucket("alpha", "alice", Acl::PublicRead, Some("ap-south-1"))
        .unwrap();
    step("create_bucket");
    catalog.set_acl("alpha", Acl::Private).unwrap();
    step("set_acl");
    catalog.delete_bucket("alpha").unwrap();
    step("delete_bucket");
    catalog.delete_user("alice").unwrap();
    step("delete_user");
}

#[test]
fn clones_share_state() {
    let dir = temp_dir("clone");
    let a = Catalog::open(&dir).unwrap();
    let b = a.clone();
    a.create_user("alice", "").unwrap();
    assert!(b.user("alice").is_some());
    assert_eq!(b.path(), dir.join("catalog.db"));
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Catalog>();
}
