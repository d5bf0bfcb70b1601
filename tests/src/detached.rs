//! Helpers for detached containers: `den run -d`, `den ps` lines, waiting for a recorded exit.

use std::time::Duration;

use crate::sandbox::Sandbox;
use crate::wait::wait_for;

/// How long a detached container may take to end and be recorded.
pub const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

impl Sandbox {
    /// `den run -d ARGS...`; panics unless it succeeds and prints exactly a full (64 hex) id,
    /// which it returns.
    #[track_caller]
    pub fn run_detached(&self, args: &[&str]) -> String {
        let out = self.den(&[&["run", "-d"][..], args].concat()).ok();
        let id = out.out().to_string();
        assert!(
            id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()),
            "den run -d did not print a full container id\n{out}"
        );
        id
    }

    /// The line of `den ps` (`den ps -a` with `all`) whose NAMES column (the last) is `name`.
    pub fn ps_line(&self, all: bool, name: &str) -> Option<String> {
        let args: &[&str] = if all { &["ps", "-a"] } else { &["ps"] };
        let out = self.den(args).ok();
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().last() == Some(name))
            .map(str::to_string)
    }

    /// Polls `den ps -a` until it shows `name` as `Exited (CODE)`; returns that line.
    pub fn wait_exited(&self, name: &str, code: i32) -> String {
        let want = format!("Exited ({code})");
        wait_for(EXIT_TIMEOUT, &format!("{name} to show {want}"), || {
            self.ps_line(true, name).filter(|l| l.contains(&want))
        })
    }
}
