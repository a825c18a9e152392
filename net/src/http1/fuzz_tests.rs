//! Runs [`fuzz_request_bytes`](super::fuzz_request_bytes) over pseudo-random inputs built
//! from request fragments and random bytes, so the no-panic property is checked on every
//! `cargo test`, not only when someone runs the fuzzer.

use super::*;

/// xorshift64*: deterministic, dependency-free, good enough to shuffle fragments.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const METHODS: &[&[u8]] = &[
    b"GET ",
    b"PUT ",
    b"POST ",
    b"HEAD ",
    b"DELETE ",
    b"OPTIONS ",
    b"BREW ",
];
const TARGETS: &[&[u8]] = &[
    b"/ ",
    b"/b/k%20x?uploads ",
    b"* ",
    b"http://h/b ",
    b"/\xc3\xa9 ",
];
const VERSIONS: &[&[u8]] = &[
    b"HTTP/1.1\r\n",
    b"HTTP/1.0\r\n",
    b"HTTP/1.1\n",
    b"HTTP/1.2\r\n",
];
const FIELDS: &[&[u8]] = &[
    b"Host: h\r\n",
    b"Content-Length: 5\r\n",
    b"Content-Length: 0\r\n",
    b"Content-Length: 99999999999999999999\r\n",
    b"Transfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: gzip\r\n",
    b"Expect: 100-continue\r\n",
    b"Expect: x\r\n",
    b"Connection: close\r\n",
    b"Connection: keep-alive\r\n",
    b"X-Amz-Meta-A: \xff\xfe\r\n",
];
const BODIES: &[&[u8]] = &[
    b"",
    b"hello",
    b"5\r\nhello\r\n0\r\n\r\n",
    b"0\r\n\r\n",
    b"a;x=\"y\"\r\n0123456789\r\n",
    b"0\r\nX-Trailer: v\r\n\r\n",
    b"ffffffffffffffffff\r\n",
    b"3\r\nabc\n",
    b"0\r\n",
];
/// Small pieces spliced in at random places.
const NOISE: &[&[u8]] = &[
    b"\r\n", b"\r", b"\n", b":", b" ", b";", b"\t", b"\0", b"0", b"f", b",", b"\xff",
];

fn pick<'a>(rng: &mut Rng, from: &[&'a [u8]]) -> &'a [u8] {
    from[rng.below(from.len())]
}

/// One to four request-shaped messages, then a few random corruptions.
fn random_input(rng: &mut Rng) -> Vec<u8> {
    let mut input = Vec::new();
    for _ in 0..1 + rng.below(4) {
        input.extend_from_slice(pick(rng, METHODS));
        input.extend_from_slice(pick(rng, TARGETS));
        input.extend_from_slice(pick(rng, VERSIONS));
        if rng.below(8) != 0 {
            input.extend_from_slice(b"Host: h\r\n");
        }
        for _ in 0..rng.below(4) {
            input.extend_from_slice(pick(rng, FIELDS));
        }
        if rng.below(3) == 0 {
            // Chunked bodies are the most intricate path; make sure many inputs reach it.
            input.extend_from_slice(b"Transfer-Encoding: chunked\r\n");
        }
        input.extend_from_slice(b"\r\n");
        for _ in 0..rng.below(3) {
            input.extend_from_slice(pick(rng, BODIES));
        }
    }
    for _ in 0..rng.below(4) {
        let at = rng.below(input.len() + 1);
        match rng.below(4) {
            0 => input
                .splice(at..at, pick(rng, NOISE).iter().copied())
                .for_each(drop),
            1 if at < input.len() => input[at] = rng.next() as u8,
            2 if at < input.len() => {
                input.remove(at);
            }
            _ => input.extend((0..rng.below(8)).map(|_| rng.next() as u8)),
        }
    }
    input
}

/// A few valid requests, so mutations start from the interesting paths.
const VALID: &[&[u8]] = &[
    b"PUT /b/k HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n5;e=1\r\nhello\r\n0\r\nX-Sum: 1\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n",
    b"PUT /b/k HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\nabcDELETE /b HTTP/1.1\r\nHost: h\r\n\r\n",
    b"GET /b?list-type=2 HTTP/1.0\r\nConnection: keep-alive\r\n\r\nHEAD /b/k HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
];

#[test]
fn valid_inputs_reach_every_body_kind() {
    for input in VALID {
        fuzz_request_bytes(input);
    }
    let (head, n) = match parse_request(VALID[0], &Limits::default()) {
        Ok(Parsed::Complete(h, n)) => (h, n),
        other => panic!("{other:?}"),
    };
    assert_eq!(head.body, BodyKind::Chunked);
    let (body, used, done) = fuzz_decode(&VALID[0][n..], &[3], &Limits::default()).unwrap();
    assert_eq!((body.as_slice(), done), (&b"hello"[..], true));
    assert!(VALID[0][n + used..].starts_with(b"GET /"));
}

#[test]
fn pseudo_random_inputs_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut complete, mut chunked, mut errors) = (0, 0, 0);
    for _ in 0..4000 {
        let input = random_input(&mut rng);
        match parse_request(&input, &Limits::default()) {
            Ok(Parsed::Complete(head, _)) => {
                complete += 1;
                chunked += usize::from(head.body == BodyKind::Chunked);
            }
            Ok(Parsed::Partial) => {}
            Err(_) => errors += 1,
        }
        fuzz_request_bytes(&input);
        // Also every prefix of short inputs: a connection sees those as reads arrive.
        if input.len() < 64 {
            for end in 0..input.len() {
                fuzz_request_bytes(&input[..end]);
            }
        }
    }
    eprintln!("complete {complete}, chunked {chunked}, errors {errors}");
    // Keeps the generator honest: it must keep reaching past the head into bodies.
    assert!(
        complete > 500 && chunked > 100 && errors > 500,
        "{complete} {chunked} {errors}"
    );
}

#[test]
fn mutated_valid_requests_never_panic() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for _ in 0..3000 {
        let mut input = VALID[rng.below(VALID.len())].to_vec();
        for _ in 0..1 + rng.below(4) {
            let at = rng.below(input.len());
            match rng.below(3) {
                0 => input[at] = rng.next() as u8,
                1 => {
                    input.remove(at);
                }
                _ => input.insert(at, b"\r\n:;0 "[rng.below(6)]),
            }
        }
        fuzz_request_bytes(&input);
    }
}
