//! Incremental, zero-copy decoder for `Content-Encoding: aws-chunked` bodies.
//!
//! ```text
//! signed:    <hex>;chunk-signature=<64 hex>\r\n<data>\r\n … 0;chunk-signature=<sig>\r\n\r\n
//! + trailer: … 0;chunk-signature=<sig>\r\n<name>:<value>\r\n x-amz-trailer-signature:<sig>\r\n\r\n
//! unsigned:  <hex>\r\n<data>\r\n … 0\r\n<name>:<value>\r\n\r\n
//! ```
//!
//! The decoder is a sans-I/O state machine: the caller feeds whatever slices it has (one
//! byte at a time works) and gets back ranges of chunk data *inside its own buffer*, so
//! payload bytes are never copied. Only framing lines (size lines, trailers) are buffered,
//! and those are bounded.
//!
//! Data is handed out before its chunk signature can be checked (the signature covers the
//! whole chunk). A chunk's signature is checked as soon as its last byte is seen, and the
//! upload is authentic only once [`Decoded::done`] (or [`AwsChunkedDecoder::finish`])
//! succeeds: the caller must discard everything on any error.
//!
//! Tolerated client variations: bare `\n` line ends; unknown chunk extensions; a blank line
//! between the final chunk and the trailers (some encoders emit the empty final chunk's
//! CRLF first); a body that ends without the closing blank line (checked by `finish`);
//! stray CR/LF after the end (minio-go writes an extra `\r\n`).

use std::ops::Range;

use sha2::{Digest, Sha256};

use super::chunk_frame::{malformed, parse_size_line, MAX_LINE, MAX_TRAILERS};
use super::chunk_signer::{canonical_trailers, ChunkSigner};
use super::primitives::{decode_hex32, sha256};
use super::{AuthError, PayloadMode};

/// The outcome of one [`AwsChunkedDecoder::decode`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes of the input used; call again with the rest.
    pub consumed: usize,
    /// Payload bytes, as indices into the input given to this call.
    pub data: Option<Range<usize>>,
    /// The body ended and every signature checked out.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading a chunk-size line.
    Header,
    /// Inside chunk data (`remaining` bytes left).
    Data,
    /// Reading the empty line that closes chunk data.
    DataEnd,
    /// No trailers: reading the empty line after the final chunk.
    FinalEnd,
    /// Reading trailer lines.
    Trailer,
    Done,
}

/// Decodes one aws-chunked body, verifying chunk and trailer signatures when signed.
#[derive(Clone)]
pub struct AwsChunkedDecoder {
    state: State,
    signer: Option<ChunkSigner>,
    has_trailer: bool,
    trailer_expected: bool,
    line: Vec<u8>,
    remaining: u64,
    chunk_sig: [u8; 32],
    hasher: Sha256,
    decoded: u64,
    expected_len: Option<u64>,
    trailers: Vec<(String, String)>,
    trailer_sig: Option<[u8; 32]>,
    skipped_blank: bool,
}

impl std::fmt::Debug for AwsChunkedDecoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsChunkedDecoder")
            .field("state", &self.state)
            .field("signed", &self.signer.is_some())
            .field("decoded", &self.decoded)
            .finish_non_exhaustive()
    }
}

impl AwsChunkedDecoder {
    /// A decoder for a streaming `mode`. Signed modes need the `signer` from
    /// [`super::VerifiedV4::chunk_signer`]; for `STREAMING-UNSIGNED-PAYLOAD-TRAILER` it is
    /// ignored. Non-streaming modes are refused.
    pub fn new(mode: PayloadMode, signer: Option<ChunkSigner>) -> Result<Self, AuthError> {
        let signer = match mode {
            PayloadMode::StreamingSigned | PayloadMode::StreamingSignedTrailer => {
                Some(signer.ok_or(AuthError::InvalidRequest(
                    "a signed aws-chunked payload needs a chunk signer",
                ))?)
            }
            PayloadMode::StreamingUnsignedTrailer => None,
            PayloadMode::Unsigned | PayloadMode::Sha256(_) => {
                return Err(AuthError::InvalidRequest("the payload is not aws-chunked"))
            }
        };
        Ok(AwsChunkedDecoder {
            state: State::Header,
            signer,
            has_trailer: mode.has_trailer(),
            trailer_expected: false,
            line: Vec::new(),
            remaining: 0,
            chunk_sig: [0; 32],
            hasher: Sha256::new(),
            decoded: 0,
            expected_len: None,
            trailers: Vec::new(),
            trailer_sig: None,
            skipped_blank: false,
        })
    }

