//! The admin API on its own listener (`--admin-listen`), used by `leofs-adm`.
//! (Being written: the JSON endpoints for users, keys and buckets.)

use leofs_control::Catalog;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub async fn serve(listener: leofs_rt::net::Listener, catalog: Catalog, stop: Arc<AtomicBool>) {
    let _ = catalog;
    while !stop.load(Ordering::Relaxed) {
        if listener.accept().await.is_err() {
            break;
        }
    }
}
