use super::*;

fn storage(id: &str, port: u16) -> NodeInfo {
    NodeInfo {
        id: id.into(),
        role: NodeRole::Storage,
        rpc_addr: format!("127.0.0.1:{port}"),
        shards: 2,
        zone: String::new(),
        weight: DEFAULT_WEIGHT,
        s3_addr: String::new(),
        admin_addr: String::new(),
        version: "test".into(),
    }
}

fn hb(info: &NodeInfo, ring: u64) -> Heartbeat {
    Heartbeat {
        node: info.clone(),
        ring_checksum: ring,
        catalog_generation: 0,
        mq: BTreeMap::new(),
        objects: 0,
        rebalanced: 0,
        rebalance_pending: 0,
        bucket_deletes: BTreeMap::new(),
    }
}

fn started() -> (Cluster, Vec<NodeInfo>) {
    let mut c = Cluster::default();
    let nodes: Vec<_> = (0..3)
        .map(|i| storage(&format!("s{i}"), 14000 + i * 10))
        .collect();
    for n in &nodes {
        c.heartbeat(hb(n, 0), 0);
    }
    assert!(c.members.values().all(|m| m.state == NodeState::Attached));
    c.start().unwrap();
    (c, nodes)
}

/// A started cluster of s0..s2 whose nodes agree on the RING, and s3 joined as attached.
fn started_with_one_attached() -> (Cluster, Vec<NodeInfo>, NodeInfo) {
    let (mut c, nodes) = started();
    let sum = c.ring_checksum();
    for n in &nodes {
        c.heartbeat(hb(n, sum), 0);
    }
    let s3 = storage("s3", 14030);
    c.heartbeat(hb(&s3, 0), 0);
    (c, nodes, s3)
}

#[test]
fn start_needs_n_attached_nodes_and_makes_them_running() {
    let mut c = Cluster::default();
    c.heartbeat(hb(&storage("a", 1), 0), 0);
    assert!(c.start().unwrap_err().0.contains("N = 3"));
    let (c, _) = started();
    assert!(c.members.values().all(|m| m.state == NodeState::Running));
    assert_eq!(c.ring.as_ref().unwrap().members().len(), 3);
}

#[test]
fn heartbeat_sends_the_ring_only_to_nodes_that_differ() {
    let (mut c, nodes) = started();
    let sum = c.ring_checksum();
    let (r, _) = c.heartbeat(hb(&nodes[0], 0), 10);
    let bytes = hex::decode(r.ring.unwrap()).unwrap();
    assert_eq!(Ring::decode(&bytes).unwrap().checksum(), sum);
    let (r, _) = c.heartbeat(hb(&nodes[0], sum), 20);
    assert!(r.ring.is_none());
    assert_eq!(c.stale_nodes(), vec!["s1".to_string(), "s2".to_string()]);
}

#[test]
fn silent_node_stops_then_returns_to_running_once_repairs_drain() {
    let (mut c, nodes) = started();
    let sum = c.ring_checksum();
    for n in &nodes {
        c.heartbeat(hb(n, sum), 0);
    }
    c.heartbeat(hb(&nodes[0], sum), 2_000);
    c.heartbeat(hb(&nodes[1], sum), 2_000);
    assert!(c.tick(3_500));
    assert_eq!(c.members["s2"].state, NodeState::Stop);
    assert_eq!(c.members["s0"].state, NodeState::Running);
    // s0 holds repairs for s2 while s2 comes back.
    let mut h0 = hb(&nodes[0], sum);
    h0.mq.insert("s2".into(), 5);
    c.heartbeat(h0, 4_000);
    c.heartbeat(hb(&nodes[2], sum), 4_000);
    assert_eq!(c.members["s2"].state, NodeState::Restarted);
    c.heartbeat(hb(&nodes[2], sum), 4_500);
    assert_eq!(c.members["s2"].state, NodeState::Restarted);
    c.heartbeat(hb(&nodes[0], sum), 5_000);
    c.heartbeat(hb(&nodes[2], sum), 5_000);
    assert_eq!(c.members["s2"].state, NodeState::Running);
}

#[test]
fn consistency_change_is_refused_while_checksums_disagree() {
    let (mut c, nodes) = started();
    let sum = c.ring_checksum();
    c.heartbeat(hb(&nodes[0], sum), 0);
    let w1 = Consistency {
        n: 3,
        w: 1,
        r: 1,
        d: 1,
    };
    assert!(c.set_consistency(w1).unwrap_err().0.contains("disagree"));
    for n in &nodes {
        c.heartbeat(hb(n, sum), 0);
    }
    c.set_consistency(w1).unwrap();
    assert_ne!(c.ring_checksum(), sum);
    assert_eq!(c.previous.as_ref().unwrap().checksum(), sum);
    assert!(c
        .set_consistency(Consistency {
            n: 2,
            w: 1,
            r: 1,
            d: 1
        })
        .is_err());
}

