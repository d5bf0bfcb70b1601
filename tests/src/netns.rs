//! Named network namespaces (`ip netns add`) and running code inside one.

use std::fs::{self, File};
use std::io::Write;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::procs;
use crate::syscall;

/// Where `ip netns` keeps the namespace named `name`.
pub fn path(name: &str) -> PathBuf {
    Path::new("/run/netns").join(name)
}

/// True if a namespace named `name` exists.
pub fn exists(name: &str) -> bool {
    path(name).exists()
}

/// Creates the namespace `name` (fails if it exists).
pub fn add(name: &str) -> Result<(), String> {
    ip(&["netns", "add", name], None)
}

/// Deletes the namespace `name`. Its links go with it once no process is left inside.
pub fn delete(name: &str) -> Result<(), String> {
    ip(&["netns", "delete", name], None)
}

/// Runs `ip -n NS -batch -` with `script` (one `ip` command per line, without the `ip`).
pub fn batch(ns: &str, script: &str) -> Result<(), String> {
    ip(&["-n", ns, "-batch", "-"], Some(script))
}

fn ip(args: &[&str], stdin: Option<&str>) -> Result<(), String> {
    let mut child = Command::new("ip")
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if let Some(text) = stdin {
        let mut pipe = child.stdin.take().expect("piped stdin");
        pipe.write_all(text.as_bytes())
            .map_err(|e| format!("ip {}: writing the batch: {e}", args.join(" ")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Runs `f` on a fresh thread that has entered the network namespace at `ns` (a
/// `/run/netns/X` or `/proc/PID/ns/net` path). Sockets made in `f` stay in that namespace
/// for their whole life, whichever thread uses them later. The calling thread is untouched.
pub fn run_in<T: Send>(ns: &Path, f: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| {
        s.spawn(|| {
            let file = File::open(ns).unwrap_or_else(|e| panic!("open {}: {e}", ns.display()));
            syscall::setns_net(file.as_fd())
                .unwrap_or_else(|e| panic!("setns into {}: {e}", ns.display()));
            f()
        })
        .join()
        .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// Removes what a crashed earlier test process left: namespaces named `den-t<PID>-...` and
/// directories `<tmp>/den-t<PID>-....sb` whose PID is no longer alive, and, if `own_too`,
/// those carrying our own pid (left by a dead process that had it before us: only safe
/// before this process made any sandbox). Processes still inside such a namespace are
/// killed first (that dead test process started them). Returns what it removed, for the log.
pub fn sweep_stale(tmp: &Path, own_too: bool) -> Vec<String> {
    let me = std::process::id() as i32;
    let stale = |name: &str| -> bool {
        let Some(rest) = name.strip_prefix("den-t") else {
            return false;
        };
        let pid: Option<i32> = rest.split('-').next().and_then(|p| p.parse().ok());
        pid.is_some_and(|p| {
            if p == me {
                own_too
            } else {
                procs::stat(p).is_none()
            }
        })
    };
    let mut removed = Vec::new();
    if let Ok(dir) = fs::read_dir("/run/netns") {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !stale(&name) {
                continue;
            }
            if let Some(ino) = procs::ns_inode(&e.path()) {
                for p in procs::in_netns(ino) {
                    p.signal(libc::SIGKILL);
                }
            }
            match delete(&name) {
                Ok(()) => removed.push(format!("namespace {name}")),
                Err(e) => removed.push(format!("namespace {name} (not removed: {e})")),
            }
        }
    }
    if let Ok(dir) = fs::read_dir(tmp) {
        for e in dir.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if !(name.ends_with(".sb") && stale(&name)) {
                continue;
            }
            let needle = format!("{}/", e.path().display());
            if crate::sandbox::mounts_mentioning(&needle).is_empty() {
                let _ = fs::remove_dir_all(e.path());
                removed.push(format!("directory {}", e.path().display()));
            } else {
                removed.push(format!(
                    "directory {} (kept: mounts under it)",
                    e.path().display()
                ));
            }
        }
    }
    removed
}
