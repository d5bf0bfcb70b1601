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

/// A cgroup path a peer makes the same in every hierarchy (dockerd's or podman's cgroupfs driver
/// given an absolute `--cgroup-parent`). Where the test sits at a hierarchy's root, the peer
/// makes the whole chain (e.g. `process_api/<id>/den-tests/...`), which no sandbox knows of: made
/// before the peer starts, this records in each hierarchy the topmost dir of the path that does
/// not exist yet, and `remove` (also on drop) takes everything below the path, deepest first,
/// then those ancestors. An ancestor that still holds something of others stays.
pub struct PeerCgroup {
    /// Below each hierarchy's root, without the leading '/'.
    path: String,
    /// In each hierarchy, the topmost dir of `path` that did not exist before.
    made: Vec<PathBuf>,
}

impl PeerCgroup {
    pub fn new(path: &str) -> PeerCgroup {
        let path = path.trim_matches('/').to_owned();
        let made = hierarchies()
            .into_iter()
            .filter_map(|h| {
                let mut top = None;
                let mut dir = h.join(&path);
                while dir != h && !dir.exists() {
                    top = Some(dir.clone());
                    dir.pop();
                }
                top
            })
            .collect();
        PeerCgroup { path, made }
    }

    /// The path as the peer's flag takes it: absolute.
    pub fn absolute(&self) -> String {
        format!("/{}", self.path)
    }

    /// Remove the peer's cgroups and the ancestors made for them; returns those of the
    /// ancestors still there.
    pub fn remove(&self) -> Vec<String> {
        fn rmdir_tree(dir: &std::path::Path) {
            for e in fs::read_dir(dir).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    rmdir_tree(&e.path());
                }
            }
            let _ = fs::remove_dir(dir);
        }
        for h in hierarchies() {
            let mut dir = h.join(&self.path);
            rmdir_tree(&dir);
            let Some(top) = self.made.iter().find(|t| t.starts_with(&h)) else {
                continue;
            };
            while dir.pop() && dir.starts_with(top) {
                if fs::remove_dir(&dir).is_err_and(|e| e.kind() != std::io::ErrorKind::NotFound) {
                    break;
                }
            }
        }
        self.made
            .iter()
            .filter(|d| d.exists())
            .map(|d| d.display().to_string())
            .collect()
    }
}

impl Drop for PeerCgroup {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Every cgroup hierarchy mounted under /sys/fs/cgroup (v1 controllers, named ones, unified).
fn hierarchies() -> Vec<PathBuf> {
    let mounts = fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let fstype = right.split_whitespace().next()?;
            let point = left.split_whitespace().nth(4)?;
            ((fstype == "cgroup" || fstype == "cgroup2") && point.starts_with("/sys/fs/cgroup"))
                .then(|| PathBuf::from(point))
        })
        .collect()
}
