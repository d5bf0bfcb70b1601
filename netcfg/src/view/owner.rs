//! Whose is a namespace that den did not make: recognised from the owning process's cgroup path
//! or its parent's command line, the way the engines themselves name things.
//!
//! * docker: cgroup `.../docker-ID.scope` (systemd driver) or `/docker/ID` (cgroupfs driver);
//!   parent `containerd-shim-runc-v2 -namespace moby -id ID` (docker's containerd namespace). The
//!   name comes from `config.v2.json` beside the file docker bind-mounts on the container's
//!   `/etc/hostname` (`DATA_ROOT/containers/ID/hostname`, read from its mountinfo), so it is found
//!   whatever `--data-root` is, as long as that lies on the host's root filesystem.
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
    let owner = from_parent(&parent).or_else(|| {
        let cgroup = fs::read_to_string(format!("/proc/{pid}/cgroup")).ok()?;
        from_cgroup(&cgroup, &parent)
    })?;
    Some(match owner {
        Owner::Docker { id, name: None } => {
            let name = docker_name(pid, &id);
            Owner::Docker { id, name }
        }
        other => other,
    })
}

/// A docker container's name, from `config.v2.json` next to its `/etc/hostname` source.
fn docker_name(pid: u32, id: &str) -> Option<String> {
    let mountinfo = fs::read_to_string(format!("/proc/{pid}/mountinfo")).ok()?;
    let source = hostname_source(&mountinfo, id)?;
    let dir = source.strip_suffix("/hostname")?;
    let config = fs::read_to_string(format!("{dir}/config.v2.json")).ok()?;
    let v: serde_json::Value = serde_json::from_str(&config).ok()?;
    let name = v.get("Name")?.as_str()?.trim_start_matches('/');
    (!name.is_empty()).then(|| name.to_string())
}

/// The root field (4th) of the mountinfo line mounted on `/etc/hostname`, if it is docker's file
/// of container `id`.
fn hostname_source(mountinfo: &str, id: &str) -> Option<String> {
    let tail = format!("/containers/{id}/hostname");
    mountinfo.lines().find_map(|l| {
        let f: Vec<&str> = l.split(' ').collect();
        (f.get(4) == Some(&"/etc/hostname") && f.get(3)?.ends_with(&tail)).then(|| f[3].to_string())
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
            Owner::Docker { id, name: None }
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
                return Some(Owner::Docker {
                    id: id.into(),
                    name: None,
                });
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
            return Some(Owner::Docker {
                id: id.into(),
                name: None,
            });
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
        let docker = Owner::Docker {
            id: ID.into(),
            name: None,
        };
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
    fn docker_names_its_hostname_file_after_the_container() {
        let mi = format!(
            "620 610 254:1 /tmp/d/data/containers/{ID}/hostname /etc/hostname rw,relatime - ext4 /dev/vda1 rw\n"
        );
        assert_eq!(
            hostname_source(&mi, ID).as_deref(),
            Some(format!("/tmp/d/data/containers/{ID}/hostname").as_str())
        );
        assert_eq!(hostname_source(&mi, "0123"), None);
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
