use super::*;
use proptest::prelude::*;
use std::collections::HashSet;

fn member(id: &str, zone: &str, weight: u32) -> Member {
    Member {
        id: id.into(),
        rpc_addr: "10.0.0.1:9000".into(),
        shards: 4,
        zone: zone.into(),
        weight,
    }
}

fn cons(n: u8) -> Consistency {
    Consistency {
        n,
        w: 1,
        r: 1,
        d: 1,
    }
}

fn ring_of(n: u8, ids: &[&str]) -> Ring {
    let members = ids
        .iter()
        .map(|id| member(id, "", DEFAULT_WEIGHT))
        .collect();
    Ring::new(1, cons(n), false, members).unwrap()
}

/// Deterministic keys, realistic shape.
fn keys(count: usize) -> impl Iterator<Item = Vec<u8>> {
    (0..count).map(|i| format!("photos/2024/img-{i:08}.jpg").into_bytes())
}

/// The walk as specified, done naively over the sorted points: the oracle for
/// `preference_list_hash`.
fn naive_preference(ring: &Ring, hash: u64) -> Vec<usize> {
    let mut points: Vec<(u64, usize)> = Vec::new();
    let mut buf = Vec::new();
    for (idx, m) in ring.members().iter().enumerate() {
        for i in 0..m.weight {
            points.push((point_hash(&mut buf, &m.id, i), idx));
        }
    }
    points.sort();
    let n = usize::from(ring.consistency().n).min(ring.members().len());
    let start = points.iter().position(|p| p.0 >= hash).unwrap_or(0);
    let order: Vec<usize> = (0..points.len())
        .map(|k| points[(start + k) % points.len()].1)
        .collect();
    let mut out: Vec<usize> = Vec::new();
    if ring.distinct_zones() {
        for &m in &order {
            let zone = &ring.members()[m].zone;
            if out.len() < n && !out.iter().any(|&t| &ring.members()[t].zone == zone) {
                out.push(m);
            }
        }
    }
    for &m in &order {
        if out.len() < n && !out.contains(&m) {
            out.push(m);
        }
    }
    out
}

fn arb_member() -> impl Strategy<Value = Member> {
    (
        "[A-Za-z0-9._-]{1,16}",
        "[a-z0-9.-]{1,20}",
        1u16..=60000,
        1u16..=64,
        "[a-c]{0,2}",
        1u32..=300,
    )
        .prop_map(|(id, host, port, shards, zone, weight)| Member {
            id,
            rpc_addr: format!("{host}:{port}"),
            shards,
            zone,
            weight,
        })
}

fn arb_ring() -> impl Strategy<Value = Ring> {
    (
        proptest::collection::vec(arb_member(), 1..8),
        any::<u64>(),
        any::<bool>(),
        any::<[u8; 4]>(),
    )
        .prop_map(|(mut members, version, dz, [n, w, r, d])| {
            let mut seen = HashSet::new();
            members.retain(|m| seen.insert(m.id.clone()));
            let n = 1 + n % members.len().min(5) as u8;
            let c = Consistency {
                n,
                w: 1 + w % n,
                r: 1 + r % n,
                d: 1 + d % n,
            };
            Ring::new(version, c, dz, members).unwrap()
        })
}

#[test]
fn ring_is_send_sync_clone() {
    fn check<T: Send + Sync + Clone>() {}
    check::<Ring>();
}

#[test]
fn node_states_round_trip_and_serve() {
    for st in NodeState::ALL {
        assert_eq!(NodeState::parse(st.as_str()), Some(st));
        let json = serde_json::to_string(&st).unwrap();
        assert_eq!(json, format!("\"{}\"", st.as_str()));
        assert_eq!(serde_json::from_str::<NodeState>(&json).unwrap(), st);
    }
    assert_eq!(NodeState::parse("Running"), None);
    assert_eq!(NodeState::parse("reserved"), None);
    let serving: Vec<_> = NodeState::ALL.into_iter().filter(|s| s.serves()).collect();
    assert_eq!(serving, [NodeState::Running, NodeState::Restarted]);
}