#[test]
fn rebalance_adds_attached_drops_detached_and_completes_when_all_handed_over() {
    let (mut c, nodes, s3) = started_with_one_attached();
    assert_eq!(c.members["s3"].state, NodeState::Attached);
    assert!(matches!(c.detach("s0", 0), Ok(false)));
    assert!(c.detach("s1", 0).unwrap_err().0.contains("fewer than N"));
    let v = c.rebalance().unwrap().version();
    assert_eq!(v, 2);
    assert!(c.rebalancing && c.previous.is_some());
    let ids: Vec<String> = c.ring.as_ref().unwrap().members().iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids, ["s1", "s2", "s3"]);
    assert!(c.rebalance().is_err(), "one at a time");
    let sum2 = c.ring_checksum();
    let done = |n: &NodeInfo, v: u64| Heartbeat { rebalanced: v, ..hb(n, sum2) };
    let (reply, _) = c.heartbeat(done(&nodes[0], 2), 10);
    assert!(reply.rebalancing && reply.previous.is_some());
    c.heartbeat(done(&nodes[1], 2), 10);
    c.heartbeat(done(&nodes[2], 2), 10);
    assert_eq!(c.rebalance_progress(), Some((3, 4, 0)));
    assert!(c.rebalancing);
    c.heartbeat(done(&s3, 2), 10);
    assert!(!c.rebalancing && c.previous.is_none());
    let (reply, _) = c.heartbeat(hb(&nodes[0], sum2), 20);
    assert!(!reply.rebalancing && reply.previous.is_none());
}

#[test]
fn state_round_trips_through_json() {
    let (mut c, _) = started();
    c.suspend("s1").unwrap();
    let back = Cluster::from_json(&c.to_json(), 99).unwrap();
    assert_eq!(back.ring_checksum(), c.ring_checksum());
    assert_eq!(back.members["s1"].state, NodeState::Suspend);
    assert_eq!(back.members["s0"].last_seen_ms, 99);
    assert!(Cluster::from_json(b"{}", 0).is_err());
}

#[test]
fn takeover_of_a_dead_node_replaces_it_without_waiting_for_it() {
    let (mut c, nodes) = started();
    let sum = c.ring_checksum();
    for n in &nodes {
        c.heartbeat(hb(n, sum), 0);
    }
    // s2 dies: silent, marked stop.
    c.heartbeat(hb(&nodes[0], sum), 3_000);
    c.heartbeat(hb(&nodes[1], sum), 3_000);
    assert!(c.tick(3_500));
    assert_eq!(c.members["s2"].state, NodeState::Stop);
    let s3 = storage("s3", 14030);
    assert!(c.takeover("s2", "s3").unwrap_err().0.contains("attached"), "s3 has not joined yet");
    c.heartbeat(hb(&s3, 0), 3_500);
    assert!(c.takeover("s9", "s3").unwrap_err().0.contains("not in the RING"));
    assert!(c.takeover("s2", "s0").unwrap_err().0.contains("attached"));
    assert_eq!(c.takeover("s2", "s3").unwrap().version(), 2);
    let ids: Vec<String> = c.ring.as_ref().unwrap().members().iter().map(|m| m.id.clone()).collect();
    assert_eq!(ids, ["s0", "s1", "s3"]);
    // The dead node stays stop (it serves nothing, its peers hand over in its place); the
    // new one runs at once.
    assert_eq!(c.members["s2"].state, NodeState::Stop);
    assert_eq!(c.members["s3"].state, NodeState::Running);
    for n in [&nodes[0], &nodes[1], &s3] {
        c.heartbeat(hb(n, c.ring_checksum()), 3_550);
    }
    assert!(c.takeover("s1", "s3").unwrap_err().0.contains("already running"));
    // Survives a manager restart.
    let mut c = Cluster::from_json(&c.to_json(), 3_600).unwrap();
    assert!(c.retiring.contains("s2"));
    let sum2 = c.ring_checksum();
    let done = |n: &NodeInfo, v: u64| Heartbeat { rebalanced: v, ..hb(n, sum2) };
    c.heartbeat(done(&nodes[0], 2), 4_000);
    c.heartbeat(done(&nodes[1], 2), 4_000);
    assert_eq!(c.rebalance_progress(), Some((2, 3, 0)), "the dead node is not waited for");
    c.heartbeat(done(&s3, 2), 4_000);
    assert!(!c.rebalancing && c.previous.is_none());
    assert!(!c.members.contains_key("s2"), "the dead node is gone");
    assert!(c.retiring.is_empty());
    assert!(!String::from_utf8(c.to_json()).unwrap().contains("retiring"));
}

