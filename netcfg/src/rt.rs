//! netcfg's async work (rtnetlink) runs on a current-thread tokio runtime made for the call: den
//! has no long-lived runtime, and a multi-threaded one would be forked by the container clone.

use std::future::Future;
use std::io;

/// Run `f` to completion on a fresh current-thread runtime. Must not be called inside a tokio runtime.
pub fn block_on<F: Future>(f: F) -> io::Result<F::Output> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(f))
}
