//! One connection task: picks the next operation, writes its request into the
//! connection's buffer (signed, or plain), sends it, reads the reply, counts it, and puts
//! the key back where it belongs.

use super::conn::{Conn, INLINE_BODY_MAX};
use super::report::OpKind;
use super::sign::{sha256_hex, write_plain_get, Req, Signer};
use super::worker::{mix, Ctx, Phase, Rng};
use super::Workload;
use std::fmt::Write;
use std::rc::Rc;
use std::time::Instant;

/// What a task does next.
enum Op {
    /// PUT of a key id (a new one, or one to prepare).
    Put(u64),
    Get(u64),
    Stat(u64),
    Delete(u64),
    List,
    Plain,
}

impl Ctx {
    pub(super) fn claim(&self) -> bool {
        let n = self.budget.get();
        self.budget.set(n.saturating_sub(1));
        n > 0
    }

    pub(super) fn new_id(&self) -> u64 {
        let n = self.made.get();
        self.made.set(n + 1);
        self.cfg.objects + self.thread as u64 + n * self.threads as u64
    }

    /// A random key, taken out of the pool while in use (`take`) or just looked at.
    fn pick(&self, rng: &mut Rng, take: bool) -> Option<u64> {
        let mut p = self.pool.borrow_mut();
        if p.is_empty() {
            return None;
        }
        let i = rng.below(p.len());
        Some(if take { p.swap_remove(i) } else { p[i] })
    }

    fn next_op(&self, rng: &mut Rng) -> Option<Op> {
        let pop = || self.pool.borrow_mut().pop();
        Some(match (self.phase, self.cfg.workload) {
            (Phase::Prepare, _) => Op::Put(pop()?),
            (Phase::Cleanup, _) => Op::Delete(pop()?),
            (Phase::Run, Workload::Put) => Op::Put(self.new_id()),
            // Run by `multipart::task`, never here.
            (Phase::Run, Workload::Multipart) => return None,
            (Phase::Run, Workload::Get) if self.cfg.plain_http.is_some() => Op::Plain,
            (Phase::Run, Workload::Get) => Op::Get(self.pick(rng, false)?),
            (Phase::Run, Workload::Stat) => Op::Stat(self.pick(rng, false)?),
            (Phase::Run, Workload::Delete) => Op::Delete(self.pick(rng, true)?),
            (Phase::Run, Workload::List) => Op::List,
            // warp's default mix: 45% GET, 15% PUT, 10% DELETE, 30% STAT.
            (Phase::Run, Workload::Mixed) => match rng.below(100) {
                0..=44 => self
                    .pick(rng, true)
                    .map_or_else(|| Op::Put(self.new_id()), Op::Get),
                45..=59 => Op::Put(self.new_id()),
                60..=69 => self
                    .pick(rng, true)
                    .map_or_else(|| Op::Put(self.new_id()), Op::Delete),
                _ => self
                    .pick(rng, true)
                    .map_or_else(|| Op::Put(self.new_id()), Op::Stat),
            },
        })
    }
}

