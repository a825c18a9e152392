//! The `multipart` workload: each operation is one whole multipart upload of a new object
//! of `--size`, cut into parts of `--part-size` (all but the last, which holds the rest):
//! CreateMultipartUpload, UploadPart for every part, CompleteMultipartUpload with the
//! parts' ETags. As warp's `multipart-put` does, an upload sends its parts in parallel,
//! over `--part-concurrency` connections of its own, each with one part in flight.
//!
//! The upload as a whole is counted under [`OpKind::Multipart`] (latency from the create
//! to the complete's reply, bytes of the object); each request again under its phase
//! (CREATE, UPLOAD-PART, COMPLETE, and ABORT after a failure). When a request fails, the
//! parts not yet started are not sent, and the upload is aborted; the upload counts as one
//! error, named after the phase that failed (`UPLOAD-PART 500 InternalError`).
//!
//! Part bodies are prefixes of the run's random buffer, like PUT bodies.

use super::conn::{Conn, Reply, INLINE_BODY_MAX};
use super::http::{s3_error_code, xml_element, xml_unescape};
use super::report::OpKind;
use super::sign::{sha256_hex, Req, Signer};
use super::worker::{mix, Ctx, Rng};
use leofs_net::s3::auth::{aws_encode, EMPTY_SHA256_HEX};
use std::cell::{Cell, RefCell};
use std::fmt::Write;
use std::rc::Rc;
use std::time::Instant;

/// S3's smallest part, except the last.
pub const MIN_PART: usize = 5 << 20;
/// S3's largest part.
pub const MAX_PART: usize = 5 << 30;
/// S3's most parts per upload.
pub const MAX_PARTS: usize = 10_000;
/// Response bytes kept to find an UploadId, or an error inside a 200 of the complete.
const KEEP_XML: usize = 64 * 1024;
/// Body hashes kept for `--signed-payload` (the full part size, the last part's size).
const HASHES_KEPT: usize = 4;

/// Parts of an object of `size` bytes cut in parts of `part_size`: `ceil(size /
/// part_size)`, and one (empty) part for an empty object.
pub fn part_count(size: usize, part_size: usize) -> usize {
    size.div_ceil(part_size.max(1)).max(1)
}

/// Bytes of part `i` (from 0): `part_size`, but the rest of the object for the last part.
pub fn part_len(size: usize, part_size: usize, i: usize) -> usize {
    let ps = part_size.max(1);
    size.saturating_sub(i.saturating_mul(ps)).min(ps)
}

/// The sizes of an object's parts, in order.
pub fn part_sizes(size: usize, part_size: usize) -> impl Iterator<Item = usize> {
    (0..part_count(size, part_size)).map(move |i| part_len(size, part_size, i))
}

/// Appends the CompleteMultipartUpload document for parts 1..=N with these ETags (as the
/// server sent them, quotes included).
pub fn complete_xml(out: &mut Vec<u8>, etags: &[String]) {
    out.extend_from_slice(
        b"<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">",
    );
    let mut s = String::with_capacity(96);
    for (i, e) in etags.iter().enumerate() {
        s.clear();
        let _ = write!(s, "<Part><PartNumber>{}</PartNumber><ETag>", i + 1);
        for c in e.chars() {
            match c {
                '&' => s.push_str("&amp;"),
                '<' => s.push_str("&lt;"),
                '>' => s.push_str("&gt;"),
                c => s.push(c),
            }
        }
        s.push_str("</ETag></Part>");
        out.extend_from_slice(s.as_bytes());
    }
    out.extend_from_slice(b"</CompleteMultipartUpload>");
}

/// Why a request, or an upload, failed.
#[derive(Debug)]
struct Failure {
    /// `timeout`, `io: ...`, `500 InternalError`, `no ETag`...
    kind: String,
    /// No reply came: the server may have done it anyway.
    maybe_applied: bool,
}

/// A request body.
#[derive(Clone, Copy)]
enum Body<'a> {
    None,
    /// Copied behind the head.
    Inline(&'a [u8]),
    /// The first bytes of the run's random buffer.
    Random(usize),
}

/// What the connections of one task share: the signer and the body hashes.
struct Client<'a> {
    ctx: &'a Ctx,
    signer: RefCell<Signer>,
    /// (length, hex SHA-256) of the bodies hashed for `--signed-payload`, newest last.
    hashes: RefCell<Vec<(usize, Rc<str>)>>,
}

