//! The health check, run by the waiting supervisor while the container runs: every interval it
//! runs the check command in the container (as `den exec` does: it runs the den binary's own
//! `exec`, so a check enters the container exactly as a user's exec does), waits at most the
//! timeout, and writes the container's health (`state::Health`) for `den inspect` and `den ps`.
//!
//! The supervisor waits on pidfds (the container's PID 1, the check) with poll (`watch`): no
//! signal handling, no thread, and the container's output is relayed meanwhile.

use std::fs::{self, File};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;

use super::watch::{Watch, Woke};
use crate::state::health::{HealthResult, OUTPUT_MAX};
use crate::state::{now_secs, rfc3339, Health, HealthConfig, Store};
use crate::syscall;

/// Grace after SIGTERM for a check that overran its timeout.
const KILL_GRACE: Duration = Duration::from_secs(1);

pub(crate) struct Checker {
    root: PathBuf,
    id: String,
    dir: PathBuf,
    cmd: Vec<String>,
    cfg: HealthConfig,
    started: Instant,
    health: Health,
}

impl Checker {
    /// The checker of container `id`, if it has a health check; its health starts as "starting".
    pub fn new(root: &Path, id: &str, cfg: Option<HealthConfig>) -> Option<Checker> {
        let cfg = cfg?;
        let cmd = cfg.command()?;
        let dir = Store::new(root).dir(id);
        let health = Health::starting();
        // Nowhere to say it: inspect shows no health then.
        let _ = health.save(&dir);
        Some(Checker {
            root: root.to_path_buf(),
            id: id.to_string(),
            dir,
            cmd,
            cfg,
            started: Instant::now(),
            health,
        })
    }

    /// Run checks every interval until the container's PID 1 ends; returns once it can be reaped.
    pub fn run_until_exit(&mut self, watch: &mut Watch) {
        loop {
            if watch.wait(None, Some(self.cfg.interval())) == Woke::Container {
                return;
            }
            if self.check(watch) == Woke::Container {
                return;
            }
        }
    }

    /// One check; its result is saved. Returns early if the container ends meanwhile.
    fn check(&mut self, watch: &mut Watch) -> Woke {
        // A paused container cannot answer (the exec would join its frozen cgroup): no check.
        if crate::cgroups::is_frozen(&self.dir) {
            return Woke::Timeout;
        }
        let start = now_secs();
        let out_path = self.dir.join("health.out");
        let (code, output) = match self.spawn(&out_path) {
            Ok(mut child) => match self.wait_check(watch, &mut child) {
                Some(Ok(code)) => (code, read_output(&out_path)),
                Some(Err(timeout)) => (
                    -1,
                    format!("Health check exceeded timeout ({}s)", timeout.as_secs()),
                ),
                None => return Woke::Container,
            },
            Err(e) => (-1, format!("cannot run the health check: {e}")),
        };
        let _ = fs::remove_file(&out_path);
        let in_start_period = self.started.elapsed() < self.cfg.start_period();
        let before = self.health.status;
        self.health.record(
            HealthResult {
                start: rfc3339(start),
                end: rfc3339(now_secs()),
                exit_code: code,
                output,
            },
            self.cfg.retries(),
            in_start_period,
        );
        if self.health.status != before {
            crate::events::health(&self.root, &self.id, self.health.status);
        }
        if let Err(e) = self.health.save(&self.dir) {
            super::supervisor::note(&self.root, &self.id, &format!("saving its health: {e}"));
        }
        Woke::Timeout
    }

    fn spawn(&self, out_path: &Path) -> std::io::Result<Child> {
        let out = File::create(out_path)?;
        let err = out.try_clone()?;
        Command::new("/proc/self/exe")
            .arg("--root")
            .arg(&self.root)
            .arg("exec")
            .arg(&self.id)
            .args(&self.cmd)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
    }

    /// The check's exit code, `Err(timeout)` if it overran (then it is killed), None if the
    /// container ended first (the check is killed too).
    fn wait_check(&self, watch: &mut Watch, child: &mut Child) -> Option<Result<i32, Duration>> {
        let timeout = self.cfg.timeout();
        let deadline = Instant::now() + timeout;
        let fd = syscall::pidfd_open(child.id() as i32).ok();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(Ok(status.code().unwrap_or(-1)));
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                end(child);
                return Some(Err(timeout));
            }
            // Without a pidfd (it cannot fail for our own live child): look again every 10 ms.
            let wait = if fd.is_some() {
                left
            } else {
                left.min(Duration::from_millis(10))
            };
            if watch.wait(fd.as_ref(), Some(wait)) == Woke::Container {
                end(child);
                return None;
            }
        }
    }
}

/// SIGTERM (den exec passes it to the check's process), SIGKILL after [`KILL_GRACE`]; reaped.
fn end(child: &mut Child) {
    let pid = Pid::from_raw(child.id() as i32);
    let _ = kill(pid, Signal::SIGTERM);
    let until = Instant::now() + KILL_GRACE;
    while Instant::now() < until {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn read_output(path: &Path) -> String {
    let mut buf = Vec::new();
    if let Ok(f) = File::open(path) {
        let _ = f.take(OUTPUT_MAX as u64).read_to_end(&mut buf);
    }
    String::from_utf8_lossy(&buf).into_owned()
}
