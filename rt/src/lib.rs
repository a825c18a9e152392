//! leofs-rt: the runtime seam.
//!
//! Every call into the async runtime (monoio) goes through this crate: spawning tasks,
//! timers, sockets, positional file I/O, aligned buffers and channels. Swapping the runtime
//! means rewriting this crate only. It is also the only crate allowed to contain `unsafe`
//! (the workspace forbids it elsewhere); each site is marked `// SAFETY:`.

pub mod alloc;
pub mod buf;
pub mod cpu;
pub mod fs;
pub mod net;
pub mod runtime;
pub mod submit;
pub mod sync;
pub mod task;

pub use buf::{AlignedBuf, ALIGN};
pub use runtime::{block_on, Driver};
