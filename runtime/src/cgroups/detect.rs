//! Which cgroup hierarchy this machine has, detected as runc does (statfs of `/sys/fs/cgroup`:
//! cgroup2 means unified; a tmpfs means v1, "hybrid" when cgroup2 is also mounted at
//! `/sys/fs/cgroup/unified`), where each hierarchy is mounted (`/proc/self/mountinfo`) and which
//! cgroup den itself is in (`/proc/self/cgroup`), per v1 controller.

use std::fs;
use std::path::{Path, PathBuf};

use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC, TMPFS_MAGIC};

use super::CgroupError;

/// The v1 controllers den sets limits, device rules or reads statistics with, and the freezer
/// (`den pause`).
pub const V1_CONTROLLERS: [&str; 8] = [
    "memory", "pids", "cpu", "cpuacct", "cpuset", "devices", "blkio", "freezer",
];

/// One mounted v1 hierarchy with the controllers it carries (`cpu,cpuacct` may share one).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct V1Hierarchy {
    pub controllers: Vec<String>,
    pub mount: PathBuf,
    /// den's own cgroup in it, e.g. `/` or `/process_api/48bb…`.
    pub own: PathBuf,
}

/// The cgroup2 hierarchy of a hybrid machine and den's own cgroup in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unified {
    pub mount: PathBuf,
    pub own: PathBuf,
}

/// On a hybrid machine, put the device rules in an eBPF program in the unified hierarchy even
/// where the v1 devices controller exists: the way the tests run the v2 device path here (the
/// kernel checks both, and the container's v1 devices cgroup then allows everything).
pub const FORCE_BPF_ENV: &str = "DEN_CGROUP_DEVICES";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layout {
    /// v1 (or hybrid: den puts containers in the v1 hierarchies, where the controllers are).
    /// `unified`: where the device program goes instead of the v1 devices controller (hybrid,
    /// with no v1 devices controller or with [`FORCE_BPF_ENV`]`=bpf`).
    V1 {
        hierarchies: Vec<V1Hierarchy>,
        unified: Option<Unified>,
    },
    /// cgroup2 mounted at `mount`; den's own cgroup in it.
    V2 { mount: PathBuf, own: PathBuf },
}

const ROOT: &str = "/sys/fs/cgroup";

impl Layout {
    pub fn detect() -> Result<Layout, CgroupError> {
        let st = statfs(ROOT).map_err(|source| CgroupError::Detect {
            path: ROOT.into(),
            source,
        })?;
        let own = fs::read_to_string("/proc/self/cgroup")
            .map_err(CgroupError::io("reading", "/proc/self/cgroup"))?;
        let mountinfo = fs::read_to_string("/proc/self/mountinfo")
            .map_err(CgroupError::io("reading", "/proc/self/mountinfo"))?;
        if st.filesystem_type() == CGROUP2_SUPER_MAGIC {
            return Ok(Layout::V2 {
                mount: ROOT.into(),
                own: own_v2(&own),
            });
        }
        if st.filesystem_type() != TMPFS_MAGIC {
            return Err(CgroupError::NoHierarchy);
        }
        let hierarchies = v1_hierarchies(&mountinfo, &own);
        let v1_devices = hierarchies
            .iter()
            .any(|h| h.controllers.iter().any(|c| c == "devices"));
        let forced = std::env::var(FORCE_BPF_ENV).is_ok_and(|v| v == "bpf");
        let unified = match v1_devices && !forced {
            true => None,
            false => unified_mount(&mountinfo).map(|(root, mount)| Unified {
                own: below(&root, &own_v2(&own)),
                mount,
            }),
        };
        Ok(Layout::V1 {
            hierarchies,
            unified,
        })
    }

    /// The hierarchy that carries `controller` (v1).
    pub fn v1(&self, controller: &str) -> Option<&V1Hierarchy> {
        match self {
            Layout::V1 { hierarchies, .. } => hierarchies
                .iter()
                .find(|h| h.controllers.iter().any(|c| c == controller)),
            Layout::V2 { .. } => None,
        }
    }
}

/// `0::/path` from /proc/self/cgroup.
fn own_v2(proc_cgroup: &str) -> PathBuf {
    proc_cgroup
        .lines()
        .find_map(|l| l.strip_prefix("0::"))
        .unwrap_or("/")
        .into()
}