    /// Requires the decoded payload to be exactly `len` bytes (`x-amz-decoded-content-length`,
    /// see [`super::parse_decoded_content_length`]); checked as data streams and at the end.
    pub fn with_decoded_length(mut self, len: u64) -> Self {
        self.expected_len = Some(len);
        self
    }

    /// Declares that trailers will follow (the request had `x-amz-trailer`). In unsigned
    /// mode this lets a blank line right after the final chunk be skipped instead of read
    /// as the end; signed-trailer mode always expects the trailer signature.
    pub fn with_trailer_expected(mut self, expected: bool) -> Self {
        self.trailer_expected = expected;
        self
    }

    /// Payload bytes handed out so far.
    pub fn decoded_len(&self) -> u64 {
        // `decoded` counts whole chunks as their size lines are read; `remaining` is the
        // part of the current chunk not yet handed out.
        self.decoded.saturating_sub(self.remaining)
    }

    /// Whether the body has been fully decoded and verified.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Trailers received, `(lowercase name, trimmed value)`, without the trailer signature.
    /// Authenticated (in signed-trailer mode) only once the decoder is done.
    pub fn trailers(&self) -> &[(String, String)] {
        &self.trailers
    }

    /// The value of trailer `name` (lowercase), e.g. `x-amz-checksum-crc32`.
    pub fn trailer(&self, name: &str) -> Option<&str> {
        self.trailers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Feeds the next bytes of the body. Returns how much was consumed, at most one range
    /// of payload data within `input`, and whether the body is complete. Call in a loop
    /// until all input is consumed; each call with non-empty input consumes at least one
    /// byte or fails.
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, AuthError> {
        let mut pos = 0usize;
        loop {
            let rest = input.get(pos..).unwrap_or_default();
            match self.state {
                State::Done => {
                    let junk = rest
                        .iter()
                        .take_while(|&&b| b == b'\r' || b == b'\n')
                        .count();
                    if junk < rest.len() {
                        return Err(malformed("data after the end of the aws-chunked body"));
                    }
                    return Ok(Decoded {
                        consumed: input.len(),
                        data: None,
                        done: true,
                    });
                }
                State::Data => {
                    if rest.is_empty() {
                        return Ok(Decoded {
                            consumed: pos,
                            data: None,
                            done: false,
                        });
                    }
                    let take =
                        usize::try_from(self.remaining).map_or(rest.len(), |r| r.min(rest.len()));
                    let chunk = rest.get(..take).unwrap_or_default();
                    if self.signer.is_some() {
                        self.hasher.update(chunk);
                    }
                    self.remaining = self.remaining.saturating_sub(chunk.len() as u64);
                    let start = pos;
                    pos += chunk.len();
                    if self.remaining == 0 {
                        self.end_of_chunk_data()?;
                    }
                    return Ok(Decoded {
                        consumed: pos,
                        data: Some(start..pos),
                        done: false,
                    });
                }
                State::Header | State::DataEnd | State::FinalEnd | State::Trailer => {
                    let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
                        self.push_line(rest)?;
                        return Ok(Decoded {
                            consumed: input.len(),
                            data: None,
                            done: false,
                        });
                    };
                    self.push_line(rest.get(..nl).unwrap_or_default())?;
                    pos += nl + 1;
                    self.complete_line()?;
                }
            }
        }
    }

    /// Signals the end of the body. Accepts a body that stops right after the final chunk
    /// or the last trailer line without the closing blank line; anything earlier is
    /// [`AuthError::IncompleteBody`].
    pub fn finish(&mut self) -> Result<(), AuthError> {
        match self.state {
            State::Done => Ok(()),
            State::FinalEnd | State::Trailer => {
                if !self.line.is_empty() {
                    // A last line without its newline: process it as if terminated.
                    self.complete_line()?;
                }
                if self.state != State::Done {
                    self.finalize()?;
                }
                Ok(())
            }
            State::Header | State::Data | State::DataEnd => Err(AuthError::IncompleteBody),
        }
    }

    fn push_line(&mut self, bytes: &[u8]) -> Result<(), AuthError> {
        if self.line.len().saturating_add(bytes.len()) > MAX_LINE {
            return Err(malformed("framing line too long"));
        }
        self.line.extend_from_slice(bytes);
        Ok(())
    }

    /// Handles the buffered line (its `\n` already stripped) for the current state.
    fn complete_line(&mut self) -> Result<(), AuthError> {
        let mut line = std::mem::take(&mut self.line);
        if line.last() == Some(&b'\r') {
            line.pop();
        }
        let result = self.on_line(&line);
        line.clear();
        self.line = line; // keep the allocation for the next line
        result
    }

