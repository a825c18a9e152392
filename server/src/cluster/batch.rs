//! Request batching between shards: small requests (writes, reads) to the same peer shard
//! that are waiting at the same moment go out in one `Batch` frame. At low load a write goes alone and at
//! once; under load the writes that queue up during a round trip share the next frame, so
//! frames (and the wake-ups they cost both sides) grow slower than writes.

use super::frame_io::FrameError;
use super::pool::Pool;
use leofs_net::rpc::{batch, Op, Status};
use leofs_rt::sync::cross::{bounded, Sender};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::rc::Rc;
use std::time::Duration;

/// Objects up to this size are batched; larger ones go in their own `Write` frame.
pub const BATCH_OBJECT_MAX: usize = 64 << 10;
/// A batch closes at this many requests or bytes.
const MAX_ITEMS: usize = 128;
const MAX_BYTES: usize = 1 << 20;
/// Frames in flight per peer shard: the first write of a quiet period never waits.
const IN_FLIGHT: usize = 2;

/// The response's status (`Ok` or `NotFound`) and body, or the error.
type Outcome = Result<(Status, Vec<u8>), FrameError>;

struct Item {
    op: Op,
    parts: Vec<Vec<u8>>,
    bytes: usize,
    reply: Sender<Outcome>,
}

#[derive(Default)]
struct Queue {
    items: RefCell<Vec<Item>>,
    running: Cell<usize>,
}

/// One core's write queues, one per peer shard address.
pub struct Batcher {
    pool: Rc<Pool>,
    queues: RefCell<HashMap<SocketAddr, Rc<Queue>>>,
}

impl Batcher {
    pub fn new(pool: Rc<Pool>) -> Rc<Batcher> {
        Rc::new(Batcher { pool, queues: RefCell::new(HashMap::new()) })
    }

    /// Sends one request (its body given as pieces) to `addr`, batched with others; returns
    /// its response as [`Pool::call`] would.
    pub async fn send(self: &Rc<Self>, addr: SocketAddr, op: Op, parts: Vec<Vec<u8>>, timeout: Duration) -> Outcome {
        let bytes = parts.iter().map(Vec::len).sum();
        let (tx, rx) = bounded(1);
        let q = self.queues.borrow_mut().entry(addr).or_default().clone();
        q.items.borrow_mut().push(Item { op, parts, bytes, reply: tx });
        if q.running.get() < IN_FLIGHT {
            q.running.set(q.running.get() + 1);
            leofs_rt::task::spawn(drain(self.pool.clone(), q, addr, timeout));
        }
        rx.recv_async().await.unwrap_or(Err(FrameError::Closed))
    }
}

/// Sends what is queued for `addr`, batch after batch, until the queue is empty.
async fn drain(pool: Rc<Pool>, q: Rc<Queue>, addr: SocketAddr, timeout: Duration) {
    loop {
        let batch: Vec<Item> = {
            let mut items = q.items.borrow_mut();
            let mut n = 0;
            let mut bytes = 0;
            while n < items.len() && n < MAX_ITEMS && (n == 0 || bytes + items[n].bytes <= MAX_BYTES) {
                bytes += items[n].bytes;
                n += 1;
            }
            items.drain(..n).collect()
        };
        if batch.is_empty() {
            q.running.set(q.running.get() - 1);
            return;
        }
        let (parts, replies): (Vec<_>, Vec<_>) = batch.into_iter().map(|i| ((i.op, i.parts), i.reply)).unzip();
        match pool.call(addr, Op::Batch, batch::encode_requests(parts), timeout).await {
            Ok((_, body)) => match batch::decode_responses(&body) {
                Ok(items) if items.len() == replies.len() => {
                    for ((status, b), reply) in items.into_iter().zip(replies) {
                        let r = match status {
                            Status::Ok | Status::NotFound => Ok((status, b.to_vec())),
                            _ => Err(FrameError::Remote(status, leofs_net::rpc::error_message(b))),
                        };
                        let _ = reply.send(r);
                    }
                }
                Ok(items) => {
                    let why = format!("a batch of {} answered with {} outcomes", replies.len(), items.len());
                    fail(replies, why)
                }
                Err(e) => fail(replies, format!("bad batch response: {e}")),
            },
            Err(e) => fail(replies, e.to_string()),
        }
    }
}

/// Every request of a batch that failed as a whole fails with the same reason; the node
/// counts as unreachable for them, as for a single request.
fn fail(replies: Vec<Sender<Outcome>>, why: String) {
    for r in replies {
        let _ = r.send(Err(FrameError::Remote(Status::Unavailable, why.clone())));
    }
}