#[test]
fn layout_matches_the_doc() {
    let ring = Ring::new(
        0x0102030405060708,
        Consistency {
            n: 2,
            w: 2,
            r: 1,
            d: 2,
        },
        true,
        vec![member("b", "z", 7), member("a", "", 168)],
    )
    .unwrap();
    let bytes = ring.encode();
    assert_eq!(&bytes[0..4], b"LFRG");
    assert_eq!(&bytes[4..8], &[1, 0, 0, 0]);
    assert_eq!(&bytes[8..16], &0x0102030405060708u64.to_le_bytes());
    assert_eq!(&bytes[16..24], &[2, 2, 1, 2, 1, 0, 0, 0]);
    assert_eq!(&bytes[24..28], &2u32.to_le_bytes());
    // member "a" first (sorted by id)
    let mut exp = Vec::new();
    exp.extend_from_slice(&[1, 0, b'a', 13, 0]);
    exp.extend_from_slice(b"10.0.0.1:9000");
    exp.extend_from_slice(&[4, 0, 0, 0, 168, 0, 0, 0]);
    exp.extend_from_slice(&[1, 0, b'b', 13, 0]);
    exp.extend_from_slice(b"10.0.0.1:9000");
    exp.extend_from_slice(&[4, 0, 1, 0, b'z', 7, 0, 0, 0]);
    assert_eq!(&bytes[28..bytes.len() - 8], &exp[..]);
    let sum = xxh3_64(&bytes[..bytes.len() - 8]);
    assert_eq!(&bytes[bytes.len() - 8..], &sum.to_le_bytes());
    assert_eq!(ring.checksum(), sum);
    assert_eq!(ring.points(), 175);
    // 28 + sum(12 + I + A + Z) + 8, as docs/format.md says.
    assert_eq!(bytes.len(), 28 + (12 + 1 + 13) + (12 + 1 + 13 + 1) + 8);
}

#[test]
fn points_are_set_in_stone() {
    // Spelled out independently of `point_hash`: changing the derivation moves data.
    let ring = Ring::new(1, cons(1), false, vec![member("storage-1", "", 3)]).unwrap();
    let mut expected: Vec<u64> = (0u8..3)
        .map(|i| xxh3_64(&[b"storage-1#".as_slice(), &[i, 0, 0, 0]].concat()))
        .collect();
    expected.sort_unstable();
    assert_eq!(ring.hashes, expected);
    assert_eq!(Ring::key_hash(b""), 0x2d06_8005_38d3_94c2);
}

#[test]
fn empty_ring() {
    let ring = Ring::empty();
    assert_eq!(ring.version(), 0);
    assert_eq!(
        ring.consistency(),
        Consistency {
            n: 1,
            w: 1,
            r: 1,
            d: 1
        }
    );
    assert!(ring.members().is_empty());
    assert!(ring.preference_list(b"k").is_empty());
    assert!(ring.ownership().is_empty());
    let bytes = ring.encode();
    assert_eq!(bytes.len(), HEADER_LEN + TRAILER_LEN);
    assert_eq!(Ring::decode(&bytes).unwrap(), ring);
    assert!(Ring::new(0, cons(1), false, vec![]).is_err());
}

#[test]
fn new_rejects_bad_input() {
    let ok = member("s1", "a", 168);
    let bad = |f: &dyn Fn(&mut Member)| {
        let mut m = ok.clone();
        f(&mut m);
        Ring::new(1, cons(1), false, vec![m]).unwrap_err()
    };
    assert!(bad(&|m| m.id.clear()).contains("length"));
    assert!(bad(&|m| m.id = "x".repeat(65)).contains("length"));
    assert!(bad(&|m| m.id = "a/b".into()).contains("allowed"));
    assert!(bad(&|m| m.zone = "a b".into()).contains("zone"));
    assert!(bad(&|m| m.shards = 0).contains("shards"));
    assert!(bad(&|m| m.shards = 1025).contains("shards"));
    assert!(bad(&|m| m.weight = 0).contains("weight"));
    assert!(bad(&|m| m.weight = 4097).contains("weight"));
    assert!(bad(&|m| m.rpc_addr = "host".into()).contains("rpc_addr"));
    assert!(bad(&|m| m.rpc_addr = ":80".into()).contains("rpc_addr"));
    assert!(bad(&|m| m.rpc_addr = "h:0".into()).contains("rpc_addr"));
    assert!(bad(&|m| m.rpc_addr = "h:+80".into()).contains("rpc_addr"));
    assert!(bad(&|m| m.rpc_addr = "h:65536".into()).contains("rpc_addr"));
    assert!(bad(&|m| m.rpc_addr = "h :80".into()).contains("rpc_addr"));
    assert!(bad(&|m| m.rpc_addr = "h:65534".into()).contains("65535"));
    // Boundaries that are fine.
    let mut m = ok.clone();
    m.rpc_addr = "[::1]:65532".into();
    m.weight = 4096;
    m.shards = 4;
    m.id = "A-z_0.9".into();
    m.zone = String::new();
    Ring::new(1, cons(1), false, vec![m]).unwrap();

    let dup = Ring::new(1, cons(1), false, vec![ok.clone(), ok.clone()]).unwrap_err();
    assert!(dup.contains("twice"), "{dup}");
    let two = vec![ok.clone(), member("s2", "b", 1)];
    let e = Ring::new(1, cons(3), false, two.clone()).unwrap_err();
    assert!(e.contains("n = 3") && e.contains("has 2"), "{e}");
    let e = Ring::new(
        1,
        Consistency {
            n: 2,
            w: 3,
            r: 1,
            d: 1,
        },
        false,
        two.clone(),
    )
    .unwrap_err();
    assert!(e.contains("w (write quorum) = 3 exceeds n = 2"), "{e}");
    let e = Ring::new(
        1,
        Consistency {
            n: 2,
            w: 1,
            r: 0,
            d: 1,
        },
        false,
        two.clone(),
    )
    .unwrap_err();
    assert!(e.contains("r (read quorum)"), "{e}");
    let e = Ring::new(
        1,
        Consistency {
            n: 0,
            w: 0,
            r: 0,
            d: 0,
        },
        false,
        two,
    )
    .unwrap_err();
    assert!(e.contains("n (replicas)"), "{e}");
    assert!(cons(1).validate(0).is_err());
}

