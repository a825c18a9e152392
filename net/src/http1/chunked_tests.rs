//! Tests for [`ChunkedDecoder`](super::ChunkedDecoder); kept apart so chunked.rs stays short.

use proptest::prelude::*;

use super::*;

/// What a decoder made of a whole body: the data, the trailers and the bytes used.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    data: Vec<u8>,
    trailers: Vec<(String, Vec<u8>)>,
    consumed: usize,
}

/// Feeds `input` in the pieces given by `cuts` (sorted split points), the way a connection
/// loop would: each piece is offered until it is used up or the body ends.
fn decode_pieces(input: &[u8], cuts: &[usize], limits: &Limits) -> Result<Outcome, HttpError> {
    let mut d = ChunkedDecoder::new(limits);
    let mut data = Vec::new();
    let mut start = 0;
    let mut bounds: Vec<usize> = cuts.iter().copied().filter(|&c| c <= input.len()).collect();
    bounds.push(input.len());
    for end in bounds {
        if end < start {
            continue;
        }
        let mut piece = &input[start..end];
        let mut used = start;
        loop {
            let r = d.decode(piece)?;
            assert!(r.consumed <= piece.len());
            if let Some(range) = r.data.clone() {
                assert!(range.end <= r.consumed && range.start < range.end);
                data.extend_from_slice(&piece[range]);
            }
            piece = &piece[r.consumed..];
            used += r.consumed;
            if r.done {
                assert!(d.is_done());
                return Ok(Outcome {
                    data,
                    trailers: d.take_trailers(),
                    consumed: used,
                });
            }
            if piece.is_empty() {
                break;
            }
        }
        start = end;
    }
    Err(HttpError::BadChunk("test: input ended before the body"))
}

fn decode_all(input: &[u8]) -> Result<Outcome, HttpError> {
    decode_pieces(input, &[], &Limits::default())
}

fn one_byte_at_a_time(input: &[u8]) -> Result<Outcome, HttpError> {
    let cuts: Vec<usize> = (1..input.len()).collect();
    decode_pieces(input, &cuts, &Limits::default())
}

#[test]
fn simple_body() {
    let body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nNEXT";
    let out = decode_all(body).unwrap();
    assert_eq!(out.data, b"hello world");
    assert!(out.trailers.is_empty());
    assert_eq!(out.consumed, body.len() - 4);
    assert_eq!(one_byte_at_a_time(body).unwrap(), out);
}

#[test]
fn data_is_returned_zero_copy_one_run_per_call() {
    let body = b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
    let mut d = ChunkedDecoder::new(&Limits::default());
    let r = d.decode(body).unwrap();
    assert_eq!(
        r,
        Decoded {
            consumed: 6,
            data: Some(3..6),
            done: false
        }
    );
    let r = d.decode(&body[6..]).unwrap();
    assert_eq!(
        r,
        Decoded {
            consumed: 7,
            data: Some(5..7),
            done: false
        }
    );
    let r = d.decode(&body[13..]).unwrap();
    assert_eq!(
        r,
        Decoded {
            consumed: 7,
            data: None,
            done: true
        }
    );
    // Once done, nothing more is consumed.
    assert_eq!(
        d.decode(b"GET").unwrap(),
        Decoded {
            consumed: 0,
            data: None,
            done: true
        }
    );
    assert_eq!(
        d.decode(b"").unwrap(),
        Decoded {
            consumed: 0,
            data: None,
            done: true
        }
    );
}

#[test]
fn empty_input_needs_more() {
    let mut d = ChunkedDecoder::new(&Limits::default());
    assert_eq!(
        d.decode(b"").unwrap(),
        Decoded {
            consumed: 0,
            data: None,
            done: false
        }
    );
}

