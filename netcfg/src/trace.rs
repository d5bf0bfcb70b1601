//! `den run --trace` (or env `DEN_TRACE`): each step printed as its `ip`/`nft` equivalent, with the milliseconds since den started,
//! so a learner sees what happens and a profiler sees where the time goes.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::OnceLock;
use std::time::Instant;

static ENABLED: AtomicBool = AtomicBool::new(false);
static START: OnceLock<Instant> = OnceLock::new();

/// Turn tracing on; the clock starts now (call it first thing in `main`).
pub fn enable() {
    START.get_or_init(Instant::now);
    ENABLED.store(true, Ordering::Relaxed);
}

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// Print one step (built lazily: nothing is formatted when tracing is off).
pub fn step(line: impl FnOnce() -> String) {
    if enabled() {
        let ms = START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1000.0;
        let text = line().replace('\n', "\n           ");
        eprintln!("[{ms:7.2}ms] {text}");
    }
}