#[test]
fn shard_addr() {
    let m = member("s1", "", 1);
    assert_eq!(m.shard_addr(0).as_deref(), Some("10.0.0.1:9000"));
    assert_eq!(m.shard_addr(3).as_deref(), Some("10.0.0.1:9003"));
    assert_eq!(m.shard_addr(4), None);
}

#[test]
fn lookup_by_id() {
    let ring = ring_of(2, &["storage-3", "storage-1", "storage-2"]);
    let ids: Vec<_> = ring.members().iter().map(|m| m.id.as_str()).collect();
    assert_eq!(ids, ["storage-1", "storage-2", "storage-3"]);
    assert_eq!(ring.member("storage-2").unwrap().id, "storage-2");
    assert_eq!(ring.member_index("storage-3"), Some(2));
    assert!(ring.member("storage-4").is_none());
}

#[test]
fn checksum_tracks_every_field_and_ignores_order() {
    let base = vec![
        member("s1", "a", 168),
        member("s2", "b", 168),
        member("s3", "c", 168),
    ];
    let make = |ms: Vec<Member>, c: Consistency, dz: bool| Ring::new(7, c, dz, ms).unwrap();
    let c = Consistency {
        n: 3,
        w: 2,
        r: 1,
        d: 2,
    };
    let ring = make(base.clone(), c, false);

    let mut rev = base.clone();
    rev.reverse();
    let same = make(rev, c, false);
    assert_eq!(same.checksum(), ring.checksum());
    assert_eq!(same.encode(), ring.encode());
    assert_eq!(same, ring);

    let mut variants: Vec<Ring> = Vec::new();
    let mut more = base.clone();
    more.push(member("s4", "a", 168));
    variants.push(make(more, c, false));
    let mut other = base.clone();
    other[1].id = "s2x".into();
    variants.push(make(other, c, false));
    for f in [
        |m: &mut Member| m.weight = 169,
        |m: &mut Member| m.zone = "d".into(),
        |m: &mut Member| m.shards = 5,
        |m: &mut Member| m.rpc_addr = "10.0.0.2:9000".into(),
    ] {
        let mut ms = base.clone();
        f(&mut ms[2]);
        variants.push(make(ms, c, false));
    }
    variants.push(make(base.clone(), Consistency { w: 3, ..c }, false));
    variants.push(make(base.clone(), Consistency { r: 2, ..c }, false));
    variants.push(make(base.clone(), Consistency { d: 1, ..c }, false));
    variants.push(make(
        base.clone(),
        Consistency {
            n: 2,
            w: 2,
            r: 1,
            d: 2,
        },
        false,
    ));
    variants.push(make(base.clone(), c, true));
    variants.push(Ring::new(8, c, false, base.clone()).unwrap());
    let mut sums: HashSet<u64> = variants.iter().map(|r| r.checksum()).collect();
    assert_eq!(sums.len(), variants.len(), "two variants share a checksum");
    assert!(
        sums.insert(ring.checksum()),
        "a variant has the base checksum"
    );
    for v in &variants {
        assert_ne!(v, &ring);
    }
}

