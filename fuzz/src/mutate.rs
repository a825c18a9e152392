//! A small deterministic mutator for stable-Rust fuzzing: byte flips, interesting bytes
//! and numbers, insertions and deletions, dictionary tokens and splices between corpus
//! inputs, all drawn from a SplitMix64 stream. The same `(seed, corpus, dictionary,
//! max_len)` always gives the same output, so a failure reproduces from its seed alone
//! (and its printed input regardless).

/// The engine's SplitMix64 stream (one generator for every deterministic test), with the
/// helpers mutations need.
#[derive(Debug, Clone)]
pub struct Rng(pub u64);

impl Rng {
    pub fn next_u64(&mut self) -> u64 {
        let mut g = leofs_engine::disk::SplitMix64(self.0);
        let v = g.next_u64();
        self.0 = g.0;
        v
    }

    /// Uniform-ish in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// True with probability 1/n.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }
}

/// Bytes that separate or terminate fields in the formats under test.
const INTERESTING_BYTES: &[u8] = b"\x00\x01\x7f\x80\xff\n\r\t :;=&?%/\\<>\",.+-_~#*0179aAfFzZ";

/// Numbers at the edges of the parsers' ranges (sizes, counts, part numbers, dates).
const INTERESTING_NUMBERS: &[&[u8]] = &[
    b"0",
    b"1",
    b"00",
    b"-1",
    b"+1",
    b"9",
    b"10000",
    b"10001",
    b"65535",
    b"65536",
    b"2147483648",
    b"4294967295",
    b"4294967296",
    b"5368709120",
    b"5368709121",
    b"9223372036854775807",
    b"9223372036854775808",
    b"18446744073709551615",
    b"18446744073709551616",
    b"99999999999999999999999",
    b"ffffffff",
    b"ffffffffffffffff",
    b"10000000000000000",
    b"1e3",
    b" 1",
];

