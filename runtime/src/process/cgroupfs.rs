//! A spec mount of type `cgroup` (podman, containerd and runc's default spec have one at
//! /sys/fs/cgroup), turned into mounts den makes. On a cgroup2 host: a cgroup2 mount (in a private
//! cgroup namespace it shows the container's own subtree). On v1 (and hybrid): a tmpfs with each
//! host hierarchy bind-mounted under it by the name it has on the host, then the tmpfs made
//! read-only if the mount asks (as runc without a cgroup namespace, except that runc binds the
//! container's own cgroup of each hierarchy where den binds the hierarchy: read-only, that
//! shows the host's tree but cannot change it).

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

/// The mounts that stand for the `cgroup` mount `m`, in order.
pub fn expand(m: &Mount) -> Result<Vec<Mount>, ProcessError> {
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
    let v2 = statfs(HOST_ROOT).is_ok_and(|s| s.filesystem_type() == CGROUP2_SUPER_MAGIC);
    if v2 {
        return Ok(vec![build(dest, "cgroup2", "cgroup2", flag_opts)?]);
    }
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").map_err(|source| {
        ProcessError::MountSource {
            destination: dest.clone(),
            source_path: "/proc/self/mountinfo".into(),
            source,
        }
    })?;
    let tmpfs_opts = vec![
        "nosuid".into(),
        "nodev".into(),
        "noexec".into(),
        "mode=755".into(),
    ];
    let mut out = vec![build(dest.clone(), "tmpfs", "tmpfs", tmpfs_opts)?];
    for point in hierarchies(&mountinfo, Path::exists) {
        let Some(name) = point.file_name() else {
            continue;
        };
        let mut o = vec!["bind".to_string()];
        o.extend(flag_opts.iter().cloned());
        out.push(build(
            dest.join(name),
            "bind",
            &point.display().to_string(),
            o,
        )?);
    }
    if opts.iter().any(|o| o == "ro") {
        let o = ["remount", "ro", "nosuid", "nodev", "noexec"]
            .map(String::from)
            .to_vec();
        out.push(build(dest, "tmpfs", "tmpfs", o)?);
    }
    Ok(out)
}

/// The mount points of the host's cgroup and cgroup2 mounts directly under /sys/fs/cgroup
/// (that exist: one hidden by a later tmpfs there is not reachable).
fn hierarchies(mountinfo: &str, visible: impl Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for line in mountinfo.lines() {
        let Some((left, right)) = line.split_once(" - ") else {
            continue;
        };
        let fstype = right.split_whitespace().next().unwrap_or("");
        if fstype != "cgroup" && fstype != "cgroup2" {
            continue;
        }
        let Some(point) = left.split_whitespace().nth(4) else {
            continue;
        };
        let point = PathBuf::from(point);
        if visible(&point) && point.parent() == Some(Path::new(HOST_ROOT)) && !out.contains(&point)
        {
            out.push(point);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_hierarchies_are_the_cgroup_mounts_below_sys_fs_cgroup() {
        let info = "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n\
                    32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n\
                    41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n\
                    50 20 0:40 / /elsewhere/memory rw - cgroup cgroup rw,memory\n";
        assert_eq!(
            hierarchies(info, |_| true),
            [
                PathBuf::from("/sys/fs/cgroup/cpu"),
                "/sys/fs/cgroup/unified".into()
            ]
        );
    }
}
