//! Checks that the committed seed corpora are worth fuzzing from: small, and reaching past
//! the first rejection of each target (requests that parse, signatures that verify, bodies
//! that decode, every S3 operation routed, every XML reader accepting a document, every
//! engine operation used, every RPC message decoded from a checked frame). A seed edited into something that fails early would silently
//! make the fuzzing shallower; this catches it.

use std::collections::BTreeMap;
use std::path::Path;

use leofs_fuzz::{corpus_dir, read_inputs, TARGETS};
use leofs_net::http1::{parse_request, BodyKind, ChunkedDecoder, Limits, Parsed};
use leofs_net::rpc::{
    parse_frame, ListReq, ListResp, Op, ReadReq, ReadResp, Status, WriteReq, WriteResp,
};
use leofs_net::s3::auth::{
    parse_auth, split_target, verify, AwsChunkedDecoder, ChunkSigner, PayloadMode, SignedRequest,
    SigningKey, Verified,
};
use leofs_net::s3::router::{route, Operation, RouteInput};
use leofs_net::s3::xml::read;

/// Seeds of `target` by file name.
fn seeds(target: &str) -> BTreeMap<String, Vec<u8>> {
    read_inputs(&corpus_dir(target))
        .unwrap_or_else(|e| panic!("corpus of {target}: {e}"))
        .into_iter()
        .map(|(path, data)| (file_name(&path), data))
        .collect()
}

fn file_name(path: &Path) -> String {
    path.file_name().unwrap().to_string_lossy().into_owned()
}

#[test]
fn every_target_has_a_small_corpus() {
    for (name, _) in TARGETS {
        let seeds = seeds(name);
        assert!(seeds.len() >= 5, "{name}: only {} seeds", seeds.len());
        for (file, data) in &seeds {
            assert!(data.len() < 4096, "{name}/{file}: {} bytes", data.len());
        }
    }
}

/// Walks pipelined requests like a connection loop; returns (requests parsed, chunked
/// bodies completed, trailers seen, whether any asked for 100-continue).
fn walk_http(mut rest: &[u8]) -> (usize, usize, usize, bool) {
    let limits = Limits::default();
    let (mut requests, mut chunked, mut trailers, mut expect) = (0, 0, 0, false);
    while let Ok(Parsed::Complete(head, n)) = parse_request(rest, &limits) {
        requests += 1;
        expect |= head.expect_continue;
        rest = &rest[n..];
        match head.body {
            BodyKind::None => {}
            BodyKind::ContentLength(len) => rest = &rest[(len as usize).min(rest.len())..],
            BodyKind::Chunked => {
                let mut dec = ChunkedDecoder::new(&limits);
                loop {
                    match dec.decode(rest) {
                        Ok(d) if d.done => {
                            rest = &rest[d.consumed..];
                            chunked += 1;
                            trailers += dec.trailers().len();
                            break;
                        }
                        Ok(d) if d.consumed > 0 => rest = &rest[d.consumed..],
                        _ => return (requests, chunked, trailers, expect),
                    }
                }
            }
        }
        if !head.keep_alive {
            break;
        }
    }
    (requests, chunked, trailers, expect)
}

#[test]
fn http_seeds_parse() {
    let seeds = seeds("http_request");
    let mut totals = (0, 0, 0, false);
    for (file, data) in &seeds {
        let (requests, chunked, trailers, expect) = walk_http(data);
        assert!(requests >= 1, "http_request/{file}: no request parses");
        totals = (
            totals.0 + requests,
            totals.1 + chunked,
            totals.2 + trailers,
            totals.3 | expect,
        );
    }
    let pipelined = walk_http(&seeds["pipelined"]);
    assert_eq!(pipelined.0, 5, "pipelined: stops at Connection: close");
    assert_eq!(walk_http(&seeds["pipelined_chunked"]).0, 3);
    assert!(totals.1 >= 4 && totals.2 >= 3 && totals.3, "{totals:?}");
}

/// The SigV4 chunk signer `fuzz_auth` uses.
fn fuzz_signer() -> ChunkSigner {
    ChunkSigner::new(
        SigningKey::derive("secret", "20130524", "us-east-1", "s3"),
        "20130524T000000Z",
        "20130524/us-east-1/s3/aws4_request",
        [0u8; 32],
    )
}