/// Mutation tokens for target `name` (its keywords and delimiters); empty for unknown
/// names. Also written out as libFuzzer dictionaries (see [`libfuzzer_dict`]).
pub fn dictionary(name: &str) -> &'static [&'static [u8]] {
    match name {
        "engine" => &[
            // Whole 3-byte operations: big put, small put, delete, get, list, compact,
            // checkpoint, restart.
            b"\x06\x01\xff",
            b"\x06\x02\xc0",
            b"\x00\x01\x10",
            b"\x07\x01\x00",
            b"\x09\x01\x00",
            b"\x0b\x00\x00",
            b"\x0c\x00\x00",
            b"\x0d\x00\x00",
            b"\x0e\x00\x00",
        ],
        "http_request" => &[
            b"GET ",
            b"PUT ",
            b"POST ",
            b"HEAD ",
            b"DELETE ",
            b"OPTIONS * ",
            b" HTTP/1.1\r\n",
            b" HTTP/1.0\r\n",
            b" HTTP/2.0\r\n",
            b"\r\n",
            b"\r\n\r\n",
            b"Host: ",
            b"Host: s3.example.com\r\n",
            b"Content-Length: ",
            b"Content-Length: 0\r\n",
            b"Transfer-Encoding: chunked\r\n",
            b"Transfer-Encoding: ",
            b"chunked",
            b"gzip, chunked",
            b"Connection: close\r\n",
            b"Connection: keep-alive\r\n",
            b"Connection: ",
            b"Expect: 100-continue\r\n",
            b"Expect: ",
            b"0\r\n\r\n",
            b"0\r\n",
            b";ext=1",
            b";chunk-signature=",
            b"Trailer: x-amz-checksum-crc32\r\n",
            b"x-amz-checksum-crc32: ",
            b": ",
            b" \t",
            b"\n",
            b"%20",
            b"?",
            b"/",
            b"http://",
        ],
        "auth" => &[
            b"AWS4-HMAC-SHA256 ",
            b"AWS4-ECDSA-P256-SHA256 ",
            b"AWS ",
            b"Credential=",
            b"SignedHeaders=",
            b"Signature=",
            b"host;x-amz-content-sha256;x-amz-date",
            b"aws4_request",
            b"20130524",
            b"20130524T000000Z",
            b"Fri, 24 May 2013 00:00:00 GMT",
            b"us-east-1",
            b"/s3/",
            b"AKIDEXAMPLE",
            b"UNSIGNED-PAYLOAD",
            b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
            b"STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
            b"STREAMING-UNSIGNED-PAYLOAD-TRAILER",
            b"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            b";chunk-signature=",
            b"0;chunk-signature=",
            b"x-amz-trailer-signature:",
            b"x-amz-checksum-crc32:",
            b"X-Amz-Algorithm=AWS4-HMAC-SHA256",
            b"&X-Amz-Credential=",
            b"&X-Amz-Date=",
            b"&X-Amz-Expires=",
            b"&X-Amz-SignedHeaders=host",
            b"&X-Amz-Signature=",
            b"&X-Amz-Security-Token=",
            b"AWSAccessKeyId=",
            b"&Expires=",
            b"&Signature=",
            b"\r\n",
            b"\n",
            b"%2F",
            b"%",
            b"+",
            b"==",
        ],
        "router" => &[
            b"GET\n",
            b"PUT\n",
            b"POST\n",
            b"HEAD\n",
            b"DELETE\n",
            b"\n",
            b"/",
            b"?",
            b"&",
            b"=",
            b"uploads",
            b"uploadId=",
            b"partNumber=",
            b"acl",
            b"location",
            b"versioning",
            b"delete",
            b"list-type=2",
            b"tagging",
            b"versionId=null",
            b"%2F",
            b"%E2%82%AC",
            b"%zz",
            b"%",
            b"+",
            b"..",
            b".-",
            b"192.168.1.1",
            b"s3.example.com",
            b"bucket.s3.example.com",
            b":9000",
            b"[::1]:80",
        ],
        "xml" => &[
            b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>",
            b"<",
            b">",
            b"</",
            b"/>",
            b"<Delete>",
            b"</Delete>",
            b"<Object>",
            b"</Object>",
            b"<Key>",
            b"</Key>",
            b"<Quiet>true</Quiet>",
            b"<VersionId>",
            b"<CompleteMultipartUpload>",
            b"</CompleteMultipartUpload>",
            b"<Part>",
            b"</Part>",
            b"<PartNumber>",
            b"</PartNumber>",
            b"<ETag>",
            b"</ETag>",
            b"<ChecksumCRC32>",
            b"<ChecksumSHA256>",
            b"<CreateBucketConfiguration>",
            b"<LocationConstraint>",
            b"<![CDATA[",
            b"]]>",
            b"<!--",
            b"-->",
            b"<?pi x?>",
            b"<!DOCTYPE d>",
            b"&amp;",
            b"&lt;",
            b"&quot;",
            b"&#x",
            b"&#",
            b"xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"",
            b"s3:",
            b"\"",
        ],
        "rpc" => &[
            // Head: magic and version, op codes, flags, statuses, lengths.
            b"LFRP\x01",
            b"LFRP",
            b"\x01\x00\x00",
            b"\x02\x01\x00",
            b"\x03\x00\x00",
            b"\x10\x01\x08",
            b"\x02\x01\x01",
            b"\x00\x00\x10\x00\x00\x00\x00\x00",
            b"\xff\xff\xff\xff\xff\xff\xff\xff",
            // Message pieces: u32 fields_len (0, max, the 1 MiB limit), write kind +
            // flags + cond tag, an ETag's cond tag and length, bytes16 lengths at the key
            // limit (4096, 4097), list counts (100000, 100001, 1000), an ETag, a key.
            b"\x00\x00\x00\x00",
            b"\xff\xff\xff\xff",
            b"\x00\x00\x10\x00",
            b"\x00\x03\x02\x00\x00",
            b"\x02\x22\x00",
            b"\x00\x10",
            b"\x01\x10",
            b"\xa0\x86\x01\x00",
            b"\xa1\x86\x01\x00",
            b"\xe8\x03\x00\x00",
            b"\"5eb63bbbe01eeed093cb22bb8f5acdc3\"",
            b"bucket/",
        ],
        _ => &[],
    }
}

/// [`dictionary`] in libFuzzer's `-dict=` format: one `"token"` per line, bytes outside
/// printable ASCII (and `"`, `\`) as `\xNN`.
pub fn libfuzzer_dict(name: &str) -> String {
    let mut out =
        format!("# libFuzzer dictionary for `{name}`, written by fuzz/tests/gen_corpus.rs\n");
    for token in dictionary(name) {
        out.push('"');
        for &b in *token {
            if (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\' {
                out.push(char::from(b));
            } else {
                out.push_str(&format!("\\x{b:02x}"));
            }
        }
        out.push_str("\"\n");
    }
    out
}

/// One mutant of a random corpus input (or of nothing, when the corpus is empty):
/// 1 to 8 stacked edits (usually 1 or 2), the result cut to `max_len` bytes.
pub fn mutate(seed: u64, corpus: &[Vec<u8>], dict: &[&[u8]], max_len: usize) -> Vec<u8> {
    let mut rng = Rng(seed);
    let mut data = if corpus.is_empty() {
        Vec::new()
    } else {
        corpus[rng.below(corpus.len())].clone()
    };
    // Mostly one or two edits (close to the seed, past its first checks), sometimes many.
    let most = if rng.one_in(4) { 8 } else { 2 };
    let edits = 1 + rng.below(most);
    for _ in 0..edits {
        edit(&mut rng, &mut data, corpus, dict);
        data.truncate(max_len);
    }
    data
}