#[test]
fn preference_lists_are_distinct_and_deterministic() {
    for (n, count) in [(1u8, 1usize), (1, 5), (3, 3), (3, 5), (5, 5)] {
        let ids: Vec<String> = (0..count).map(|i| format!("storage-{i}")).collect();
        let id_refs: Vec<&str> = ids.iter().map(|s| s.as_str()).collect();
        let ring = ring_of(n, &id_refs);
        let again = ring_of(n, &id_refs);
        for key in keys(2000) {
            let list = ring.preference_list(&key);
            assert_eq!(list.len(), usize::from(n).min(count));
            let set: HashSet<_> = list.iter().collect();
            assert_eq!(set.len(), list.len(), "duplicate member in {list:?}");
            assert!(list.iter().all(|&m| m < count));
            assert_eq!(list, again.preference_list(&key));
            assert_eq!(list, ring.preference_list_hash(Ring::key_hash(&key)));
        }
    }
}

#[test]
fn preference_list_matches_the_naive_walk() {
    let mut ms = vec![
        member("s1", "a", 40),
        member("s2", "a", 3),
        member("s3", "b", 17),
        member("s4", "c", 1),
        member("s5", "b", 60),
    ];
    for dz in [false, true] {
        for n in 1..=5 {
            let ring = Ring::new(1, cons(n), dz, ms.clone()).unwrap();
            let mut hashes: Vec<u64> = keys(3000).map(|k| Ring::key_hash(&k)).collect();
            // Exactly on points, just past them, and both ends of the space.
            hashes.extend(ring.hashes.iter().flat_map(|&h| [h, h.wrapping_add(1)]));
            hashes.extend([0, u64::MAX]);
            for h in hashes {
                assert_eq!(
                    ring.preference_list_hash(h),
                    naive_preference(&ring, h),
                    "h={h:x} n={n} dz={dz}"
                );
            }
        }
    }
    // A hash past the last point wraps to the first.
    ms.truncate(2);
    let ring = Ring::new(1, cons(1), false, ms).unwrap();
    let last = *ring.hashes.last().unwrap();
    let first_owner = usize::from(ring.owners[0]);
    if last < u64::MAX {
        assert_eq!(ring.preference_list_hash(last + 1), vec![first_owner]);
    }
    assert_eq!(ring.preference_list_hash(ring.hashes[0]), vec![first_owner]);
}

#[test]
fn balance_three_members() {
    let ring = ring_of(3, &["storage-1", "storage-2", "storage-3"]);
    let total = 100_000;
    let mut primary = [0usize; 3];
    for key in keys(total) {
        let list = ring.preference_list(&key);
        primary[list[0]] += 1;
        let mut sorted = list.clone();
        sorted.sort();
        assert_eq!(sorted, [0, 1, 2]);
    }
    let own = ring.ownership();
    for (m, &c) in primary.iter().enumerate() {
        let frac = c as f64 / total as f64;
        assert!(
            (frac - 1.0 / 3.0).abs() <= 0.06,
            "member {m} is primary for {frac}"
        );
        // The measured share agrees with the computed arc lengths.
        assert!(
            (frac - own[m]).abs() <= 0.01,
            "member {m}: {frac} vs ownership {}",
            own[m]
        );
    }
}

#[test]
fn balance_five_members_three_replicas() {
    let ring = ring_of(
        3,
        &[
            "storage-1",
            "storage-2",
            "storage-3",
            "storage-4",
            "storage-5",
        ],
    );
    let total = 100_000;
    let mut seen = [0usize; 5];
    let mut primary = [0usize; 5];
    for key in keys(total) {
        let list = ring.preference_list(&key);
        primary[list[0]] += 1;
        for m in list {
            seen[m] += 1;
        }
    }
    for m in 0..5 {
        let frac = seen[m] as f64 / total as f64;
        assert!(
            (frac - 0.6).abs() <= 0.08,
            "member {m} is in {frac} of the lists"
        );
        let p = primary[m] as f64 / total as f64;
        assert!((p - 0.2).abs() <= 0.06, "member {m} is primary for {p}");
    }
}

#[test]
fn adding_a_member_moves_only_keys_it_takes() {
    let old = ring_of(1, &["storage-1", "storage-2", "storage-3"]);
    let new = ring_of(1, &["storage-1", "storage-2", "storage-3", "storage-4"]);
    let total = 100_000;
    let mut moved = 0;
    for key in keys(total) {
        let before = &old.members()[old.preference_list(&key)[0]].id;
        let after = &new.members()[new.preference_list(&key)[0]].id;
        if before != after {
            assert_eq!(after, "storage-4", "a key moved from {before} to {after}");
            moved += 1;
        }
    }
    let frac = moved as f64 / total as f64;
    assert!((frac - 0.25).abs() <= 0.07, "{frac} of the keys moved");
}

