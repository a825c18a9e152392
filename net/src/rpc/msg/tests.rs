use super::*;
use proptest::collection::vec;
use proptest::prelude::*;

fn entry(ts: u64) -> EntryInfo {
    EntryInfo {
        version: Version {
            timestamp_us: ts,
            tiebreak: 7,
        },
        size: 11,
        md5: [0xab; 16],
        parts: 0,
        tombstone: false,
    }
}

fn write_req() -> WriteReq {
    WriteReq {
        kind: WriteKind::Object,
        coordinate: true,
        repair: false,
        cond: Cond::Matches("\"5eb63bbbe01eeed093cb22bb8f5acdc3\"".into()),
        version: Some(Version {
            timestamp_us: 1_700_000_000_000_000,
            tiebreak: 3,
        }),
        key: b"bucket/key".to_vec(),
        meta: b"\x01\x00\x04\x0a\x00text/plain".to_vec(),
    }
}

#[test]
fn write_req_layout_matches_the_documented_one() {
    let req = WriteReq {
        kind: WriteKind::Chunk,
        coordinate: false,
        repair: false,
        cond: Cond::Absent,
        version: None,
        key: b"k".to_vec(),
        meta: vec![9],
    };
    let f = req.encode_fields();
    let mut want = vec![];
    want.extend_from_slice(&(f.len() as u32 - 4).to_le_bytes());
    want.extend_from_slice(&[1, 0, 1]); // kind, flags, cond
    want.extend_from_slice(&[0; 12]); // no version
    want.extend_from_slice(&[1, 0, b'k']);
    want.extend_from_slice(&[1, 0, 0, 0, 9]);
    assert_eq!(f, want);
    assert_eq!(split_fields_len(f[..4].try_into().unwrap()), 23);
    assert_eq!(WriteReq::decode_fields(&f[4..]), Ok(req));
}

#[test]
fn fixed_sizes() {
    let mut out = vec![];
    entry(1).write_to(&mut Enc::new(&mut out));
    assert_eq!(out.len(), ENTRY_INFO_LEN);
    out.clear();
    Version::default().write_to(&mut Enc::new(&mut out));
    assert_eq!(out.len(), VERSION_LEN);
    out.clear();
    let resp = WriteResp {
        version: Version::default(),
        applied: true,
        existed: false,
        acks: 3,
    };
    resp.encode(&mut out);
    assert_eq!(out.len(), 14);
    assert_eq!(&out[12..], &[1, 3]);
}

#[test]
fn object_bodies_split_into_fields_and_object() {
    let req = write_req();
    let fields = req.encode_fields();
    let mut body = fields.clone();
    body.extend_from_slice(b"hello world");
    assert_eq!(
        WriteReq::decode_body(&body),
        Ok((req.clone(), &b"hello world"[..]))
    );
    assert_eq!(split_body(&body), Ok((&fields[4..], &b"hello world"[..])));
    // The fields alone: an empty object.
    assert_eq!(WriteReq::decode_body(&fields), Ok((req.clone(), &b""[..])));
    // fields_len past the body, or past the limit.
    assert_eq!(
        split_body(&fields[..fields.len() - 1]),
        Err(RpcError::Truncated("fields"))
    );
    let mut huge = body.clone();
    huge[..4].copy_from_slice(&(MAX_FIELDS_LEN + 1).to_le_bytes());
    assert!(matches!(split_body(&huge), Err(RpcError::Invalid(_))));
    assert_eq!(check_fields_len(10, 14), Ok(()));
    assert_eq!(check_fields_len(10, 13), Err(RpcError::Truncated("fields")));
    assert_eq!(
        check_fields_len(u32::MAX, u64::MAX).unwrap_err().status(),
        crate::rpc::Status::Invalid
    );
    // A tombstone carries no object.
    let tomb = WriteReq {
        kind: WriteKind::Tombstone,
        ..req
    };
    let mut body = tomb.encode_fields();
    assert_eq!(WriteReq::decode_body(&body), Ok((tomb, &b""[..])));
    body.push(0);
    assert!(matches!(
        WriteReq::decode_body(&body),
        Err(RpcError::Invalid(_))
    ));

    let resp = ReadResp {
        entry: entry(5),
        meta: vec![1, 2, 3],
    };
    let mut body = resp.encode_fields();
    assert_eq!(body.len(), 4 + ENTRY_INFO_LEN + 4 + 3);
    body.extend_from_slice(b"obj");
    assert_eq!(ReadResp::decode_body(&body), Ok((resp, &b"obj"[..])));
}