/// Verifies an auth seed the way `fuzz_auth` does; returns the verified result of either
/// pass (header auth, or query auth with the virtual-host bucket), if any.
fn verify_auth(data: &[u8]) -> Option<Verified> {
    let mut parts = data.splitn(5, |&b| b == b'\n');
    let mut next = || parts.next().unwrap_or(&[]);
    let (authz, target, date, sha) = (next(), next(), next(), next());
    let target = String::from_utf8_lossy(target).into_owned();
    let (path, query) = split_target(&target);
    let headers: Vec<(&str, &[u8])> = vec![
        ("host", b"bucket.example.com"),
        ("authorization", authz),
        ("x-amz-date", date),
        ("date", date),
        ("x-amz-content-sha256", sha),
        ("content-md5", sha),
    ];
    let passes = [(&headers[..], None), (&headers[2..], Some("bucket"))];
    let verified = passes.into_iter().find_map(|(hdrs, bucket)| {
        let req = SignedRequest::new("PUT", path, query, hdrs).with_bucket_from_host(bucket);
        let parsed = parse_auth(&req).ok()?;
        verify(&req, &parsed, "secret", 1_369_353_600).ok()
    });
    verified
}

#[test]
fn auth_seeds_verify_and_decode() {
    let seeds = seeds("auth");
    for name in [
        "v4_unsigned_payload",
        "v4_sha256_query",
        "v4_list_query",
        "v4_streaming_signed",
        "v4_streaming_signed_trailer",
        "v4_streaming_unsigned_trailer",
        "v4_streaming_empty",
        "v4_presigned",
        "v2_header",
        "v2_presigned",
    ] {
        let data = seeds
            .get(name)
            .unwrap_or_else(|| panic!("auth/{name} missing"));
        let verified = verify_auth(data).unwrap_or_else(|| panic!("auth/{name} does not verify"));
        let v2 = matches!(verified, Verified::V2(_));
        assert_eq!(v2, name.starts_with("v2_"), "auth/{name}: {verified:?}");
    }
    // The streaming bodies decode to the end in the mode their header announces.
    for (name, mode) in [
        ("v4_streaming_signed", PayloadMode::StreamingSigned),
        (
            "v4_streaming_signed_trailer",
            PayloadMode::StreamingSignedTrailer,
        ),
        (
            "v4_streaming_unsigned_trailer",
            PayloadMode::StreamingUnsignedTrailer,
        ),
        ("v4_streaming_empty", PayloadMode::StreamingSigned),
    ] {
        let body = seeds[name].splitn(5, |&b| b == b'\n').nth(4).unwrap();
        let signer = mode.has_chunk_signatures().then(fuzz_signer);
        let mut dec = AwsChunkedDecoder::new(mode, signer).unwrap();
        let mut off = 0;
        while off < body.len() {
            let d = dec
                .decode(&body[off..])
                .unwrap_or_else(|e| panic!("auth/{name}: {e:?}"));
            assert!(d.consumed > 0, "auth/{name}: no progress");
            off += d.consumed;
        }
        dec.finish()
            .unwrap_or_else(|e| panic!("auth/{name}: {e:?}"));
        assert_eq!(
            !dec.trailers().is_empty(),
            mode.has_trailer(),
            "auth/{name}"
        );
    }
}

#[test]
fn router_seeds_reach_every_operation() {
    let mut reached = BTreeMap::new();
    for (file, data) in seeds("router") {
        let text = String::from_utf8_lossy(&data).into_owned();
        let mut parts = text.split('\n');
        let mut next = || parts.next().unwrap_or_default();
        let (method, raw_path, raw_query, host, domain) = (next(), next(), next(), next(), next());
        let input = RouteInput {
            method,
            raw_path,
            raw_query,
            host: Some(host).filter(|h| !h.is_empty()),
            virtual_host_domain: Some(domain).filter(|d| !d.is_empty()),
            has_copy_source: data.last().is_some_and(|b| b & 1 == 1),
        };
        if let Ok(r) = route(&input) {
            reached.insert(r.op.name(), file);
        }
    }
    let missing: Vec<&str> = Operation::ALL
        .iter()
        .map(|op| op.name())
        .filter(|name| !reached.contains_key(name))
        .collect();
    assert!(missing.is_empty(), "no router seed reaches {missing:?}");
}