/// A random span of `data`: start, and a length biased towards short (≤ 16 bytes).
fn span(rng: &mut Rng, len: usize) -> (usize, usize) {
    let start = rng.below(len + 1);
    let room = len - start;
    let max = if rng.one_in(4) { room } else { room.min(16) };
    (start, rng.below(max + 1))
}

fn edit(rng: &mut Rng, data: &mut Vec<u8>, corpus: &[Vec<u8>], dict: &[&[u8]]) {
    let len = data.len();
    match rng.below(15) {
        // Flip one bit.
        0 if len > 0 => {
            let i = rng.below(len);
            data[i] ^= 1 << rng.below(8);
        }
        // Replace a byte with a random one.
        1 if len > 0 => {
            let i = rng.below(len);
            data[i] = rng.byte();
        }
        // Replace a byte with a delimiter.
        2 if len > 0 => {
            let i = rng.below(len);
            data[i] = INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())];
        }
        // Add a small delta to a byte (walks digits and letters).
        3 if len > 0 => {
            let i = rng.below(len);
            let delta = 1 + rng.below(4) as u8;
            data[i] = if rng.one_in(2) {
                data[i].wrapping_add(delta)
            } else {
                data[i].wrapping_sub(delta)
            };
        }
        // Insert random bytes.
        4 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.byte()).collect();
            data.splice(at..at, bytes);
        }
        // Insert a run of one byte (long lines, deep nesting, many separators).
        5 => {
            let at = rng.below(len + 1);
            let b = if rng.one_in(2) {
                INTERESTING_BYTES[rng.below(INTERESTING_BYTES.len())]
            } else {
                data.get(rng.below(len)).copied().unwrap_or(b'a')
            };
            let max = if rng.one_in(8) { 5000 } else { 64 };
            let n = 1 + rng.below(max);
            data.splice(at..at, std::iter::repeat_n(b, n));
        }
        // Insert or overwrite with a dictionary token.
        6 | 7 if !dict.is_empty() => {
            let token = dict[rng.below(dict.len())];
            let at = rng.below(len + 1);
            if rng.one_in(2) {
                data.splice(at..at, token.iter().copied());
            } else {
                let end = (at + token.len()).min(len);
                data.splice(at..end, token.iter().copied());
            }
        }
        // Delete a span.
        8 if len > 0 => {
            let (start, n) = span(rng, len);
            data.drain(start..start + n);
        }
        // Duplicate a span somewhere else.
        9 if len > 0 => {
            let (start, n) = span(rng, len);
            let copy = data[start..start + n].to_vec();
            let at = rng.below(len + 1);
            data.splice(at..at, copy);
        }
        // Splice in a span of another corpus input.
        10 if !corpus.is_empty() => {
            let other = &corpus[rng.below(corpus.len())];
            let (start, n) = span(rng, other.len());
            let at = rng.below(len + 1);
            data.splice(at..at, other[start..start + n].iter().copied());
        }
        // Crossover: our prefix, another input's suffix.
        11 if !corpus.is_empty() => {
            let other = &corpus[rng.below(corpus.len())];
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            data.truncate(cut);
            data.extend_from_slice(&other[from..]);
        }
        // Truncate.
        12 if len > 0 => {
            data.truncate(rng.below(len));
        }
        // Replace a run of ASCII digits (or hex digits) with an edge-case number.
        13 if len > 0 => {
            let number = INTERESTING_NUMBERS[rng.below(INTERESTING_NUMBERS.len())];
            let i = rng.below(len);
            let start = match data[i..].iter().position(u8::is_ascii_hexdigit) {
                Some(p) => i + p,
                None => i,
            };
            let end = start
                + data[start..]
                    .iter()
                    .take_while(|b| b.is_ascii_hexdigit())
                    .count();
            data.splice(start..end, number.iter().copied());
        }
        // Swap two bytes.
        _ if len > 1 => {
            let (i, j) = (rng.below(len), rng.below(len));
            data.swap(i, j);
        }
        _ => data.push(rng.byte()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deterministic_and_bounded() {
        let corpus = vec![b"GET / HTTP/1.1\r\n\r\n".to_vec(), b"<a>1</a>".to_vec()];
        let dict = dictionary("http_request");
        let mut changed = 0;
        for seed in 0..2000 {
            let a = mutate(seed, &corpus, dict, 64);
            assert_eq!(a, mutate(seed, &corpus, dict, 64));
            assert!(a.len() <= 64);
            changed += usize::from(!corpus.contains(&a));
        }
        assert!(
            changed > 1800,
            "only {changed} mutants differ from their seed"
        );
        assert!(mutate(1, &[], &[], 16).len() <= 16);
    }

    #[test]
    fn dict_format() {
        let d = libfuzzer_dict("engine");
        assert!(d.contains("\"\\x06\\x01\\xff\"\n"));
        assert!(libfuzzer_dict("xml").contains("\"\\x22\"\n"));
        for (name, _) in crate::TARGETS {
            assert!(!dictionary(name).is_empty(), "{name}");
        }
    }
}