#[test]
fn limits_are_enforced() {
    let long_key = vec![b'k'; MAX_KEY_LEN + 1];
    let mut out = vec![];
    ReadReq {
        key: long_key.clone(),
        meta_only: false,
    }
    .encode(&mut out);
    assert!(matches!(ReadReq::decode(&out), Err(RpcError::Invalid(_))));
    out.clear();
    ReadReq {
        key: long_key[1..].to_vec(),
        meta_only: false,
    }
    .encode(&mut out);
    assert!(ReadReq::decode(&out).is_ok());
    out.clear();
    ReadReq {
        key: vec![],
        meta_only: false,
    }
    .encode(&mut out);
    assert!(matches!(ReadReq::decode(&out), Err(RpcError::Invalid(_))));

    let mut req = write_req();
    req.cond = Cond::Matches("e".repeat(MAX_ETAG_LEN + 1));
    assert!(matches!(
        WriteReq::decode_fields(&req.encode_fields()[4..]),
        Err(RpcError::Invalid(_))
    ));
    req.cond = Cond::Matches("e".repeat(MAX_ETAG_LEN));
    assert!(WriteReq::decode_fields(&req.encode_fields()[4..]).is_ok());

    // A count over the limit, and a count the input cannot hold (no huge allocation).
    assert!(matches!(
        ListResp::decode(&(MAX_LIST_ENTRIES + 1).to_le_bytes()),
        Err(RpcError::Invalid(_))
    ));
    assert_eq!(
        ListResp::decode(&MAX_LIST_ENTRIES.to_le_bytes()),
        Err(RpcError::Truncated("entry.key"))
    );
    out.clear();
    ListReq {
        prefix: vec![],
        start_after: vec![],
        limit: MAX_LIST_ENTRIES + 1,
        include_tombstones: false,
    }
    .encode(&mut out);
    assert!(matches!(ListReq::decode(&out), Err(RpcError::Invalid(_))));
}

#[test]
fn non_canonical_bytes_are_rejected() {
    let fields = write_req().encode_fields();
    let f = &fields[4..];
    let bad = |i: usize, v: u8| {
        let mut b = f.to_vec();
        b[i] = v;
        WriteReq::decode_fields(&b)
    };
    assert!(matches!(bad(0, 3), Err(RpcError::Invalid(_)))); // kind
    assert!(matches!(bad(1, 8), Err(RpcError::Invalid(_)))); // flags
    assert!(matches!(bad(2, 3), Err(RpcError::Invalid(_)))); // cond tag
                                                             // A version without the has-version flag.
    assert!(matches!(
        bad(1, WRITE_COORDINATE),
        Err(RpcError::Invalid(_))
    ));
    // Trailing bytes.
    let mut b = f.to_vec();
    b.push(0);
    assert!(matches!(
        WriteReq::decode_fields(&b),
        Err(RpcError::Invalid(_))
    ));
    // Not UTF-8.
    let mut req = write_req();
    req.cond = Cond::Matches("ab".into());
    let mut b = req.encode_fields()[4..].to_vec();
    b[5] = 0xff;
    assert!(matches!(
        WriteReq::decode_fields(&b),
        Err(RpcError::Invalid(_))
    ));
    // A tombstone byte other than 0/1.
    let mut out = vec![];
    ListResp {
        entries: vec![(b"k".to_vec(), entry(1))],
    }
    .encode(&mut out);
    *out.last_mut().unwrap() = 2;
    assert!(matches!(ListResp::decode(&out), Err(RpcError::Invalid(_))));
}