impl Client<'_> {
    /// The `x-amz-content-sha256` of the first `len` bytes of the random buffer.
    fn payload_hash(&self, len: usize) -> Rc<str> {
        let mut h = self.hashes.borrow_mut();
        if let Some((_, v)) = h.iter().find(|(l, _)| *l == len) {
            return v.clone();
        }
        let v: Rc<str> = sha256_hex(&self.ctx.body[..len]).into();
        if h.len() >= HASHES_KEPT {
            h.remove(0);
        }
        h.push((len, v.clone()));
        v
    }

    /// Sends one signed request on `conn` and counts it under `kind` (with `bytes` when it
    /// succeeds). A 2xx reply is a success when `check` finds nothing wrong in it.
    async fn send(
        &self,
        kind: OpKind,
        conn: &mut Conn,
        r: &Req<'_>,
        body: Body<'_>,
        bytes: u64,
        check: impl FnOnce(&Conn) -> Result<(), String>,
    ) -> Result<Reply, Failure> {
        let cfg = &self.ctx.cfg;
        conn.req.clear();
        self.signer.borrow_mut().write_head(&mut conn.req, r);
        let mut separate = None;
        match body {
            Body::None => {}
            Body::Inline(b) => conn.req.extend_from_slice(b),
            Body::Random(len) if len <= INLINE_BODY_MAX => {
                conn.req.extend_from_slice(&self.ctx.body[..len])
            }
            Body::Random(len) => separate = Some(&self.ctx.body[..len]),
        }
        let keep = match kind {
            OpKind::MpCreate | OpKind::MpComplete => KEEP_XML,
            _ => 0,
        };
        let start = Instant::now();
        let r = leofs_rt::task::timeout(cfg.op_timeout, conn.exchange(separate, false, keep)).await;
        let ns = start.elapsed().as_nanos() as u64;
        let lost = |kind: String| Failure {
            kind,
            maybe_applied: true,
        };
        let res = match r {
            None => {
                conn.reset();
                Err(lost("timeout".into()))
            }
            Some(Err(e)) => Err(lost(format!("io: {e}"))),
            Some(Ok(rep)) if (200..300).contains(&rep.status) => {
                check(conn).map(|()| rep).map_err(|kind| Failure {
                    kind: format!("{} {kind}", rep.status),
                    maybe_applied: false,
                })
            }
            Some(Ok(rep)) => Err(Failure {
                kind: format!("{} {}", rep.status, s3_error_code(&conn.kept).unwrap_or(""))
                    .trim_end()
                    .to_string(),
                maybe_applied: false,
            }),
        };
        let mut st = self.ctx.stats.borrow_mut();
        let o = st.op(kind);
        match &res {
            Ok(_) => {
                o.hist.record(ns);
                o.bytes += bytes;
            }
            Err(f) => *o.errors.entry(f.kind.clone()).or_default() += 1,
        }
        res
    }
}

/// One upload's parts, shared by the connections that send them.
struct Parts<'a> {
    path: &'a str,
    /// The UploadId, URI-encoded for the query.
    upload_id: &'a str,
    size: usize,
    count: usize,
    /// The next part to send (from 0).
    next: Cell<usize>,
    /// The first failure: no part is started after it.
    failed: RefCell<Option<Failure>>,
    /// The ETag of each part, as the server sent it.
    etags: RefCell<Vec<String>>,
}

