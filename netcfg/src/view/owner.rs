//! Whose is a namespace that den did not make: recognised from the owning process's cgroup path
//! or its parent's command line, the way the engines themselves name things.
//!
//! * docker: cgroup `.../docker-ID.scope` (systemd driver) or `/docker/ID` (cgroupfs driver);
//!   parent `containerd-shim-runc-v2 -namespace moby -id ID` (docker's containerd namespace).
//! * podman: cgroup `libpod-ID.scope` or `/libpod_parent/libpod-ID`; parent `conmon ... -c ID
//!   -n NAME` (conmon carries the container's name).
//! * containerd (nerdctl, ctr, CRI): parent `containerd-shim* -namespace NS -id ID`; cgroup
//!   `cri-containerd-ID.scope`.

use std::fs;

use super::enumerate::{cmdline, ppid};
use super::model::Owner;

/// The engine container PID `pid` belongs to, if any.
pub fn engine_owner(pid: u32) -> Option<Owner> {
    let parent = ppid(pid).map(cmdline).unwrap_or_default();
    from_parent(&parent).or_else(|| {
        let cgroup = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        from_cgroup(&cgroup, &parent)
    })
}

/// From the parent's command line (a containerd shim or conmon).
fn from_parent(argv: &[String]) -> Option<Owner> {
    let prog = argv.first()?.rsplit('/').next()?;
    let flag = |name: &str| {
        let i = argv.iter().position(|a| a == name)?;
        argv.get(i + 1).cloned()
    };
    if prog.starts_with("containerd-shim") {
        let id = flag("-id")?;
        let namespace = flag("-namespace").unwrap_or_else(|| "default".into());
        return Some(if namespace == "moby" {
            Owner::Docker { id }
        } else {
            Owner::Containerd { namespace, id }
        });
    }
    if prog == "conmon" {
        let id = flag("-c").or_else(|| flag("--cid"))?;
        let name = flag("-n").or_else(|| flag("--name"));
        return Some(Owner::Podman { id, name });
    }
    None
}

/// From `/proc/PID/cgroup` (any hierarchy line); `parent` supplies podman's name if conmon is it.
fn from_cgroup(cgroup: &str, parent: &[String]) -> Option<Owner> {
    for line in cgroup.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap_or_default();
        for part in path.split('/') {
            let part = part.strip_suffix(".scope").unwrap_or(part);
            if let Some(id) = part.strip_prefix("docker-").filter(|i| is_id(i)) {
                return Some(Owner::Docker { id: id.into() });
            }
            if let Some(id) = part.strip_prefix("libpod-").filter(|i| is_id(i)) {
                let name = match from_parent(parent) {
                    Some(Owner::Podman { name, .. }) => name,
                    _ => None,
                };
                return Some(Owner::Podman {
                    id: id.into(),
                    name,
                });
            }
            if let Some(id) = part.strip_prefix("cri-containerd-").filter(|i| is_id(i)) {
                return Some(Owner::Containerd {
                    namespace: "k8s.io".into(),
                    id: id.into(),
                });
            }
        }
        if let Some(id) = path
            .strip_prefix("/docker/")
            .map(|r| r.split('/').next().unwrap_or(r))
            .filter(|i| is_id(i))
        {
            return Some(Owner::Docker { id: id.into() });
        }
    }
    None
}

/// A 64-digit lowercase hex container id.
fn is_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ID: &str = "0b4bc5ba78f9c1a0e6b0d1f8d2c9a3b4e5f60718293a4b5c6d7e8f9012345678";

    fn argv(s: &str) -> Vec<String> {
        s.split(' ').map(String::from).collect()
    }

    #[test]
    fn docker_from_its_shim_and_from_either_cgroup_driver() {
        let shim = argv(&format!(
            "/usr/bin/containerd-shim-runc-v2 -namespace moby -id {ID} -address /run/c.sock"
        ));
        let docker = Owner::Docker { id: ID.into() };
        assert_eq!(from_parent(&shim), Some(docker.clone()));
        let systemd = format!("1:name=systemd:/system.slice/docker-{ID}.scope\n");
        assert_eq!(from_cgroup(&systemd, &[]), Some(docker.clone()));
        let cgroupfs = format!("12:memory:/docker/{ID}\n");
        assert_eq!(from_cgroup(&cgroupfs, &[]), Some(docker));
    }

    #[test]
    fn podman_carries_conmons_name_and_containerd_its_namespace() {
        let conmon = argv(&format!(
            "/usr/bin/conmon --api-version 1 -c {ID} -u {ID} -n web"
        ));
        let cg = format!("0::/machine.slice/libpod-{ID}.scope/container\n");
        let want = Owner::Podman {
            id: ID.into(),
            name: Some("web".into()),
        };
        assert_eq!(from_cgroup(&cg, &conmon), Some(want));
        let shim = argv(&format!(
            "containerd-shim-runc-v2 -namespace k8s.io -id {ID}"
        ));
        assert_eq!(
            from_parent(&shim),
            Some(Owner::Containerd {
                namespace: "k8s.io".into(),
                id: ID.into()
            })
        );
    }

    #[test]
    fn ordinary_processes_are_not_containers() {
        assert_eq!(from_parent(&argv("/bin/bash -l")), None);
        assert_eq!(
            from_cgroup("1:name=systemd:/user.slice/session-1.scope\n", &[]),
            None
        );
    }
}