#[test]
fn xml_seeds_satisfy_every_reader() {
    let seeds = seeds("xml");
    let accepted = |f: &dyn Fn(&[u8]) -> bool| seeds.values().filter(|d| f(d)).count();
    assert!(accepted(&|d| read::parse_delete_objects(d).is_ok()) >= 2);
    assert!(accepted(&|d| matches!(read::parse_create_bucket_configuration(d), Ok(Some(_)))) >= 1);
    assert!(accepted(&|d| read::parse_complete_multipart(d).is_ok()) >= 2);
    let parts = read::parse_complete_multipart(&seeds["complete_multipart_checksums"]).unwrap();
    assert_eq!(parts[0].checksums.len(), 5);
}

#[test]
fn engine_seeds_use_every_operation() {
    // op % 16: 0-5 put, 6 big put, 7-8 delete, 9-10 get, 11 list, 12 compact,
    // 13 checkpoint, 14-15 restart.
    let class = |op: u8| match op % 16 {
        0..=5 => 0,
        6 => 1,
        7 | 8 => 2,
        9 | 10 => 3,
        11 => 4,
        12 => 5,
        13 => 6,
        _ => 7,
    };
    let mut seen = [0usize; 8];
    for data in seeds("engine").values() {
        for chunk in data.chunks(3) {
            seen[class(chunk[0])] += 1;
        }
    }
    assert!(seen.iter().all(|&n| n >= 3), "operation counts {seen:?}");
}

#[test]
fn rpc_seeds_are_valid_frames_of_every_message() {
    let mut decoded = BTreeMap::new();
    let mut bare = 0;
    for (file, data) in seeds("rpc") {
        let Some(frame) = parse_frame(&data, 1 << 20).unwrap_or_else(|e| {
            panic!("rpc/{file}: {e}");
        }) else {
            // Shorter than a head: a bare body for the decoders.
            assert!(data.len() < 40, "rpc/{file}: incomplete frame");
            assert!(ReadReq::decode(&data).is_ok(), "rpc/{file}");
            bare += 1;
            continue;
        };
        assert_eq!(frame.consumed, data.len(), "rpc/{file}: bytes after it");
        let (head, body) = (frame.head, frame.body);
        let name = match (head.op, head.response, head.status) {
            (Op::Write, false, _) => WriteReq::decode_body(body).map(|_| "write_req").ok(),
            (Op::Write, true, Status::Ok) => WriteResp::decode(body).map(|_| "write_resp").ok(),
            (Op::Read, false, _) => ReadReq::decode(body).map(|_| "read_req").ok(),
            (Op::Read, true, Status::Ok) => ReadResp::decode_body(body).map(|_| "read_resp").ok(),
            (Op::List, false, _) => ListReq::decode(body).map(|_| "list_req").ok(),
            (Op::List, true, Status::Ok) => ListResp::decode(body).map(|_| "list_resp").ok(),
            (Op::Batch, false, _) => leofs_net::rpc::batch::decode_requests(body).map(|_| "batch_req").ok(),
            (Op::Batch, true, Status::Ok) => leofs_net::rpc::batch::decode_responses(body).map(|_| "batch_resp").ok(),
            (Op::Control, _, Status::Ok) => Some("control"),
            (_, true, _) => std::str::from_utf8(body).ok().map(|_| "error"),
            (Op::Control, false, _) => unreachable!("requests carry status Ok"),
        };
        let name = name.unwrap_or_else(|| panic!("rpc/{file}: body does not decode"));
        *decoded.entry(name).or_insert(0) += 1;
    }
    let all = [
        "write_req",
        "write_resp",
        "read_req",
        "read_resp",
        "list_req",
        "list_resp",
        "control",
        "error",
    ];
    let missing: Vec<&str> = all
        .into_iter()
        .filter(|m| !decoded.contains_key(m))
        .collect();
    assert!(
        missing.is_empty() && bare >= 1,
        "no rpc seed for {missing:?}"
    );
}