/// One connection's share of an upload: takes the next part until none is left or one
/// failed.
async fn send_parts(client: &Client<'_>, conn: &mut Conn, up: &Parts<'_>) {
    let cfg = &client.ctx.cfg;
    let mut query = String::with_capacity(128);
    loop {
        let i = up.next.get();
        if i >= up.count || up.failed.borrow().is_some() {
            return;
        }
        up.next.set(i + 1);
        let len = part_len(up.size, cfg.part_size, i);
        query.clear();
        // Parameters in name order: the query is its own canonical form.
        let _ = write!(query, "partNumber={}&uploadId={}", i + 1, up.upload_id);
        let hash = cfg.signed_payload.then(|| client.payload_hash(len));
        let r = Req {
            method: "PUT",
            path: up.path,
            query: &query,
            payload: hash.as_deref().unwrap_or("UNSIGNED-PAYLOAD"),
            content_length: Some(len as u64),
            close: !cfg.keep_alive,
        };
        let check = |c: &Conn| {
            if c.etag.is_empty() {
                Err("no ETag".to_string())
            } else {
                Ok(())
            }
        };
        match client
            .send(
                OpKind::MpPart,
                conn,
                &r,
                Body::Random(len),
                len as u64,
                check,
            )
            .await
        {
            Ok(_) => up.etags.borrow_mut()[i] = conn.etag.clone(),
            Err(f) => {
                let mut failed = up.failed.borrow_mut();
                if failed.is_none() {
                    *failed = Some(Failure {
                        kind: format!("{} {}", OpKind::MpPart.name(), f.kind),
                        maybe_applied: false,
                    });
                }
                return;
            }
        }
    }
}

/// One whole upload of `size` bytes to `path`; the failure is named after its phase.
/// `xml` is a buffer for the complete's body.
async fn upload(
    client: &Client<'_>,
    conns: &mut [Conn],
    path: &str,
    size: usize,
    xml: &mut Vec<u8>,
) -> Result<(), Failure> {
    let cfg = &client.ctx.cfg;
    let close = !cfg.keep_alive;
    let phase = |k: OpKind, f: Failure| Failure {
        kind: format!("{} {}", k.name(), f.kind),
        maybe_applied: f.maybe_applied,
    };
    let Some((first, _)) = conns.split_first_mut() else {
        return Err(Failure {
            kind: "no connection".into(),
            maybe_applied: false,
        });
    };

    let create = Req {
        method: "POST",
        path,
        query: "uploads",
        payload: EMPTY_SHA256_HEX,
        content_length: Some(0),
        close,
    };
    let check = |c: &Conn| match xml_element(&c.kept, "UploadId") {
        Some(id) if !id.is_empty() => Ok(()),
        _ => Err("no UploadId".to_string()),
    };
    client
        .send(OpKind::MpCreate, first, &create, Body::None, 0, check)
        .await
        // An upload the server made without telling us its id cannot be aborted.
        .map_err(|f| phase(OpKind::MpCreate, f))?;
    let id = xml_unescape(xml_element(&first.kept, "UploadId").unwrap_or_default());
    let upload_id = aws_encode(id.as_bytes());

    let count = part_count(size, cfg.part_size);
    let parts = Parts {
        path,
        upload_id: &upload_id,
        size,
        count,
        next: Cell::new(0),
        failed: RefCell::new(None),
        etags: RefCell::new(vec![String::new(); count]),
    };
    let width = conns.len().min(count);
    let senders: Vec<_> = conns[..width]
        .iter_mut()
        .map(|c| send_parts(client, c, &parts))
        .collect();
    leofs_rt::task::join_all(senders).await;
    let query = format!("uploadId={upload_id}");
    if let Some(f) = parts.failed.take() {
        abort(client, &mut conns[0], path, &query).await;
        return Err(f);
    }

    xml.clear();
    complete_xml(xml, &parts.etags.borrow());
    let hash = cfg.signed_payload.then(|| sha256_hex(xml));
    let complete = Req {
        method: "POST",
        path,
        query: &query,
        payload: hash.as_deref().unwrap_or("UNSIGNED-PAYLOAD"),
        content_length: Some(xml.len() as u64),
        close,
    };
    // S3 may answer 200 and report an error in the body.
    let check = |c: &Conn| match std::str::from_utf8(&c.kept) {
        Ok(t) if t.contains("<Error>") => {
            Err(s3_error_code(&c.kept).unwrap_or("Error").to_string())
        }
        _ => Ok(()),
    };
    let done = client
        .send(
            OpKind::MpComplete,
            &mut conns[0],
            &complete,
            Body::Inline(xml),
            0,
            check,
        )
        .await;
    if let Err(f) = done {
        abort(client, &mut conns[0], path, &query).await;
        return Err(phase(OpKind::MpComplete, f));
    }
    Ok(())
}

/// AbortMultipartUpload; its outcome is counted under ABORT.
async fn abort(client: &Client<'_>, conn: &mut Conn, path: &str, query: &str) {
    let r = Req {
        method: "DELETE",
        path,
        query,
        payload: EMPTY_SHA256_HEX,
        content_length: None,
        close: !client.ctx.cfg.keep_alive,
    };
    let _ = client
        .send(OpKind::MpAbort, conn, &r, Body::None, 0, |_| Ok(()))
        .await;
}

