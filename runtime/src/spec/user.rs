//! `-u` / image `User` resolution against the image's `/etc/passwd` and `/etc/group`, with
//! runc's semantics (`GetExecUser`): numeric ids pass through, names must exist, and without an
//! explicit group the user's supplementary groups come from the group file.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use nix::fcntl::{openat2, OFlag, OpenHow, ResolveFlag};
use nix::sys::stat::Mode;

use super::SpecError;

/// The ids a container process runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub uid: u32,
    pub gid: u32,
    pub additional_gids: Vec<u32>,
    /// From the passwd entry; `/` when there is none (runc's default).
    pub home: String,
}

struct PasswdEntry {
    name: String,
    uid: u32,
    gid: u32,
    home: String,
}

struct GroupEntry {
    name: String,
    gid: u32,
    members: Vec<String>,
}

/// Resolve `spec` ("uid[:gid]" or "name[:group]", `None` = root) in `layers` (bottom first).
pub(crate) fn resolve(spec: Option<&str>, layers: &[PathBuf]) -> Result<ResolvedUser, SpecError> {
    let spec = spec.unwrap_or("");
    let (user_arg, group_arg) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec, None),
    };
    if group_arg == Some("") {
        return Err(SpecError::BadUser {
            spec: spec.to_owned(),
            reason: "empty group",
        });
    }
    let uid_arg = user_arg.parse::<u32>().ok();
    let passwd = read_entries(layers, "passwd", parse_passwd)?;
    let found = passwd.into_iter().find(|u| match (user_arg, uid_arg) {
        ("", _) => u.uid == 0,
        (_, Some(uid)) => u.uid == uid,
        (name, None) => u.name == name,
    });
    let mut user = ResolvedUser {
        uid: 0,
        gid: 0,
        additional_gids: Vec::new(),
        home: "/".into(),
    };
    let matched_name = match found {
        Some(entry) => {
            user.uid = entry.uid;
            user.gid = entry.gid;
            user.home = entry.home;
            Some(entry.name)
        }
        None => {
            match (user_arg, uid_arg) {
                ("", _) => {}
                (_, Some(uid)) => user.uid = uid,
                (name, None) => {
                    return Err(SpecError::UnknownUser {
                        name: name.to_owned(),
                    })
                }
            }
            None
        }
    };
    if group_arg.is_none() && matched_name.is_none() {
        return Ok(user);
    }
    let groups = read_entries(layers, "group", parse_group)?;
    match group_arg {
        Some(group) => {
            let gid_arg = group.parse::<u32>().ok();
            let found = groups.iter().find(|g| match gid_arg {
                Some(gid) => g.gid == gid,
                None => g.name == group,
            });
            user.gid = match (found, gid_arg) {
                (Some(entry), _) => entry.gid,
                (None, Some(gid)) => gid,
                (None, None) => {
                    return Err(SpecError::UnknownGroup {
                        name: group.to_owned(),
                    })
                }
            };
        }
        None => {
            let name = matched_name.unwrap_or_default();
            user.additional_gids = groups
                .iter()
                .filter(|g| g.members.contains(&name))
                .map(|g| g.gid)
                .collect();
        }
    }
    Ok(user)
}

fn parse_passwd(line: &str) -> Option<PasswdEntry> {
    let f: Vec<&str> = line.split(':').collect();
    if f.len() < 4 {
        return None;
    }
    Some(PasswdEntry {
        name: f[0].to_owned(),
        uid: f[2].parse().ok()?,
        gid: f[3].parse().ok()?,
        home: f
            .get(5)
            .filter(|h| !h.is_empty())
            .unwrap_or(&"/")
            .to_string(),
    })
}

fn parse_group(line: &str) -> Option<GroupEntry> {
    let f: Vec<&str> = line.split(':').collect();
    if f.len() < 3 {
        return None;
    }
    let members = f
        .get(3)
        .map(|m| {
            m.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default();
    Some(GroupEntry {
        name: f[0].to_owned(),
        gid: f[2].parse().ok()?,
        members,
    })
}

/// The parsed lines of `etc/<name>` from the topmost layer that has it (none: empty).
fn read_entries<T>(
    layers: &[PathBuf],
    name: &str,
    parse: fn(&str) -> Option<T>,
) -> Result<Vec<T>, SpecError> {
    let Some(layer) = find_in_layers(layers, name) else {
        return Ok(Vec::new());
    };
    let path = layer.join("etc").join(name);
    let file = open_in_layer(layer, name).map_err(|e| SpecError::ReadFile {
        path: path.clone(),
        source: e.into(),
    })?;
    let mut out = Vec::new();
    for line in BufReader::new(file).lines() {
        let line = line.map_err(|source| SpecError::ReadFile {
            path: path.clone(),
            source,
        })?;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        out.extend(parse(line));
    }
    Ok(out)
}

/// The topmost layer holding `etc/<name>`, stopping at a whiteout (OCI `.wh.` file, opaque dir
/// marker, or overlayfs' 0:0 character device) that deletes it.
fn find_in_layers<'a>(layers: &'a [PathBuf], name: &str) -> Option<&'a Path> {
    for layer in layers.iter().rev() {
        let etc = layer.join("etc");
        let file = etc.join(name);
        if is_whiteout(&layer.join(".wh.etc")) || is_overlay_whiteout(&etc) {
            return None;
        }
        if is_whiteout(&etc.join(format!(".wh.{name}"))) || is_overlay_whiteout(&file) {
            return None;
        }
        if file.symlink_metadata().is_ok() {
            return Some(layer);
        }
        if is_whiteout(&etc.join(".wh..wh..opq")) {
            return None;
        }
    }
    None
}

fn is_whiteout(path: &Path) -> bool {
    path.symlink_metadata().is_ok()
}

fn is_overlay_whiteout(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    path.symlink_metadata()
        .map(|m| m.file_type().is_char_device() && m.rdev() == 0)
        .unwrap_or(false)
}

/// Open `etc/<name>` with the layer as root, so a symlink in the image can never reach a host
/// file.
fn open_in_layer(layer: &Path, name: &str) -> Result<File, Errno> {
    let dir = nix::fcntl::open(
        layer,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )?;
    let how = OpenHow::new()
        .flags(OFlag::O_RDONLY | OFlag::O_CLOEXEC)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = openat2(&dir, format!("etc/{name}").as_str(), how)?;
    Ok(File::from(fd))
}
