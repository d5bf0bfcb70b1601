//! Tearing a sandbox down: processes first (containers, then den, given a moment to clean
//! up after its container), then the namespaces, then the dir (never across a mount).
//! Every step runs whatever failed before it; problems are collected and reported at the end.

use std::collections::BTreeSet;
use std::fs;
use std::sync::Arc;
use std::thread::sleep;
use std::time::{Duration, Instant};

use crate::netns;
use crate::procs::ProcId;
use crate::sandbox::{mounts_mentioning, Sandbox};
use crate::spawn::{Kind, Tracked};

/// How long den may take to notice its container died and clean up before it is killed.
const DEN_GRACE: Duration = Duration::from_secs(5);
/// How long teardown keeps killing before it reports survivors.
const KILL_DEADLINE: Duration = Duration::from_secs(15);

impl Sandbox {
    fn stop_processes(&self, problems: &mut Vec<String>) {
        let tracked: Vec<Arc<Tracked>> =
            self.procs.lock().unwrap_or_else(|p| p.into_inner()).clone();
        for t in tracked.iter().filter(|t| t.kind == Kind::Plain) {
            if let Err(e) = t.kill_and_reap() {
                problems.push(e);
            }
        }
        let start = Instant::now();
        // Everything signalled stays watched until it is really gone: an exiting process
        // drops its namespaces (and so its membership) before it finishes exiting.
        let mut signalled: BTreeSet<ProcId> = BTreeSet::new();
        loop {
            let live_den: Vec<&Arc<Tracked>> =
                tracked.iter().filter(|t| t.try_exit().is_none()).collect();
            let members: Vec<ProcId> = self
                .members()
                .into_iter()
                .filter(|p| !live_den.iter().any(|t| t.pid as i32 == p.pid))
                .collect();
            signalled.retain(ProcId::is_alive);
            if live_den.is_empty() && members.is_empty() && signalled.is_empty() {
                return;
            }
            // Containers and anything else of ours: SIGKILL (a container's PID 1 ignores
            // other signals from outside unless it handles them).
            for p in &members {
                p.signal(libc::SIGKILL);
                signalled.insert(*p);
            }
            if start.elapsed() >= DEN_GRACE {
                for t in &live_den {
                    if let Err(e) = t.kill_and_reap() {
                        problems.push(e);
                    }
                }
            }
            if start.elapsed() >= KILL_DEADLINE {
                let left: Vec<String> = signalled.iter().map(|p| p.pid.to_string()).collect();
                problems.push(format!("processes survived SIGKILL: {}", left.join(" ")));
                return;
            }
            sleep(Duration::from_millis(10));
        }
    }

    fn teardown(&mut self) -> Vec<String> {
        let mut problems = Vec::new();
        self.stop_processes(&mut problems);
        problems.extend(crate::cgroups::remove(&self.name));
        for (made, name) in [(self.out_made, &self.out), (self.host_made, &self.host)] {
            if made {
                if let Err(e) = netns::delete(name) {
                    problems.push(e);
                }
            }
        }
        if self.dir_made {
            let mounts = mounts_mentioning(&self.dir_needle());
            if mounts.is_empty() {
                if let Err(e) = fs::remove_dir_all(&self.dir) {
                    problems.push(format!("remove {}: {e}", self.dir.display()));
                }
            } else {
                problems.push(format!(
                    "left {} in place: mounts under it: {}",
                    self.dir.display(),
                    mounts.join(" | ")
                ));
            }
        }
        problems
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let problems = self.teardown();
        if problems.is_empty() {
            return;
        }
        let msg = format!("sandbox {} teardown: {}", self.name, problems.join("; "));
        if std::thread::panicking() {
            eprintln!("{msg}");
        } else {
            panic!("{msg}");
        }
    }
}