    fn on_line(&mut self, line: &[u8]) -> Result<(), AuthError> {
        match self.state {
            State::Header => self.on_size_line(line),
            State::DataEnd if line.is_empty() => {
                self.state = State::Header;
                Ok(())
            }
            State::DataEnd => Err(malformed("chunk data not followed by CRLF")),
            State::FinalEnd if line.is_empty() => self.finalize(),
            State::FinalEnd => Err(malformed("data after the final chunk")),
            State::Trailer => self.on_trailer_line(line),
            State::Data | State::Done => Err(malformed("unexpected framing line")),
        }
    }

    fn on_size_line(&mut self, line: &[u8]) -> Result<(), AuthError> {
        let (size, sig) = parse_size_line(line)?;
        if self.signer.is_some() {
            self.chunk_sig = sig.ok_or(malformed("missing chunk-signature"))?;
        }
        if let Some(expected) = self.expected_len {
            if self.decoded.saturating_add(size) > expected {
                return Err(AuthError::IncompleteBody);
            }
        }
        self.decoded = self
            .decoded
            .checked_add(size)
            .ok_or(malformed("body too large"))?;
        if size > 0 {
            self.remaining = size;
            self.hasher = Sha256::new();
            self.state = State::Data;
            return Ok(());
        }
        // The final, empty chunk: its signature covers empty data.
        if let Some(signer) = self.signer.as_mut() {
            signer.verify_chunk(&sha256(b""), &self.chunk_sig)?;
        }
        self.state = if self.has_trailer {
            State::Trailer
        } else {
            State::FinalEnd
        };
        Ok(())
    }

    fn end_of_chunk_data(&mut self) -> Result<(), AuthError> {
        if let Some(signer) = self.signer.as_mut() {
            let hash: [u8; 32] = std::mem::take(&mut self.hasher).finalize().into();
            signer.verify_chunk(&hash, &self.chunk_sig)?;
        }
        self.state = State::DataEnd;
        Ok(())
    }

    fn on_trailer_line(&mut self, line: &[u8]) -> Result<(), AuthError> {
        if line.is_empty() {
            let nothing_yet = self.trailers.is_empty() && self.trailer_sig.is_none();
            let expect_more = self.signer.is_some() || self.trailer_expected;
            if nothing_yet && expect_more && !self.skipped_blank {
                self.skipped_blank = true;
                return Ok(());
            }
            return self.finalize();
        }
        let colon = line
            .iter()
            .position(|&b| b == b':')
            .ok_or(malformed("trailer line without ':'"))?;
        let (name, value) = (
            line.get(..colon).unwrap_or_default(),
            line.get(colon + 1..).unwrap_or_default(),
        );
        let name = std::str::from_utf8(name.trim_ascii())
            .map_err(|_| malformed("trailer is not UTF-8"))?;
        let value = std::str::from_utf8(value.trim_ascii())
            .map_err(|_| malformed("trailer is not UTF-8"))?;
        if name.eq_ignore_ascii_case("x-amz-trailer-signature") {
            if self.signer.is_none() {
                return Err(malformed("trailer signature in an unsigned payload"));
            }
            let sig = decode_hex32(value.as_bytes()).ok_or(AuthError::SignatureDoesNotMatch)?;
            if self.trailer_sig.replace(sig).is_some() {
                return Err(malformed("repeated trailer signature"));
            }
            return Ok(());
        }
        if self.trailer_sig.is_some() {
            return Err(malformed("trailer after the trailer signature"));
        }
        if name.is_empty() || self.trailers.len() >= MAX_TRAILERS {
            return Err(malformed("invalid or too many trailers"));
        }
        self.trailers
            .push((name.to_ascii_lowercase(), value.to_owned()));
        Ok(())
    }

    /// End of body: checks the trailer signature and the decoded length.
    fn finalize(&mut self) -> Result<(), AuthError> {
        if self.has_trailer {
            if let Some(signer) = self.signer.as_mut() {
                match &self.trailer_sig {
                    Some(sig) => {
                        let canonical = canonical_trailers(
                            self.trailers.iter().map(|(n, v)| (n.as_str(), v.as_str())),
                        );
                        signer.verify_trailer(&canonical, sig)?;
                    }
                    // Trailers nobody signed cannot be trusted.
                    None if !self.trailers.is_empty() => {
                        return Err(AuthError::SignatureDoesNotMatch)
                    }
                    None => {}
                }
            }
        }
        if self.expected_len.is_some_and(|n| n != self.decoded) {
            return Err(AuthError::IncompleteBody);
        }
        self.state = State::Done;
        Ok(())
    }
}