#[test]
fn adding_a_member_keeps_old_replicas_in_order() {
    // With N = 3, a key's new list is its old list with the new member inserted
    // somewhere (and the last old member dropped when it is pushed out).
    let old = ring_of(3, &["storage-1", "storage-2", "storage-3", "storage-4"]);
    let new = ring_of(
        3,
        &[
            "storage-1",
            "storage-2",
            "storage-3",
            "storage-4",
            "storage-5",
        ],
    );
    for key in keys(20_000) {
        let ids = |r: &Ring| -> Vec<String> {
            r.preference_list(&key)
                .iter()
                .map(|&i| r.members()[i].id.clone())
                .collect()
        };
        let (before, after) = (ids(&old), ids(&new));
        let kept: Vec<_> = after
            .iter()
            .filter(|id| *id != "storage-5")
            .cloned()
            .collect();
        assert_eq!(kept[..], before[..kept.len()], "{before:?} -> {after:?}");
    }
}

#[test]
fn distinct_zones_spread_replicas() {
    let ms = vec![
        member("s1", "a", 168),
        member("s2", "a", 168),
        member("s3", "b", 168),
        member("s4", "c", 168),
    ];
    let ring = Ring::new(1, cons(3), true, ms.clone()).unwrap();
    let plain = Ring::new(1, cons(3), false, ms).unwrap();
    let mut plain_collisions = 0;
    for key in keys(20_000) {
        let list = ring.preference_list(&key);
        assert_eq!(list.len(), 3);
        let zones: HashSet<_> = list.iter().map(|&m| &ring.members()[m].zone).collect();
        assert_eq!(zones.len(), 3, "{list:?}");
        // The primary does not depend on zones.
        let pl = plain.preference_list(&key);
        assert_eq!(pl[0], list[0]);
        let pz: HashSet<_> = pl.iter().map(|&m| &plain.members()[m].zone).collect();
        plain_collisions += usize::from(pz.len() < 3);
    }
    // Without the option the walk does put two replicas in zone a (so the test above
    // exercises the zone rule).
    assert!(plain_collisions > 1000, "{plain_collisions}");
}

#[test]
fn distinct_zones_with_fewer_zones_than_replicas() {
    let ms = vec![
        member("s1", "a", 168),
        member("s2", "a", 168),
        member("s3", "b", 168),
    ];
    let ring = Ring::new(1, cons(3), true, ms).unwrap();
    for key in keys(5000) {
        let list = ring.preference_list(&key);
        assert_eq!(list.len(), 3);
        let z = |i: usize| ring.members()[list[i]].zone.as_str();
        assert_ne!(
            z(0),
            z(1),
            "the first two replicas span both zones: {list:?}"
        );
    }
}

#[test]
fn ownership_sums_to_one() {
    let rings = [
        ring_of(1, &["only"]),
        ring_of(2, &["a", "b"]),
        ring_of(
            3,
            &[
                "storage-1",
                "storage-2",
                "storage-3",
                "storage-4",
                "storage-5",
            ],
        ),
        Ring::new(1, cons(1), false, vec![member("x", "", 1)]).unwrap(),
        Ring::new(
            1,
            cons(1),
            false,
            vec![member("x", "", 1), member("y", "", 4096)],
        )
        .unwrap(),
    ];
    for ring in rings {
        let own = ring.ownership();
        assert_eq!(own.len(), ring.members().len());
        let sum: f64 = own.iter().sum();
        assert!((sum - 1.0).abs() <= 1e-9, "sum {sum}");
        assert!(own.iter().all(|&f| (0.0..=1.0).contains(&f)));
    }
    assert_eq!(ring_of(1, &["only"]).ownership(), vec![1.0]);
}

