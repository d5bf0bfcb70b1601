//! `--privileged`'s /dev: every device node of the host's /dev, as docker does (containerd's
//! `HostDevices`: walk /dev, skip the dirs a container gets its own of and the host's console),
//! with the host node's mode and owner. `/dev/ptmx` is skipped too (den makes it a link to
//! `pts/ptmx`, as runc does), and nodes the spec already has keep the spec's entry.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};

use nix::sys::stat::{major, minor};
use oci_spec::runtime::{LinuxDevice, LinuxDeviceBuilder, LinuxDeviceType};

use super::{built, SpecError};

/// containerd's skips (`getDevices`): a container's own pts/shm/mqueue/fd, LXC's and udev's
/// private dirs, and the host's console.
const SKIP_DIRS: [&str; 7] = ["pts", "shm", "fd", "mqueue", ".lxc", ".lxd-mounts", ".udev"];
const SKIP_FILES: [&str; 2] = ["console", "ptmx"];

/// The device nodes below `dir` (the host's /dev), found depth first; `in_container` is where
/// `dir` appears inside (`/dev`). Unreadable dirs are passed over, as containerd does.
pub fn host_devices(dir: &Path, in_container: &Path) -> Result<Vec<LinuxDevice>, SpecError> {
    let mut out = Vec::new();
    walk(dir, in_container, &mut out)?;
    out.sort_by(|a, b| a.path().cmp(b.path()));
    Ok(out)
}

fn walk(dir: &Path, inside: &Path, out: &mut Vec<LinuxDevice>) -> Result<(), SpecError> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(name_str) = name.to_str() else {
            continue;
        };
        let Ok(meta) = fs::symlink_metadata(entry.path()) else {
            continue;
        };
        let ft = meta.file_type();
        let path: PathBuf = inside.join(&name);
        if ft.is_dir() {
            if !SKIP_DIRS.contains(&name_str) {
                walk(&entry.path(), &path, out)?;
            }
            continue;
        }
        let typ = if ft.is_char_device() {
            LinuxDeviceType::C
        } else if ft.is_block_device() {
            LinuxDeviceType::B
        } else {
            continue;
        };
        if SKIP_FILES.contains(&name_str) && inside == Path::new("/dev") {
            continue;
        }
        let rdev = meta.rdev();
        out.push(built(
            "host devices",
            LinuxDeviceBuilder::default()
                .path(path)
                .typ(typ)
                .major(major(rdev) as i64)
                .minor(minor(rdev) as i64)
                .file_mode(meta.mode() & 0o7777)
                .uid(meta.uid())
                .gid(meta.gid())
                .build(),
        )?);
    }
    Ok(())
}

/// `devices` with the host's nodes added that it does not name yet.
pub fn add_host_devices(devices: &mut Vec<LinuxDevice>) -> Result<(), SpecError> {
    for d in host_devices(Path::new("/dev"), Path::new("/dev"))? {
        if !devices.iter().any(|have| have.path() == d.path()) {
            devices.push(d);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hosts_nodes_are_listed_but_not_its_pts_console_or_ptmx() {
        let devs = host_devices(Path::new("/dev"), Path::new("/dev")).expect("walk");
        let has = |p: &str| devs.iter().any(|d| d.path() == Path::new(p));
        assert!(has("/dev/null"), "{devs:?}");
        let null = devs.iter().find(|d| d.path() == Path::new("/dev/null"));
        assert_eq!(null.map(|d| (d.major(), d.minor())), Some((1, 3)));
        assert!(!has("/dev/console") && !has("/dev/ptmx"));
        assert!(!devs.iter().any(|d| d.path().starts_with("/dev/pts")));
        let mut list = devs[..1].to_vec();
        add_host_devices(&mut list).expect("add");
        assert_eq!(
            list.len(),
            devs.len(),
            "a node the spec has is not added twice"
        );
    }
}