#[test]
fn extensions_hex_case_and_leading_zeros() {
    let body = b"1A;name=value;q=\"a b\"\r\nabcdefghijklmnopqrstuvwxyz\r\n000a ; x\r\n0123456789\r\n00;last\r\n\r\n";
    let out = decode_all(body).unwrap();
    assert_eq!(out.data, b"abcdefghijklmnopqrstuvwxyz0123456789");
    assert_eq!(one_byte_at_a_time(body).unwrap(), out);
}

#[test]
fn trailers_are_collected() {
    let body = b"3\r\nabc\r\n0\r\nX-Amz-Checksum-Crc32:  AAAAAA== \r\nx-empty:\r\nX-Raw: caf\xc3\xa9\r\n\r\n";
    let out = decode_all(body).unwrap();
    assert_eq!(out.data, b"abc");
    assert_eq!(
        out.trailers,
        vec![
            ("x-amz-checksum-crc32".to_string(), b"AAAAAA==".to_vec()),
            ("x-empty".to_string(), Vec::new()),
            ("x-raw".to_string(), b"caf\xc3\xa9".to_vec()),
        ]
    );
    assert_eq!(one_byte_at_a_time(body).unwrap(), out);
    let mut d = ChunkedDecoder::new(&Limits::default());
    let _ = d.decode(b"0\r\nA: 1\r\n\r\n").unwrap();
    assert_eq!(d.trailers(), &[("a".to_string(), b"1".to_vec())]);
}

#[test]
fn malformed_bodies() {
    let cases: &[(&[u8], &str)] = &[
        (b"\r\n", "missing chunk size"),
        (b";ext\r\n", "missing chunk size"),
        (b" 5\r\n", "missing chunk size"),
        (b"g\r\n", "invalid chunk size"),
        (b"0x5\r\n", "invalid chunk size"),
        (b"-5\r\n", "invalid chunk size"),
        (b"5 5\r\n", "invalid chunk size"),
        (b"5\n", "invalid chunk size"),
        (b"5\r\r", "expected LF after CR"),
        (b"5;a\nb\r\n", "invalid byte in chunk extension"),
        (b"5;a\x00\r\n", "invalid byte in chunk extension"),
        (b"3\r\nabcX", "missing CRLF after chunk data"),
        (b"3\r\nabc\rX", "missing CRLF after chunk data"),
        (b"3\r\nabc\n", "missing CRLF after chunk data"),
        (b"0\r\nX: 1\n", "bare LF in trailer"),
        (b"0\r\nX: 1\rY", "expected LF after CR"),
        (b"0\r\n\n", "bare LF in trailer"),
        (b"0\r\nnocolon\r\n", "trailer field without colon"),
        (b"0\r\n: v\r\n", "invalid trailer field name"),
        (b"0\r\nX : v\r\n", "invalid trailer field name"),
        (b"0\r\n folded\r\n", "trailer field without colon"),
        (b"0\r\n folded: x\r\n", "invalid trailer field name"),
        (b"0\r\nX: a\x01b\r\n", "invalid trailer field value"),
        (b"10000000000000000\r\n", "chunk size overflows 64 bits"),
    ];
    for (input, why) in cases {
        let want = Err(HttpError::BadChunk(why));
        assert_eq!(
            decode_all(input).map(|_| ()),
            want,
            "{:?}",
            String::from_utf8_lossy(input)
        );
        assert_eq!(one_byte_at_a_time(input).map(|_| ()), want);
    }
}

#[test]
fn size_limits() {
    // The largest size is fine (the caller's body limit stops it, not the decoder).
    let mut d = ChunkedDecoder::new(&Limits::default());
    let r = d.decode(b"ffffffffffffffff\r\nab").unwrap();
    assert_eq!(r.data, Some(18..20));
    // Leading zeros are bounded by the line limit only.
    let mut zeros = vec![b'0'; 40];
    zeros.extend_from_slice(b"1\r\nx\r\n0\r\n\r\n");
    assert_eq!(decode_all(&zeros).unwrap().data, b"x");
    let l = Limits {
        max_chunk_line_bytes: 8,
        ..Limits::default()
    };
    // The limit covers the size line with its CRLF.
    assert!(decode_pieces(b"5;abcd\r\nhello\r\n0\r\n\r\n", &[], &l).is_ok());
    assert_eq!(
        decode_pieces(b"5;abcde\r\nhello", &[], &l).map(|_| ()),
        Err(HttpError::BadChunk("chunk size line too long"))
    );
}