#[test]
fn decode_rejects_non_canonical_bodies() {
    // Re-checksummed edits that only canonicality and range checks can catch.
    let ring = Ring::new(
        1,
        cons(2),
        false,
        vec![member("a", "", 3), member("b", "", 3)],
    )
    .unwrap();
    let reseal = |mut body: Vec<u8>| {
        body.truncate(body.len() - 8);
        let sum = xxh3_64(&body);
        body.extend_from_slice(&sum.to_le_bytes());
        Ring::decode(&body)
    };
    let bytes = ring.encode();
    assert_eq!(reseal(bytes.clone()).unwrap(), ring);
    // Members swapped.
    // Member "a" is 2+1 + 2+13 + 2 + 2+0 + 4 = 26 bytes.
    let body = ring.encode_body();
    let (a, b) = (&body[28..54], &body[54..]);
    let mut swapped = body[..28].to_vec();
    swapped.extend_from_slice(b);
    swapped.extend_from_slice(a);
    swapped.extend_from_slice(&[0; 8]);
    assert!(reseal(swapped).unwrap_err().contains("strictly increasing"));
    let edit = |at: usize, v: u8| {
        let mut e = bytes.clone();
        e[at] = v;
        reseal(e).unwrap_err()
    };
    assert!(edit(6, 1).contains("reserved"));
    assert!(edit(20, 2).contains("distinct_zones"));
    assert!(edit(22, 1).contains("reserved"));
    assert!(edit(16, 3).contains("n = 3"));
    assert!(edit(17, 3).contains("exceeds n"));
    assert!(edit(24, 3).contains("past the end"));
    assert!(edit(24, 1).contains("unexpected bytes"));
    // Trailing garbage after a valid encoding.
    let mut long = bytes.clone();
    long.splice(long.len() - 8..long.len() - 8, [0u8]);
    assert!(reseal(long).unwrap_err().contains("unexpected"));
    // An empty ring with other quorums.
    let mut e = Ring::empty().encode();
    e[16] = 2;
    assert!(reseal(e).unwrap_err().contains("empty ring"));
    // Wrong magic and version.
    let mut e = bytes.clone();
    e[0] = b'X';
    assert!(Ring::decode(&e).unwrap_err().contains("magic"));
    let mut e = bytes.clone();
    e[4] = 2;
    assert!(Ring::decode(&e).unwrap_err().contains("format version 2"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip(ring in arb_ring()) {
        let bytes = ring.encode();
        let back = Ring::decode(&bytes).unwrap();
        prop_assert_eq!(&back, &ring);
        prop_assert_eq!(back.encode(), bytes.clone());
        prop_assert_eq!(back.checksum(), ring.checksum());
        prop_assert_eq!(&bytes[bytes.len() - 8..], &ring.checksum().to_le_bytes()[..]);
        prop_assert_eq!(back.hashes.clone(), ring.hashes.clone());
        prop_assert_eq!(back.owners.clone(), ring.owners.clone());
        // Members given in another order build the same ring.
        let mut ms = ring.members().to_vec();
        ms.reverse();
        let again = Ring::new(ring.version(), ring.consistency(), ring.distinct_zones(), ms).unwrap();
        prop_assert_eq!(again.encode(), bytes);
    }

    #[test]
    fn any_flipped_byte_fails(ring in arb_ring(), mask in 1u8..=255) {
        let bytes = ring.encode();
        for at in 0..bytes.len() {
            let mut bad = bytes.clone();
            bad[at] ^= mask;
            prop_assert!(Ring::decode(&bad).is_err(), "flip at {} accepted", at);
        }
    }

    #[test]
    fn truncation_fails(ring in arb_ring()) {
        let bytes = ring.encode();
        for len in 0..bytes.len() {
            prop_assert!(Ring::decode(&bytes[..len]).is_err(), "prefix of {} accepted", len);
        }
    }

    #[test]
    fn resealed_garbage_never_panics(ring in arb_ring(), at in any::<prop::sample::Index>(), v in any::<u8>()) {
        // A body edit with a valid checksum passes the checksum: only the parser's own
        // checks stand between it and a panic or a non-canonical ring.
        let mut body = ring.encode();
        body.truncate(body.len() - 8);
        let i = at.index(body.len());
        body[i] = v;
        let sum = xxh3_64(&body);
        body.extend_from_slice(&sum.to_le_bytes());
        if let Ok(r) = Ring::decode(&body) {
            prop_assert_eq!(r.encode(), body);
        }
    }

    #[test]
    fn decode_random_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let _ = Ring::decode(&bytes);
    }

    #[test]
    fn lists_match_naive_walk(ring in arb_ring(), hashes in proptest::collection::vec(any::<u64>(), 1..50)) {
        for h in hashes {
            prop_assert_eq!(ring.preference_list_hash(h), naive_preference(&ring, h));
        }
        let sum: f64 = ring.ownership().iter().sum();
        prop_assert!((sum - 1.0).abs() <= 1e-9);
    }
}