/// One task's loop: whole uploads over `conns` until the budget or the time is spent.
/// Returns the TCP connections it opened.
pub(super) async fn task(ctx: Rc<Ctx>, mut conns: Vec<Conn>, mut rng: Rng) -> u64 {
    let cfg = ctx.cfg.clone();
    let client = Client {
        ctx: &ctx,
        signer: RefCell::new(Signer::new(
            &cfg.access_key,
            &cfg.secret_key,
            &cfg.region,
            &cfg.host,
        )),
        hashes: RefCell::new(Vec::new()),
    };
    let mut path = String::with_capacity(256);
    let mut xml = Vec::new();
    while Instant::now() < ctx.deadline && ctx.claim() {
        let id = ctx.new_id();
        let size = cfg.size.pick(rng.next());
        path.clear();
        let _ = write!(
            path,
            "{}/{}{:016x}",
            cfg.bucket_path,
            cfg.key_prefix_encoded,
            mix(id)
        );
        let start = Instant::now();
        let r = upload(&client, &mut conns, &path, size, &mut xml).await;
        let ns = start.elapsed().as_nanos() as u64;
        let keep_key = match &r {
            Ok(()) => {
                let mut st = ctx.stats.borrow_mut();
                let o = st.op(OpKind::Multipart);
                o.hist.record(ns);
                o.bytes += size as u64;
                true
            }
            Err(f) => {
                let mut st = ctx.stats.borrow_mut();
                *st.op(OpKind::Multipart)
                    .errors
                    .entry(f.kind.clone())
                    .or_default() += 1;
                // A complete that got no reply may have made the object: clean it up too
                // (a DELETE of a missing key is no error for the cleanup).
                f.maybe_applied
            }
        };
        if keep_key {
            ctx.pool.borrow_mut().push(id);
        }
    }
    conns.iter().map(|c| c.connects).sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: usize = 1 << 20;

    #[test]
    fn parts_of_an_object() {
        let v = |size, ps| part_sizes(size, ps).collect::<Vec<_>>();
        // A short last part.
        assert_eq!(v(11 * MIB, 5 * MIB), [5 * MIB, 5 * MIB, MIB]);
        assert_eq!(part_count(11 * MIB, 5 * MIB), 3);
        // An exact multiple: no empty part at the end.
        assert_eq!(v(15 * MIB, 5 * MIB), [5 * MIB; 3]);
        assert_eq!(part_count(15 * MIB, 5 * MIB), 3);
        // Smaller than one part, one byte over, empty.
        assert_eq!(v(4096, 5 * MIB), [4096]);
        assert_eq!(v(5 * MIB + 1, 5 * MIB), [5 * MIB, 1]);
        assert_eq!(v(0, 5 * MIB), [0]);
        // The sizes always add up.
        for (size, ps) in [(1, 1), (7, 3), (100 * MIB + 17, 5 * MIB), (10_000, 1)] {
            let p = v(size, ps);
            assert_eq!(p.iter().sum::<usize>(), size);
            assert_eq!(p.len(), part_count(size, ps));
            assert!(p[..p.len() - 1].iter().all(|&l| l == ps));
            assert!((1..=ps).contains(p.last().unwrap()));
        }
        assert_eq!(part_len(11 * MIB, 5 * MIB, 3), 0, "past the end");
    }

    #[test]
    fn complete_document() {
        let mut out = Vec::new();
        complete_xml(&mut out, &["\"a1\"".to_string(), "\"b&2\"".to_string()]);
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "<CompleteMultipartUpload xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <Part><PartNumber>1</PartNumber><ETag>\"a1\"</ETag></Part>\
             <Part><PartNumber>2</PartNumber><ETag>\"b&amp;2\"</ETag></Part>\
             </CompleteMultipartUpload>"
        );
        // The server's own parser reads it back.
        let parts = leofs_net::s3::xml::parse_complete_multipart(text.as_bytes()).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!((parts[0].part_number, parts[0].etag.as_str()), (1, "a1"));
        assert_eq!(parts[1].etag, "b&2");
    }
}