#[test]
fn trailer_limits() {
    let l = Limits {
        max_trailer_bytes: 16,
        ..Limits::default()
    };
    // The limit covers the whole section, the final empty line included.
    assert!(decode_pieces(b"0\r\nabcde: 12345\r\n\r\n", &[], &l).is_ok());
    assert_eq!(
        decode_pieces(b"0\r\nabcdef: 12345\r\n\r\n", &[], &l).map(|_| ()),
        Err(HttpError::TrailersTooLarge)
    );
    let l = Limits {
        max_headers: 2,
        ..Limits::default()
    };
    assert!(decode_pieces(b"0\r\na: 1\r\nb: 2\r\n\r\n", &[], &l).is_ok());
    assert_eq!(
        decode_pieces(b"0\r\na: 1\r\nb: 2\r\nc: 3\r\n\r\n", &[], &l).map(|_| ()),
        Err(HttpError::TrailersTooLarge)
    );
}

#[test]
fn errors_are_sticky() {
    let mut d = ChunkedDecoder::new(&Limits::default());
    let e = d.decode(b"z").unwrap_err();
    assert_eq!(d.decode(b"5\r\nhello").unwrap_err(), e);
    assert_eq!(d.decode(b"").unwrap_err(), e);
}

/// Encodes `chunks` (empty ones skipped: an empty chunk would end the body) with optional
/// extensions and trailers, the way a client might.
fn encode(chunks: &[Vec<u8>], ext: bool, upper: bool, trailers: &[(String, String)]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in chunks.iter().filter(|c| !c.is_empty()) {
        let size = if upper {
            format!("{:X}", c.len())
        } else {
            format!("{:x}", c.len())
        };
        out.extend_from_slice(size.as_bytes());
        if ext {
            out.extend_from_slice(b" ;ext=\"v\";x");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(c);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"0\r\n");
    for (n, v) in trailers {
        out.extend_from_slice(format!("{n}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out
}

proptest! {
    #[test]
    fn splits_do_not_change_the_result(
        chunks in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..300), 0..8),
        ext in any::<bool>(),
        upper in any::<bool>(),
        trailers in prop::collection::vec(("[A-Za-z][A-Za-z0-9-]{0,10}", "[ -~]{0,20}"), 0..3),
        cuts in prop::collection::vec(0usize..3000, 0..20),
        tail in prop::collection::vec(any::<u8>(), 0..10),
    ) {
        let mut input = encode(&chunks, ext, upper, &trailers);
        let body_len = input.len();
        input.extend_from_slice(&tail);
        let whole = decode_all(&input).unwrap();
        prop_assert_eq!(&whole.data, &chunks.concat());
        prop_assert_eq!(whole.consumed, body_len);
        let want: Vec<(String, Vec<u8>)> = trailers
            .iter()
            .map(|(n, v)| (n.to_ascii_lowercase(), v.trim_matches([' ', '\t']).as_bytes().to_vec()))
            .collect();
        prop_assert_eq!(&whole.trailers, &want);
        let mut cuts = cuts;
        cuts.sort_unstable();
        prop_assert_eq!(&decode_pieces(&input, &cuts, &Limits::default()).unwrap(), &whole);
        prop_assert_eq!(&one_byte_at_a_time(&input).unwrap(), &whole);
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_splits_agree(
        input in prop::collection::vec(any::<u8>(), 0..200),
        cuts in prop::collection::vec(0usize..200, 0..10),
    ) {
        let mut cuts = cuts;
        cuts.sort_unstable();
        let whole = decode_all(&input);
        prop_assert_eq!(decode_pieces(&input, &cuts, &Limits::default()), whole);
    }
}
