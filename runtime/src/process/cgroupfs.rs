//! A spec mount of type `cgroup` (podman, containerd and runc's default spec have one at
//! /sys/fs/cgroup), turned into mounts den makes, showing the container its own cgroup and no
//! sibling's. On a cgroup2 host: with a cgroup namespace (rooted at the container's cgroup) a
//! cgroup2 mount, without one a bind of the container's dir. On v1 (and hybrid): a tmpfs with,
//! for each host hierarchy, the container's own dir in it bound under the hierarchy's name, then
//! the tmpfs made read-only if the mount asks (runc's way; with a cgroup namespace runc mounts
//! each hierarchy, which shows the same dir).

use std::path::{Path, PathBuf};

use nix::sys::statfs::{statfs, CGROUP2_SUPER_MAGIC};
use oci_spec::runtime::{Mount, MountBuilder};

use super::ProcessError;

const HOST_ROOT: &str = "/sys/fs/cgroup";

fn build(
    dest: PathBuf,
    typ: &str,
    source: &str,
    options: Vec<String>,
) -> Result<Mount, ProcessError> {
    MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(source)
        .options(options)
        .build()
        .map_err(|_| ProcessError::Invalid {
            what: "cgroup mount",
            value: source.to_owned(),
        })
}

/// The mounts that stand for the `cgroup` mount `m`, in order. `own`: the container's cgroup dir
/// in each hierarchy den put it in (in the others it shares the runtime's, read from
/// /proc/self/cgroup: the child inherits it); `cgroupns`: it gets a cgroup namespace rooted at
/// its own cgroup (the child unshares it after joining).
pub fn expand(m: &Mount, own: &[PathBuf], cgroupns: bool) -> Result<Vec<Mount>, ProcessError> {
    let dest = m.destination().clone();
    let opts: Vec<String> = m.options().clone().unwrap_or_default();
    let flag_opts: Vec<String> = opts
        .iter()
        .filter(|o| {
            matches!(
                o.as_str(),
                "ro" | "nosuid" | "nodev" | "noexec" | "relatime"
            )
        })
        .cloned()
        .collect();
    let read = |path: &str| {
        std::fs::read_to_string(path).map_err(|source| ProcessError::MountSource {
            destination: dest.clone(),
            source_path: path.into(),
            source,
        })
    };
    let (mountinfo, cgroups) = (read("/proc/self/mountinfo")?, read("/proc/self/cgroup")?);
    let all = hierarchies(&mountinfo, Path::exists);
    let bind = |dest: PathBuf, h: &Hierarchy| {
        let mut o = vec!["rbind".to_string()];
        o.extend(flag_opts.iter().cloned());
        let source = container_dir(h, own, &cgroups);
        build(dest, "bind", &source.display().to_string(), o)
    };
    let v2 = statfs(HOST_ROOT).is_ok_and(|s| s.filesystem_type() == CGROUP2_SUPER_MAGIC);
    if v2 {
        return match (cgroupns, all.iter().find(|h| h.v2)) {
            (false, Some(h)) => Ok(vec![bind(dest, h)?]),
            _ => Ok(vec![build(dest, "cgroup2", "cgroup2", flag_opts)?]),
        };
    }
    let tmpfs_opts = vec![
        "nosuid".into(),
        "nodev".into(),
        "noexec".into(),
        "mode=755".into(),
    ];
    let mut out = vec![build(dest.clone(), "tmpfs", "tmpfs", tmpfs_opts)?];
    for h in &all {
        if let Some(name) = h.point.file_name() {
            out.push(bind(dest.join(name), h)?);
        }
    }
    if opts.iter().any(|o| o == "ro") {
        let o = ["remount", "ro", "nosuid", "nodev", "noexec"]
            .map(String::from)
            .to_vec();
        out.push(build(dest, "tmpfs", "tmpfs", o)?);
    }
    Ok(out)
}

/// A host cgroup mount directly under /sys/fs/cgroup (or at it, a v2-only host's).
#[derive(Debug, PartialEq)]
struct Hierarchy {
    point: PathBuf,
    /// The mount's root within the hierarchy (mountinfo's 4th field).
    root: PathBuf,
    v2: bool,
    /// Its super options (the controllers, `name=`).
    opts: Vec<String>,
}

/// The container's cgroup dir in `h`: den's, or the runtime's own (`/proc/self/cgroup`), or
/// failing both the hierarchy's mount.
fn container_dir(h: &Hierarchy, own: &[PathBuf], cgroups: &str) -> PathBuf {
    if let Some(d) = own.iter().find(|d| d.starts_with(&h.point)) {
        return d.clone();
    }
    let line = cgroups.lines().find_map(|l| {
        let mut f = l.splitn(3, ':').skip(1);
        let (ctrls, path) = (f.next()?, f.next()?);
        let ours = match ctrls {
            "" => h.v2,
            c => !h.v2 && c.split(',').all(|c| h.opts.iter().any(|o| o == c)),
        };
        ours.then_some(path)
    });
    match line {
        Some(path) => {
            let path = Path::new(path);
            let rel = path.strip_prefix(&h.root).unwrap_or(path);
            h.point.join(rel.strip_prefix("/").unwrap_or(rel))
        }
        None => h.point.clone(),
    }
}

/// The host's cgroup and cgroup2 mounts directly under /sys/fs/cgroup (that exist: one hidden
/// by a later tmpfs there is not reachable), or at it.
fn hierarchies(mountinfo: &str, visible: impl Fn(&Path) -> bool) -> Vec<Hierarchy> {
    let mut out: Vec<Hierarchy> = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let mut r = right.split_whitespace();
        let fstype = r.next().unwrap_or("");
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        let mut l = left.split_whitespace().skip(3);
        let (Some(root), Some(point)) = (l.next(), l.next()) else {
            continue;
        };
        let point = PathBuf::from(point);
        let placed = point.parent() == Some(Path::new(HOST_ROOT)) || point == Path::new(HOST_ROOT);
        if visible(&point) && placed && !out.iter().any(|h| h.point == point) {
            out.push(Hierarchy {
                point,
                root: root.into(),
                v2: fstype == "cgroup2",
                opts: r
                    .nth(1)
                    .unwrap_or("")
                    .split(',')
                    .map(String::from)
                    .collect(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_hierarchy_shows_the_containers_own_cgroup() {
        let info = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
                    32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
                    33 31 0:30 /sub /sys/fs/cgroup/pids rw - cgroup cgroup rw,pids\n\
                    41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
                    50 20 0:40 / /elsewhere/memory rw - cgroup cgroup rw,memory\n";
        let all = hierarchies(info, |_| true);
        let points: Vec<_> = all.iter().map(|h| h.point.clone()).collect();
        assert_eq!(
            points,
            [
                PathBuf::from("/sys/fs/cgroup/cpu"),
                "/sys/fs/cgroup/pids".into(),
                "/sys/fs/cgroup/unified".into()
            ]
        );
        let own = [PathBuf::from("/sys/fs/cgroup/cpu/t/den-x")];
        let cgroups = "3:pids:/sub/t\n2:cpu:/t\n0::/t\n";
        let dirs: Vec<_> = all
            .iter()
            .map(|h| container_dir(h, &own, cgroups))
            .collect();
        assert_eq!(
            dirs,
            [
                PathBuf::from("/sys/fs/cgroup/cpu/t/den-x"),
                "/sys/fs/cgroup/pids/t".into(),
                "/sys/fs/cgroup/unified/t".into()
            ]
        );
    }
}