/// One connection's loop: returns the TCP connections it opened (the first one, made
/// before the phase started, included).
pub(super) async fn task(ctx: Rc<Ctx>, mut conn: Conn, mut rng: Rng) -> u64 {
    let cfg = ctx.cfg.clone();
    let mut signer = Signer::new(&cfg.access_key, &cfg.secret_key, &cfg.region, &cfg.host);
    let mut path = String::with_capacity(256);
    let mut query = String::with_capacity(256);
    // The continuation token of the next LIST page, URI-encoded; empty: first page.
    let mut token = String::new();
    // (size, hex SHA-256) of the last body hashed for --signed-payload.
    let mut hashed: (usize, String) = (usize::MAX, String::new());
    let takes_keys = ctx.phase == Phase::Run && cfg.workload == Workload::Mixed;
    while Instant::now() < ctx.deadline && ctx.claim() {
        let Some(op) = ctx.next_op(&mut rng) else {
            break;
        };
        let size = cfg.size.pick(rng.next());
        path.clear();
        query.clear();
        path.push_str(&cfg.bucket_path);
        let (kind, method, id) = match op {
            Op::Put(id) => (OpKind::Put, "PUT", Some(id)),
            Op::Get(id) => (OpKind::Get, "GET", Some(id)),
            Op::Stat(id) => (OpKind::Stat, "HEAD", Some(id)),
            Op::Delete(id) => (OpKind::Delete, "DELETE", Some(id)),
            Op::List | Op::Plain => (
                if matches!(op, Op::List) {
                    OpKind::List
                } else {
                    OpKind::Get
                },
                "GET",
                None,
            ),
        };
        if let Some(id) = id {
            let _ = write!(path, "/{}{:016x}", cfg.key_prefix_encoded, mix(id));
        }
        conn.req.clear();
        let mut separate_body = None;
        if let Op::Plain = op {
            write_plain_get(
                &mut conn.req,
                &cfg.host,
                cfg.plain_http.as_deref().unwrap_or("/"),
                !cfg.keep_alive,
            );
        } else {
            if let Op::List = op {
                // Parameters in name order: the query is its own canonical form.
                if !token.is_empty() {
                    let _ = write!(query, "continuation-token={token}&");
                }
                let _ = write!(query, "list-type=2&max-keys={}", cfg.list_max_keys);
                if !cfg.key_prefix_encoded.is_empty() {
                    let _ = write!(query, "&prefix={}", cfg.prefix_query);
                }
            }
            let is_put = matches!(op, Op::Put(_));
            let payload = if is_put && cfg.signed_payload {
                if hashed.0 != size {
                    hashed = (size, sha256_hex(&ctx.body[..size]));
                }
                hashed.1.as_str()
            } else if is_put {
                "UNSIGNED-PAYLOAD"
            } else {
                leofs_net::s3::auth::EMPTY_SHA256_HEX
            };
            let r = Req {
                method,
                path: &path,
                query: &query,
                payload,
                content_length: is_put.then_some(size as u64),
                close: !cfg.keep_alive,
            };
            signer.write_head(&mut conn.req, &r);
            if is_put && size <= INLINE_BODY_MAX {
                conn.req.extend_from_slice(&ctx.body[..size]);
            } else if is_put {
                separate_body = Some(&ctx.body[..size]);
            }
        }
        let keep = if kind == OpKind::List { 4 << 20 } else { 0 };
        let start = Instant::now();
        let r = leofs_rt::task::timeout(
            cfg.op_timeout,
            conn.exchange(separate_body, method == "HEAD", keep),
        )
        .await;
        let ns = start.elapsed().as_nanos() as u64;
        let (ok, err) = match r {
            None => {
                conn.reset();
                (false, Some("timeout".to_string()))
            }
            Some(Err(e)) => (false, Some(format!("io: {e}"))),
            Some(Ok(rep)) => {
                let good = (200..300).contains(&rep.status)
                    || (ctx.phase == Phase::Cleanup && rep.status == 404);
                if good {
                    let bytes = if kind == OpKind::Put {
                        size as u64
                    } else {
                        rep.body_bytes
                    };
                    let mut st = ctx.stats.borrow_mut();
                    let o = st.op(kind);
                    o.hist.record(ns);
                    o.bytes += bytes;
                    (true, None)
                } else {
                    let code = super::http::s3_error_code(&conn.kept).unwrap_or("");
                    (
                        false,
                        Some(format!("{} {code}", rep.status).trim_end().to_string()),
                    )
                }
            }
        };
        if let Some(e) = err {
            *ctx.stats.borrow_mut().op(kind).errors.entry(e).or_default() += 1;
        }
        if kind == OpKind::List && ok {
            let page = &conn.kept;
            let n = std::str::from_utf8(page)
                .map(|t| t.matches("<Key>").count())
                .unwrap_or(0);
            ctx.stats.borrow_mut().listed += n as u64;
            token.clear();
            if super::http::xml_element(page, "IsTruncated") == Some("true") {
                if let Some(t) = super::http::xml_element(page, "NextContinuationToken") {
                    token.push_str(&leofs_net::s3::auth::aws_encode(
                        super::http::xml_unescape(t).as_bytes(),
                    ));
                }
            }
        }
        // Keys go back to the pool: new ones once written, taken ones unless deleted.
        match op {
            Op::Put(id) if ok => {
                if ctx.phase == Phase::Prepare {
                    ctx.done.borrow_mut().push(id);
                } else {
                    ctx.pool.borrow_mut().push(id);
                }
            }
            Op::Get(id) | Op::Stat(id) if takes_keys => ctx.pool.borrow_mut().push(id),
            Op::Delete(id) if !ok && ctx.phase == Phase::Run => ctx.pool.borrow_mut().push(id),
            Op::Delete(id) if !ok && ctx.phase == Phase::Cleanup => ctx.done.borrow_mut().push(id),
            _ => {}
        }
    }
    conn.connects
}
