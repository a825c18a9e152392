//! Incremental decoder for the `chunked` transfer coding (RFC 9112 §7.1).
//!
//! The decoder is a byte-level state machine for the framing (size lines, CRLFs, trailers)
//! and hands body bytes back as index ranges into the caller's input, so the body is never
//! copied here: the connection loop can write those ranges straight to storage. Input may
//! be split anywhere, down to one byte per call.
//!
//! Strictness: line endings must be CRLF (a bare LF is where front proxies and servers
//! have disagreed in smuggling attacks), sizes are plain hex without sign or `0x`, and every
//! framing line is bounded by [`Limits`].

use std::ops::Range;

use super::{HttpError, Limits};

/// Result of one [`ChunkedDecoder::decode`] call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes of `input` used by this call (framing and data). Resume from here next call.
    pub consumed: usize,
    /// Body bytes found by this call, as indices into `input` (always within `..consumed`).
    pub data: Option<Range<usize>>,
    /// The last chunk and trailer section have been read: the body is complete, and any
    /// input after `consumed` belongs to the next request.
    pub done: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Reading the hex digits of a chunk size.
    Size,
    /// Whitespace after the size: only more whitespace, `;` or CR may follow.
    SizeSpace,
    /// Inside chunk extensions, which are skipped up to the CR.
    Extension,
    /// Saw the CR ending the size line.
    SizeLf,
    /// Inside chunk data; `remaining` bytes to go.
    Data,
    /// Expecting the CR after chunk data.
    DataCr,
    /// Expecting the LF after chunk data.
    DataLf,
    /// Reading a trailer line (or the final empty line) into `line`.
    Trailer,
    /// Saw the CR ending a trailer line.
    TrailerLf,
    /// The body is complete.
    Done,
    /// A previous call failed; the same error is returned forever.
    Failed(HttpError),
}

/// Decodes one chunked body. Create one per request; see the module docs.
#[derive(Debug, Clone)]
pub struct ChunkedDecoder {
    state: State,
    /// The chunk size being parsed.
    size: u64,
    /// Whether the size line had at least one hex digit.
    has_digit: bool,
    /// Bytes of the current size line so far, bounded by `max_line`.
    line_len: usize,
    /// Data bytes left in the current chunk.
    remaining: u64,
    /// The trailer line being collected (without CRLF).
    line: Vec<u8>,
    /// Bytes of trailer section so far, CRLFs included, bounded by `max_trailer_bytes`.
    trailer_bytes: usize,
    trailers: Vec<(String, Vec<u8>)>,
    max_line: usize,
    max_trailer_bytes: usize,
    max_trailers: usize,
}

impl ChunkedDecoder {
    /// A decoder for one body, bounded by `limits` (chunk line length, trailer size, and
    /// `max_headers` as the trailer field count).
    pub fn new(limits: &Limits) -> Self {
        ChunkedDecoder {
            state: State::Size,
            size: 0,
            has_digit: false,
            line_len: 0,
            remaining: 0,
            line: Vec::new(),
            trailer_bytes: 0,
            trailers: Vec::new(),
            max_line: limits.max_chunk_line_bytes,
            max_trailer_bytes: limits.max_trailer_bytes,
            max_trailers: limits.max_headers,
        }
    }

    /// Feeds `input` (the bytes after whatever earlier calls consumed).
    ///
    /// Stops after the first run of body data, at the end of the body, or when `input` is
    /// used up. So: call again with `&input[consumed..]` while `consumed < input.len()` and
    /// not `done`; when everything was consumed, read more from the socket first.
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, HttpError> {
        let result = self.run(input);
        if let Err(e) = result {
            self.state = State::Failed(e);
        }
        result
    }

    /// Whether the whole body, trailers included, has been read.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Trailer fields received after the last chunk, as `(lowercased name, raw value)`.
    /// Complete once [`is_done`](Self::is_done).
    pub fn trailers(&self) -> &[(String, Vec<u8>)] {
        &self.trailers
    }

    /// Takes the trailer fields out of the decoder.
    pub fn take_trailers(&mut self) -> Vec<(String, Vec<u8>)> {
        std::mem::take(&mut self.trailers)
    }

    fn run(&mut self, input: &[u8]) -> Result<Decoded, HttpError> {
        let mut pos = 0;
        while let Some(&b) = input.get(pos) {
            match self.state {
                State::Data => {
                    let avail = input.len() - pos;
                    let take = usize::try_from(self.remaining).map_or(avail, |r| r.min(avail));
                    // `take <= avail` and `take <= remaining`, so neither step can overflow.
                    self.remaining -= take as u64;
                    if self.remaining == 0 {
                        self.state = State::DataCr;
                    }
                    let end = pos + take;
                    return Ok(Decoded {
                        consumed: end,
                        data: Some(pos..end),
                        done: false,
                    });
                }
                State::Done => {
                    return Ok(Decoded {
                        consumed: pos,
                        data: None,
                        done: true,
                    })
                }
                State::Failed(e) => return Err(e),
                _ => self.framing_byte(b)?,
            }
            pos += 1;
            if self.state == State::Done {
                return Ok(Decoded {
                    consumed: pos,
                    data: None,
                    done: true,
                });
            }
        }
        match self.state {
            State::Failed(e) => Err(e),
            state => Ok(Decoded {
                consumed: pos,
                data: None,
                done: state == State::Done,
            }),
        }
    }

