//! The cgroups den makes for a sandbox's containers. Each sandbox gives den its own relative
//! `--cgroup-parent` (env `DEN_CGROUP_PARENT=den-tests/<sandbox>`), so the containers nest under
//! the cgroups the tests run in (never leaving them) and a footprint sees only its own.

use std::fs;
use std::path::PathBuf;

/// The `--cgroup-parent` of sandbox `name`.
pub fn parent(name: &str) -> String {
    format!("den-tests/{name}")
}

/// The test process's own cgroup dir in each hierarchy (v1 controllers by their mount name, and
/// the unified one: /sys/fs/cgroup on a v2-only machine, /sys/fs/cgroup/unified on a hybrid one,
/// where den puts a container for its eBPF device program).
pub fn own_dirs() -> Vec<PathBuf> {
    let text = fs::read_to_string("/proc/self/cgroup").unwrap_or_default();
    let v2_only = !PathBuf::from("/sys/fs/cgroup/memory").exists();
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ':');
            let (_, list, path) = (parts.next()?, parts.next()?, parts.next()?);
            let path = path.trim_start_matches('/');
            match (list, v2_only) {
                ("", true) => Some(PathBuf::from("/sys/fs/cgroup").join(path)),
                ("", false) => Some(PathBuf::from("/sys/fs/cgroup/unified").join(path)),
                (l, false) if !l.starts_with("name=") => {
                    Some(PathBuf::from("/sys/fs/cgroup").join(l).join(path))
                }
                _ => None,
            }
        })
        .filter(|d| d.exists())
        .collect()
}

/// Sandbox `name`'s parent dir in each hierarchy.
pub fn parent_dirs(name: &str) -> Vec<PathBuf> {
    own_dirs()
        .into_iter()
        .map(|d| d.join(parent(name)))
        .collect()
}

/// Every cgroup below the sandbox's parents, as `<hierarchy dir>/<cgroup>`, sorted.
pub fn listing(name: &str) -> Vec<String> {
    let mut out: Vec<String> = parent_dirs(name)
        .iter()
        .flat_map(|p| fs::read_dir(p).into_iter().flatten().flatten())
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path().display().to_string())
        .collect();
    out.sort();
    out
}

/// Remove the sandbox's parent dirs (and `den-tests` where it is empty); a problem for each
/// that cannot go. Runs after every process of the sandbox was killed: a container cgroup still
/// there belongs to a den killed before it could remove it (as `den gc` would, the harness takes
/// it), and a dir a dying task still holds gets a moment to empty.
pub fn remove(name: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for p in parent_dirs(name) {
        if !p.exists() {
            continue;
        }
        let children = fs::read_dir(&p).into_iter().flatten().flatten();
        for dir in children.filter(|e| e.file_type().is_ok_and(|t| t.is_dir())) {
            let _ = remove_dir_patiently(&dir.path());
        }
        if let Err(e) = remove_dir_patiently(&p) {
            problems.push(format!("cgroup {} left behind: {e}", p.display()));
        }
        if let Some(tests) = p.parent() {
            // Other sandboxes may still use it: only an empty one goes.
            let _ = fs::remove_dir(tests);
        }
    }
    problems
}

/// `rmdir` of a cgroup, retried for up to 2 s while it is busy (tasks still exiting).
fn remove_dir_patiently(dir: &std::path::Path) -> std::io::Result<()> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    loop {
        match fs::remove_dir(dir) {
            Err(e)
                if e.raw_os_error() == Some(libc::EBUSY)
                    && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            other => return other,
        }
    }
}
