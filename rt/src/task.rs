//! Tasks and time on the current core's runtime.

use std::future::Future;
use std::time::Duration;

pub use monoio::task::JoinHandle;

/// Spawns a task on the current core. Tasks never migrate between cores.
pub fn spawn<F>(fut: F) -> JoinHandle<F::Output>
where
    F: Future + 'static,
    F::Output: 'static,
{
    monoio::spawn(fut)
}

/// Sleeps for `d` on the runtime's timer.
pub async fn sleep(d: Duration) {
    monoio::time::sleep(d).await
}

/// Runs `fut` with a deadline; `None` when it elapsed first.
pub async fn timeout<F: Future>(d: Duration, fut: F) -> Option<F::Output> {
    monoio::time::timeout(d, fut).await.ok()
}

/// Lets other tasks on this core run (used by throttled background work).
pub async fn yield_now() {
    struct YieldNow(bool);
    impl Future for YieldNow {
        type Output = ();
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
            if self.0 {
                return std::task::Poll::Ready(());
            }
            self.0 = true;
            cx.waker().wake_by_ref();
            std::task::Poll::Pending
        }
    }
    YieldNow(false).await
}

/// Runs futures concurrently on this core and returns their outputs in order. Each is
/// first polled in list order (callers rely on that to issue versions in order).
pub async fn join_all<F: Future>(futs: Vec<F>) -> Vec<F::Output>
where
    F::Output: Unpin,
{
    struct JoinAll<F: Future> {
        futs: Vec<Option<std::pin::Pin<Box<F>>>>,
        out: Vec<Option<F::Output>>,
    }
    impl<F: Future> Future for JoinAll<F>
    where
        F::Output: Unpin,
    {
        type Output = Vec<F::Output>;
        fn poll(self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
            let this = self.get_mut();
            let mut pending = false;
            for (i, slot) in this.futs.iter_mut().enumerate() {
                if let Some(f) = slot {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => {
                            this.out[i] = Some(v);
                            *slot = None;
                        }
                        std::task::Poll::Pending => pending = true,
                    }
                }
            }
            if pending {
                return std::task::Poll::Pending;
            }
            std::task::Poll::Ready(this.out.iter_mut().map(|o| o.take().expect("output")).collect())
        }
    }
    let n = futs.len();
    JoinAll { futs: futs.into_iter().map(|f| Some(Box::pin(f))).collect(), out: (0..n).map(|_| None).collect() }.await
}
