//! Spreading S3 connections evenly over the cores. Every core accepts on one shared socket,
//! and which core's accept the kernel completes is arbitrary: measured, 32 connections could
//! split 26/6, leaving one core saturated while the other idled. A connection stays on its
//! core for life, so the accepting core hands each new one to the core serving the fewest.

use leofs_rt::net::{Handoff, Stream};
use leofs_rt::sync::cross::{unbounded, Receiver, Sender};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub struct Balance {
    /// Connections assigned to each core and not yet closed.
    open: Vec<AtomicUsize>,
    inbox: Vec<Sender<Handoff>>,
}

impl Balance {
    /// The balance of `cores` cores, and each core's inbox of connections handed to it.
    pub fn new(cores: usize) -> (Arc<Balance>, Vec<Receiver<Handoff>>) {
        let (inbox, rx): (Vec<_>, Vec<_>) = (0..cores).map(|_| unbounded()).unzip();
        (Arc::new(Balance { open: (0..cores).map(|_| AtomicUsize::new(0)).collect(), inbox }), rx)
    }

    /// Assigns a connection accepted on `core`: `Some` to serve it here, `None` once it is
    /// on its way to a core with fewer connections. Counts it for the core that serves it,
    /// which calls [`Balance::closed`] when it ends.
    pub fn assign(&self, core: usize, stream: Stream) -> Option<Stream> {
        let mine = self.open[core].load(Ordering::Relaxed);
        let (least, n) = self.open.iter().enumerate().map(|(i, o)| (i, o.load(Ordering::Relaxed))).min_by_key(|&(i, n)| (n, i != core)).expect("a core");
        if least == core || n >= mine {
            self.open[core].fetch_add(1, Ordering::Relaxed);
            return Some(stream);
        }
        let h = match stream.into_handoff() {
            Ok(h) => h,
            Err(tls) => {
                self.open[core].fetch_add(1, Ordering::Relaxed);
                return Some(tls);
            }
        };
        self.open[least].fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.inbox[least].send(h) {
            // That core is gone (shutting down): the connection closes with the handoff.
            self.open[least].fetch_sub(1, Ordering::Relaxed);
            drop(e);
        }
        None
    }

    /// A connection that `core` served has closed.
    pub fn closed(&self, core: usize) {
        self.open[core].fetch_sub(1, Ordering::Relaxed);
    }

    /// Connections each core serves now.
    pub fn open(&self) -> Vec<usize> {
        self.open.iter().map(|o| o.load(Ordering::Relaxed)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Connections accepted all on core 0 end up spread 1 apart at most, and the handed
    /// ones arrive in the other cores' inboxes as working sockets.
    #[test]
    fn connections_accepted_on_one_core_spread_evenly() {
        let (balance, inboxes) = Balance::new(3);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        leofs_rt::block_on(async move {
            let l = leofs_rt::net::Listener::from_std(&listener).unwrap();
            let mut clients = Vec::new();
            let mut kept = Vec::new();
            for _ in 0..10 {
                clients.push(std::net::TcpStream::connect(addr).unwrap());
                let (s, _) = l.accept().await.unwrap();
                if let Some(s) = balance.assign(0, s) {
                    kept.push(s);
                }
            }
            let open = balance.open();
            assert_eq!(open.iter().sum::<usize>(), 10);
            assert!(open.iter().max().unwrap() - open.iter().min().unwrap() <= 1, "{open:?}");
            assert_eq!(kept.len(), open[0]);
            let handed: usize = inboxes.iter().map(|rx| rx.len()).sum();
            assert_eq!(handed, 10 - open[0]);
            let h = inboxes[1].try_recv().unwrap();
            let mut s = h.into_stream().unwrap();
            let (r, _) = s.write_all(b"ping".to_vec()).await;
            r.unwrap();
            // Connections alternate from the second on: clients[1] was the first for core 1.
            let mut got = [0u8; 4];
            std::io::Read::read_exact(&mut clients[1], &mut got).unwrap();
            assert_eq!(&got, b"ping");
            balance.closed(1);
            assert_eq!(balance.open()[1], open[1] - 1);
        });
    }
}