    /// Advances the framing state machine by one byte (never called in `Data`).
    fn framing_byte(&mut self, b: u8) -> Result<(), HttpError> {
        match self.state {
            State::Size | State::SizeSpace | State::Extension | State::SizeLf => {
                self.line_len = self.line_len.saturating_add(1);
                if self.line_len > self.max_line {
                    return Err(HttpError::BadChunk("chunk size line too long"));
                }
                self.size_line_byte(b)
            }
            State::DataCr => expect(b, b'\r', State::DataLf, &mut self.state),
            State::DataLf => expect(b, b'\n', State::Size, &mut self.state),
            State::Trailer | State::TrailerLf => self.trailer_byte(b),
            State::Data | State::Done | State::Failed(_) => Ok(()),
        }
    }

    fn size_line_byte(&mut self, b: u8) -> Result<(), HttpError> {
        match (self.state, b) {
            (State::Size, _) if hex_value(b).is_some() => {
                let digit = u64::from(hex_value(b).unwrap_or(0));
                // Leading zeros are legal and cost nothing; only real overflow is refused.
                self.size = self
                    .size
                    .checked_mul(16)
                    .and_then(|s| s.checked_add(digit))
                    .ok_or(HttpError::BadChunk("chunk size overflows 64 bits"))?;
                self.has_digit = true;
            }
            (State::Size, b' ' | b'\t' | b';' | b'\r') if !self.has_digit => {
                return Err(HttpError::BadChunk("missing chunk size"));
            }
            (State::Size | State::SizeSpace, b' ' | b'\t') => self.state = State::SizeSpace,
            (State::Size | State::SizeSpace, b';') => self.state = State::Extension,
            (State::Size | State::SizeSpace | State::Extension, b'\r') => {
                self.state = State::SizeLf;
            }
            (State::Extension, b'\t' | 0x20..=0x7e | 0x80..=0xff) => {}
            (State::Extension, _) => {
                return Err(HttpError::BadChunk("invalid byte in chunk extension"));
            }
            (State::SizeLf, b'\n') => {
                self.line_len = 0;
                self.has_digit = false;
                if self.size == 0 {
                    self.state = State::Trailer;
                } else {
                    self.remaining = self.size;
                    self.size = 0;
                    self.state = State::Data;
                }
            }
            (State::SizeLf, _) => return Err(HttpError::BadChunk("expected LF after CR")),
            _ => return Err(HttpError::BadChunk("invalid chunk size")),
        }
        Ok(())
    }

    fn trailer_byte(&mut self, b: u8) -> Result<(), HttpError> {
        self.trailer_bytes = self.trailer_bytes.saturating_add(1);
        if self.trailer_bytes > self.max_trailer_bytes {
            return Err(HttpError::TrailersTooLarge);
        }
        match (self.state, b) {
            (State::Trailer, b'\r') => self.state = State::TrailerLf,
            (State::Trailer, b'\n') => return Err(HttpError::BadChunk("bare LF in trailer")),
            (State::Trailer, _) => self.line.push(b),
            (State::TrailerLf, b'\n') => {
                if self.line.is_empty() {
                    self.state = State::Done;
                } else {
                    if self.trailers.len() >= self.max_trailers {
                        return Err(HttpError::TrailersTooLarge);
                    }
                    let field = parse_trailer_line(&self.line)?;
                    self.trailers.push(field);
                    self.line.clear();
                    self.state = State::Trailer;
                }
            }
            _ => return Err(HttpError::BadChunk("expected LF after CR")),
        }
        Ok(())
    }
}

fn expect(b: u8, want: u8, next: State, state: &mut State) -> Result<(), HttpError> {
    if b == want {
        *state = next;
        Ok(())
    } else {
        Err(HttpError::BadChunk("missing CRLF after chunk data"))
    }
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// `tchar` from RFC 9110 §5.6.2.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses `field-name ":" OWS field-value OWS` (no CRLF) into a lowercased name and the
/// trimmed raw value.
fn parse_trailer_line(line: &[u8]) -> Result<(String, Vec<u8>), HttpError> {
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(HttpError::BadChunk("trailer field without colon"))?;
    let (name, rest) = line.split_at(colon);
    // Also rejects an empty name and obs-fold continuation lines (leading whitespace).
    if name.is_empty() || !name.iter().all(|&b| is_tchar(b)) {
        return Err(HttpError::BadChunk("invalid trailer field name"));
    }
    let mut value = rest.get(1..).unwrap_or(&[]);
    while let [b' ' | b'\t', tail @ ..] = value {
        value = tail;
    }
    while let [head @ .., b' ' | b'\t'] = value {
        value = head;
    }
    if !value
        .iter()
        .all(|&b| b == b'\t' || (b >= 0x20 && b != 0x7f))
    {
        return Err(HttpError::BadChunk("invalid trailer field value"));
    }
    let name = name
        .iter()
        .map(|&b| char::from(b.to_ascii_lowercase()))
        .collect();
    Ok((name, value.to_vec()))
}

#[cfg(test)]
#[path = "chunked_tests.rs"]
mod tests;