/// The v1 hierarchies den uses: the mounts of type `cgroup` whose super options name one of
/// [`V1_CONTROLLERS`], each with den's own path in it. A mount of a sub-cgroup (root field not
/// `/`) is taken as it is: its mount point shows the cgroup at that root.
pub fn v1_hierarchies(mountinfo: &str, proc_cgroup: &str) -> Vec<V1Hierarchy> {
    let mut out: Vec<V1Hierarchy> = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut r = right.split_whitespace();
        if r.next() != Some("cgroup") {
            continue;
        }
        let super_opts = r.nth(1).unwrap_or("");
        let controllers: Vec<String> = super_opts
            .split(',')
            .filter(|o| V1_CONTROLLERS.contains(o))
            .map(str::to_owned)
            .collect();
        let fields: Vec<&str> = left.split_whitespace().collect();
        let (Some(root), Some(mount)) = (fields.get(3), fields.get(4)) else {
            continue;
        };
        if controllers.is_empty() || out.iter().any(|h| h.controllers == controllers) {
            continue;
        }
        let own = proc_cgroup
            .lines()
            .find_map(|l| {
                let mut parts = l.splitn(3, ':');
                let (_, list, path) = (parts.next()?, parts.next()?, parts.next()?);
                list.split(',')
                    .any(|c| c == controllers[0])
                    .then(|| path.to_owned())
            })
            .unwrap_or_else(|| "/".into());
        out.push(V1Hierarchy {
            controllers,
            mount: PathBuf::from(unescape(mount)),
            own: below(Path::new(root), Path::new(&own)),
        });
    }
    out
}

/// Seen through a mount of a sub-cgroup (mountinfo's root field), den's path is relative to it.
fn below(root: &Path, own: &Path) -> PathBuf {
    own.strip_prefix(root)
        .map(|p| Path::new("/").join(p))
        .unwrap_or_else(|_| own.to_path_buf())
}

/// The root and mount point of the (first) cgroup2 mount.
fn unified_mount(mountinfo: &str) -> Option<(PathBuf, PathBuf)> {
    mountinfo.lines().find_map(|line| {
        let (left, right) = line.split_once(" - ")?;
        if right.split_whitespace().next() != Some("cgroup2") {
            return None;
        }
        let fields: Vec<&str> = left.split_whitespace().collect();
        let (root, mount) = (fields.get(3)?, fields.get(4)?);
        Some((
            PathBuf::from(unescape(root)),
            PathBuf::from(unescape(mount)),
        ))
    })
}

/// mountinfo escapes space, tab, newline and backslash as `\NNN` octal.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 4 <= b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 4], 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
30 25 0:26 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
34 30 0:30 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
35 30 0:31 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
";
    const CGROUP: &str = "\
9:name=systemd:/
4:memory:/process_api/48bb
2:cpu,cpuacct:/
0::/
";

    #[test]
    fn v1_hierarchies_with_own_paths_and_comounts() {
        let hs = v1_hierarchies(MOUNTINFO, CGROUP);
        assert_eq!(hs.len(), 2, "{hs:?}");
        assert_eq!(hs[0].controllers, ["cpu", "cpuacct"]);
        assert_eq!(hs[0].mount, Path::new("/sys/fs/cgroup/cpu,cpuacct"));
        assert_eq!(hs[0].own, Path::new("/"));
        assert_eq!(hs[1].own, Path::new("/process_api/48bb"));
        assert_eq!(
            unified_mount(MOUNTINFO),
            Some(("/".into(), "/sys/fs/cgroup/unified".into()))
        );
        let layout = Layout::V1 {
            hierarchies: hs,
            unified: None,
        };
        assert_eq!(
            layout.v1("cpuacct").map(|h| &h.mount),
            Some(&PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"))
        );
        assert!(layout.v1("pids").is_none());
        assert_eq!(own_v2(CGROUP), Path::new("/"));
    }

    #[test]
    fn mount_points_are_unescaped() {
        assert_eq!(unescape(r"/a\040b"), "/a b");
        assert_eq!(unescape(r"/plain\"), r"/plain\");
    }
}