#[test]
fn error_bodies_are_cut_at_a_char_boundary() {
    assert_eq!(error_body("no such key"), b"no such key");
    let long = "é".repeat(MAX_ERROR_LEN); // 2 bytes each
    let b = error_body(&long);
    assert_eq!(b.len(), MAX_ERROR_LEN);
    let odd = format!("x{long}");
    let b = error_body(&odd);
    assert_eq!(b.len(), MAX_ERROR_LEN - 1);
    assert!(std::str::from_utf8(&b).is_ok());
    assert_eq!(error_message(&b[..3]), "xé");
    assert_eq!(error_message(b"a\xffb"), "a\u{fffd}b");
}

// -- property tests -----------------------------------------------------------------

fn any_version() -> impl Strategy<Value = Version> {
    (any::<u64>(), any::<u32>()).prop_map(|(timestamp_us, tiebreak)| Version {
        timestamp_us,
        tiebreak,
    })
}

fn any_entry() -> impl Strategy<Value = EntryInfo> {
    (
        any_version(),
        any::<u64>(),
        any::<[u8; 16]>(),
        any::<u32>(),
        any::<bool>(),
    )
        .prop_map(|(version, size, md5, parts, tombstone)| EntryInfo {
            version,
            size,
            md5,
            parts,
            tombstone,
        })
}

fn any_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 1..40),
        vec(any::<u8>(), MAX_KEY_LEN..=MAX_KEY_LEN)
    ]
}

fn any_cond() -> impl Strategy<Value = Cond> {
    prop_oneof![
        Just(Cond::None),
        Just(Cond::Absent),
        "\\PC{0,40}".prop_map(Cond::Matches),
    ]
}

fn any_write_req() -> impl Strategy<Value = WriteReq> {
    (
        proptest::sample::select(WriteKind::ALL.to_vec()),
        any::<bool>(),
        any_cond(),
        proptest::option::of(any_version()),
        any_key(),
        vec(any::<u8>(), 0..100),
    )
        .prop_map(|(kind, coordinate, cond, version, key, meta)| WriteReq {
            kind,
            coordinate,
            repair: !coordinate && version.is_some() && key.len() % 2 == 0,
            cond,
            version,
            key,
            meta,
        })
}

fn any_write_resp() -> impl Strategy<Value = WriteResp> {
    (any_version(), any::<bool>(), any::<bool>(), any::<u8>()).prop_map(
        |(version, applied, existed, acks)| WriteResp {
            version,
            applied,
            existed,
            acks,
        },
    )
}

fn any_read_req() -> impl Strategy<Value = ReadReq> {
    (any_key(), any::<bool>()).prop_map(|(key, meta_only)| ReadReq { key, meta_only })
}

fn any_read_resp() -> impl Strategy<Value = ReadResp> {
    (any_entry(), vec(any::<u8>(), 0..100)).prop_map(|(entry, meta)| ReadResp { entry, meta })
}

fn any_list_req() -> impl Strategy<Value = ListReq> {
    (
        vec(any::<u8>(), 0..40),
        vec(any::<u8>(), 0..40),
        0..=MAX_LIST_ENTRIES,
        any::<bool>(),
    )
        .prop_map(|(prefix, start_after, limit, include_tombstones)| ListReq {
            prefix,
            start_after,
            limit,
            include_tombstones,
        })
}

fn any_list_resp() -> impl Strategy<Value = ListResp> {
    vec((vec(any::<u8>(), 1..30), any_entry()), 0..20).prop_map(|entries| ListResp { entries })
}