#[test]
fn takeover_of_a_live_node_waits_for_its_hand_over_unless_it_dies() {
    let (mut c, nodes) = started();
    let sum = c.ring_checksum();
    let s3 = storage("s3", 14030);
    for n in &nodes {
        c.heartbeat(hb(n, sum), 0);
    }
    c.heartbeat(hb(&s3, 0), 0);
    c.takeover("s0", "s3").unwrap();
    assert_eq!(c.members["s0"].state, NodeState::Detached, "alive: it serves until handed over");
    let sum2 = c.ring_checksum();
    let done = |n: &NodeInfo, v: u64| Heartbeat { rebalanced: v, ..hb(n, sum2) };
    for n in [&nodes[1], &nodes[2], &s3] {
        c.heartbeat(done(n, 2), 1_000);
    }
    c.heartbeat(hb(&nodes[0], sum2), 1_000);
    assert_eq!(c.rebalance_progress(), Some((3, 4, 0)));
    assert!(c.rebalancing, "waits for s0's hand-over");
    // Handed over and still alive: it stays, detached (it drops its copies).
    let mut alive = c.clone();
    alive.heartbeat(done(&nodes[0], 2), 1_100);
    assert!(!alive.rebalancing);
    assert_eq!(alive.members["s0"].state, NodeState::Detached);
    assert!(alive.retiring.is_empty());
    // s0 falls silent: given up.
    for n in [&nodes[1], &nodes[2], &s3] {
        c.heartbeat(done(n, 2), 4_000);
    }
    assert!(c.tick(4_100));
    assert_eq!(c.members["s0"].state, NodeState::Stop);
    c.heartbeat(done(&s3, 2), 4_200);
    assert!(!c.rebalancing);
    assert!(!c.members.contains_key("s0"));
    // A detach is not a takeover: a silent detached node is still waited for.
    let (mut c, nodes) = started();
    for n in &nodes {
        c.heartbeat(hb(n, sum), 0);
    }
    c.heartbeat(hb(&s3, 0), 0);
    c.detach("s0", 0).unwrap();
    c.rebalance().unwrap();
    c.tick(10_000);
    assert_eq!(c.members["s0"].state, NodeState::Detached);
}

/// A node that dies while a rebalance waits for it is given up by `detach`: the RING being
/// rebalanced to loses it, the rebalance stops waiting for it, and it leaves the members
/// once the others have handed over. A live node cannot be detached mid-rebalance.
#[test]
fn a_node_down_during_a_rebalance_is_given_up_by_detach() {
    let (mut c, nodes, s3) = started_with_one_attached();
    assert_eq!(c.rebalance().unwrap().version(), 2);
    assert!(c.detach("s1", 0).unwrap_err().0.contains("only a node that is down"), "s1 is alive");
    // s1 falls silent; the others hand over to version 2, and the rebalance still waits.
    let report = |c: &mut Cluster, n: &NodeInfo, version: u64, now_ms: i64| {
        let mut h = hb(n, c.ring_checksum());
        h.rebalanced = version;
        c.heartbeat(h, now_ms);
    };
    for n in [&nodes[0], &nodes[2], &s3] {
        report(&mut c, n, 2, 5_000);
    }
    c.tick(5_000);
    assert_eq!(c.members["s1"].state, NodeState::Stop);
    assert!(c.rebalancing, "a stopped node is waited for");
    assert!(matches!(c.detach("s1", 5_000), Ok(true)));
    let ring = c.ring.as_ref().unwrap();
    let ids: Vec<&str> = ring.members().iter().map(|m| m.id.as_str()).collect();
    assert_eq!((ring.version(), ids), (3, vec!["s0", "s2", "s3"]));
    assert!(c.rebalancing, "the others hand over again, to version 3");
    for n in [&nodes[0], &nodes[2], &s3] {
        report(&mut c, n, 3, 5_500);
    }
    assert!(!c.rebalancing && c.previous.is_none());
    assert!(!c.members.contains_key("s1"), "given up: gone with the rebalance");
    assert!(c.detach("s1", 5_500).unwrap_err().0.contains("not in the RING"));

    // A detached node that falls silent mid-rebalance stays detached (it is waited for),
    // and can be given up the same way once silent long enough.
    let (mut c, nodes, s3) = started_with_one_attached();
    c.detach("s0", 0).unwrap();
    c.rebalance().unwrap();
    for n in [&nodes[1], &nodes[2], &s3] {
        report(&mut c, n, 2, 5_000);
    }
    c.tick(5_000);
    assert_eq!(c.members["s0"].state, NodeState::Detached);
    assert!(c.rebalancing, "a silent detached node is waited for");
    assert!(c.detach("s0", 2_000).unwrap_err().0.contains("only a node that is down"), "not silent long enough");
    assert!(matches!(c.detach("s0", 5_000), Ok(true)));
    assert_eq!(c.ring.as_ref().unwrap().version(), 2, "s0 was not in the target RING: no new version");
    report(&mut c, &nodes[1], 2, 5_100);
    assert!(!c.rebalancing && !c.members.contains_key("s0"));
}