/// Every strict prefix of a valid encoding fails to decode (without panicking), and so
/// does the encoding with a byte appended.
fn check_prefixes<T>(bytes: &[u8], decode: impl Fn(&[u8]) -> Result<T, RpcError>) {
    for end in 0..bytes.len() {
        assert!(
            decode(&bytes[..end]).is_err(),
            "prefix of {end} bytes decoded"
        );
    }
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(decode(&longer).is_err(), "trailing byte accepted");
}

proptest! {
    #[test]
    fn write_req_round_trips(m in any_write_req(), object in vec(any::<u8>(), 0..50)) {
        let fields = m.encode_fields();
        prop_assert_eq!(split_fields_len(fields[..4].try_into().unwrap()) as usize, fields.len() - 4);
        prop_assert_eq!(WriteReq::decode_fields(&fields[4..]), Ok(m.clone()));
        check_prefixes(&fields[4..], WriteReq::decode_fields);
        let mut body = fields.clone();
        if m.kind != WriteKind::Tombstone {
            body.extend_from_slice(&object);
        }
        let (decoded, obj) = WriteReq::decode_body(&body).unwrap();
        prop_assert_eq!(decoded, m);
        prop_assert_eq!(obj, &body[fields.len()..]);
        for end in 0..fields.len() {
            prop_assert!(WriteReq::decode_body(&body[..end]).is_err());
        }
    }

    #[test]
    fn write_resp_round_trips(m in any_write_resp()) {
        let mut out = vec![];
        m.encode(&mut out);
        prop_assert_eq!(WriteResp::decode(&out), Ok(m));
        check_prefixes(&out, WriteResp::decode);
    }

    #[test]
    fn read_req_round_trips(m in any_read_req()) {
        let mut out = vec![];
        m.encode(&mut out);
        prop_assert_eq!(ReadReq::decode(&out), Ok(m));
        check_prefixes(&out, ReadReq::decode);
    }

    #[test]
    fn read_resp_round_trips(m in any_read_resp(), object in vec(any::<u8>(), 0..50)) {
        let fields = m.encode_fields();
        prop_assert_eq!(ReadResp::decode_fields(&fields[4..]), Ok(m.clone()));
        check_prefixes(&fields[4..], ReadResp::decode_fields);
        let mut body = fields.clone();
        body.extend_from_slice(&object);
        prop_assert_eq!(ReadResp::decode_body(&body), Ok((m, &object[..])));
        for end in 0..fields.len() {
            prop_assert!(ReadResp::decode_body(&body[..end]).is_err());
        }
    }

    #[test]
    fn list_req_round_trips(m in any_list_req()) {
        let mut out = vec![];
        m.encode(&mut out);
        prop_assert_eq!(ListReq::decode(&out), Ok(m));
        check_prefixes(&out, ListReq::decode);
    }

    #[test]
    fn list_resp_round_trips(m in any_list_resp()) {
        let mut out = vec![];
        m.encode(&mut out);
        prop_assert_eq!(ListResp::decode(&out), Ok(m));
        check_prefixes(&out, ListResp::decode);
    }

    #[test]
    fn error_bodies_round_trip(msg in "\\PC{0,3000}") {
        let body = error_body(&msg);
        prop_assert!(body.len() <= MAX_ERROR_LEN);
        let back = error_message(&body);
        prop_assert!(msg.starts_with(&back));
        if msg.len() <= MAX_ERROR_LEN {
            prop_assert_eq!(back, msg);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..200)) {
        crate::rpc::fuzz_rpc(&bytes);
        for end in 0..bytes.len() {
            let b = &bytes[..end];
            let _ = WriteReq::decode_fields(b);
            let _ = WriteReq::decode_body(b);
            let _ = WriteResp::decode(b);
            let _ = ReadReq::decode(b);
            let _ = ReadResp::decode_fields(b);
            let _ = ReadResp::decode_body(b);
            let _ = ListReq::decode(b);
            let _ = ListResp::decode(b);
            let _ = error_message(b);
        }
    }
}
