//! docker's grammar for `-v`, `--mount` and `--tmpfs` (moby `volume/mounts/linux_parser.go`,
//! docker/cli `opts/mount.go`), turned into [`MountRequest`]s. Pure: nothing is looked up or made
//! here except whether a `--mount type=bind` source exists (docker refuses a missing one).

use std::path::{Component, Path, PathBuf};

use super::{MountKind, VolumeError};

/// One mount the user asked for, parsed and checked, before anything exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountRequest {
    pub kind: MountKind,
    /// Bind: the host path (cleaned). Volume: its name, `None` for an anonymous one. Tmpfs: none.
    pub source: Option<String>,
    /// The container path, absolute and cleaned.
    pub destination: String,
    pub rw: bool,
    /// `-v`'s mode string as given (docker's `Mode`); empty for `--mount` and `--tmpfs`.
    pub mode: String,
    /// Binds: the propagation (default rprivate); empty for volumes and tmpfs.
    pub propagation: String,
    /// Volumes: seed a new (empty) volume from the image's content at the destination.
    pub copy_data: bool,
    /// Tmpfs: the mount data (`size=…,mode=…`).
    pub tmpfs: String,
    /// `-v`: a missing host directory is created (docker's `-v`); `--mount` refuses it.
    pub create_source: bool,
    /// `-v` for a bind or a named volume: the string as given, for `HostConfig.Binds`.
    pub bind_spec: Option<String>,
}

const PROPAGATIONS: [&str; 6] = [
    "private", "rprivate", "shared", "rshared", "slave", "rslave",
];
const DEFAULT_PROPAGATION: &str = "rprivate";

/// docker's `[a-zA-Z0-9][a-zA-Z0-9_.-]` rule for local volume names.
pub fn valid_volume_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// `-v` modes: at most one of each class (rw/ro, z/Z, propagation, nocopy, consistency).
fn valid_mode(mode: &str) -> bool {
    if mode.is_empty() {
        return true;
    }
    let mut counts = [0u8; 5];
    for o in mode.split(',') {
        let class = match o {
            "rw" | "ro" => 0,
            "z" | "Z" => 1,
            p if PROPAGATIONS.contains(&p) => 2,
            "nocopy" => 3,
            "consistent" | "cached" | "delegated" => 4,
            _ => return false,
        };
        counts[class] += 1;
    }
    counts.iter().all(|&n| n <= 1)
}

/// `path.Clean` of an absolute path.
fn clean(p: &str) -> String {
    let mut out = PathBuf::from("/");
    for c in Path::new(p).components() {
        match c {
            Component::Normal(n) => out.push(n),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out.display().to_string()
}

/// The target checks every kind shares: absolute and not `/`.
fn check_target(kind: MountKind, target: &str) -> Result<String, String> {
    if target.is_empty() {
        return Err("field Target must not be empty".into());
    }
    if !target.starts_with('/') {
        return Err(format!(
            "invalid mount path: '{target}' mount path must be absolute"
        ));
    }
    let t = clean(target);
    if t == "/" {
        return Err("invalid specification: destination can't be '/'".into());
    }
    let _ = kind;
    Ok(t)
}

fn config_err(kind: MountKind, reason: String) -> String {
    format!("invalid mount config for type \"{kind}\": {reason}")
}

/// `-v SPEC`: `/host:/ctr[:MODE]`, `NAME:/ctr[:MODE]` or `/ctr`.
pub fn parse_volume(raw: &str) -> Result<MountRequest, VolumeError> {
    let invalid = |why: Option<String>| VolumeError::Spec {
        message: match why {
            Some(w) => format!("invalid volume specification: '{raw}': {w}"),
            None => format!("invalid volume specification: '{raw}'"),
        },
    };
    let parts: Vec<&str> = raw.splitn(4, ':').collect();
    if parts[0].is_empty() {
        return Err(invalid(None));
    }
    let (source, target, mode) = match parts.as_slice() {
        [t] => (None, *t, ""),
        [_, m] if valid_mode(m) => return Err(invalid(None)),
        [s, t] => (Some(*s), *t, ""),
        [s, t, m] => (Some(*s), *t, *m),
        _ => return Err(invalid(None)),
    };
    if !valid_mode(mode) {
        return Err(VolumeError::Spec {
            message: format!("invalid mode: {mode}"),
        });
    }
    let opts: Vec<&str> = mode.split(',').filter(|o| !o.is_empty()).collect();
    let kind = match source {
        Some(s) if s.starts_with('/') => MountKind::Bind,
        _ => MountKind::Volume,
    };
    let destination = check_target(kind, target).map_err(|e| invalid(Some(config_err(kind, e))))?;
    let propagation = opts.iter().find(|o| PROPAGATIONS.contains(o));
    let mut req = MountRequest {
        kind,
        source: None,
        destination,
        rw: !opts.contains(&"ro"),
        mode: mode.to_string(),
        propagation: String::new(),
        copy_data: !opts.contains(&"nocopy"),
        tmpfs: String::new(),
        create_source: true,
        bind_spec: source.map(|_| raw.to_string()),
    };
    match (kind, source) {
        (MountKind::Bind, Some(s)) => {
            req.source = Some(clean(s));
            req.propagation = propagation.unwrap_or(&DEFAULT_PROPAGATION).to_string();
        }
        (_, Some(name)) => {
            if !valid_volume_name(name) {
                return Err(VolumeError::Spec {
                    message: format!(
                        "create {name}: \"{name}\" includes invalid characters for a local volume \
                         name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to \
                         pass a host directory, use absolute path"
                    ),
                });
            }
            req.source = Some(name.to_string());
        }
        (_, None) => {}
    }
    if kind == MountKind::Volume && propagation.is_some() {
        return Err(invalid(Some(config_err(
            kind,
            "field BindOptions must not be specified".into(),
        ))));
    }
    Ok(req)
}

/// `--mount type=…,source=…,target=…[,readonly][,bind-propagation=…][,volume-nocopy][,tmpfs-size=…]
/// [,tmpfs-mode=…]`.
pub fn parse_mount(raw: &str) -> Result<MountRequest, VolumeError> {
    let flag_err = |why: String| VolumeError::Spec {
        message: format!("invalid argument \"{raw}\" for \"--mount\" flag: {why}"),
    };
    let (mut kind, mut source, mut target) = (MountKind::Volume, None, None);
    let (mut ro, mut propagation, mut nocopy) = (false, None, false);
    let (mut size, mut tmode) = (None, None);
    for field in raw.split(',') {
        let (key, value) = match field.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim())),
            None => (field.trim().to_ascii_lowercase(), None),
        };
        let boolean = |v: Option<&str>| match v {
            None | Some("1" | "true" | "True") => Ok(true),
            Some("0" | "false" | "False") => Ok(false),
            Some(v) => Err(flag_err(format!("invalid value for {key}: {v}"))),
        };
        let need = |v: Option<&str>| {
            v.map(str::to_string).ok_or_else(|| {
                flag_err(format!("invalid field '{field}' must be a key=value pair"))
            })
        };
        match key.as_str() {
            "type" => {
                kind = match need(value)?.as_str() {
                    "bind" => MountKind::Bind,
                    "volume" => MountKind::Volume,
                    "tmpfs" => MountKind::Tmpfs,
                    t => return Err(flag_err(format!("invalid mount type {t:?}"))),
                }
            }
            "source" | "src" => source = Some(need(value)?),
            "target" | "dst" | "destination" => target = Some(need(value)?),
            "readonly" | "ro" => ro = boolean(value)?,
            "bind-propagation" => propagation = Some(need(value)?),
            "volume-nocopy" => nocopy = boolean(value)?,
            "tmpfs-size" => size = Some(need(value)?),
            "tmpfs-mode" => tmode = Some(need(value)?),
            _ => return Err(flag_err(format!("unexpected key '{key}' in '{field}'"))),
        }
    }
    let Some(target) = target else {
        return Err(flag_err("target is required".into()));
    };
    let config = |e: String| VolumeError::Spec {
        message: config_err(kind, e),
    };
    let destination = check_target(kind, &target).map_err(config)?;
    let mut req = MountRequest {
        kind,
        source: None,
        destination,
        rw: !ro,
        mode: String::new(),
        propagation: String::new(),
        copy_data: !nocopy,
        tmpfs: String::new(),
        create_source: false,
        bind_spec: None,
    };
    if kind != MountKind::Bind && propagation.is_some() {
        return Err(config("field BindOptions must not be specified".into()));
    }
    if kind != MountKind::Tmpfs && (size.is_some() || tmode.is_some()) {
        return Err(config("field TmpfsOptions must not be specified".into()));
    }
    match kind {
        MountKind::Bind => {
            let s = source
                .filter(|s| !s.is_empty())
                .ok_or_else(|| config("field Source must not be empty".into()))?;
            if !s.starts_with('/') {
                return Err(config(format!(
                    "invalid mount path: '{s}' mount path must be absolute"
                )));
            }
            if std::fs::symlink_metadata(&s).is_err() {
                return Err(config(format!("bind source path does not exist: {s}")));
            }
            let p = propagation.unwrap_or_else(|| DEFAULT_PROPAGATION.into());
            if !PROPAGATIONS.contains(&p.as_str()) {
                return Err(config(format!("invalid propagation mode: {p}")));
            }
            req.source = Some(clean(&s));
            req.propagation = p;
        }
        MountKind::Volume => {
            if let Some(name) = source.filter(|s| !s.is_empty()) {
                if !valid_volume_name(&name) {
                    return Err(VolumeError::Spec {
                        message: format!(
                            "create {name}: \"{name}\" includes invalid characters for a local \
                             volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed"
                        ),
                    });
                }
                req.source = Some(name);
            } else if ro {
                return Err(config(
                    "must not set ReadOnly mode when using anonymous volumes".into(),
                ));
            }
        }
        MountKind::Tmpfs => {
            if source.is_some_and(|s| !s.is_empty()) {
                return Err(config("field Source must not be specified".into()));
            }
            let mut data = Vec::new();
            if let Some(m) = tmode {
                u32::from_str_radix(&m, 8)
                    .map_err(|_| flag_err(format!("invalid value for tmpfs-mode: {m}")))?;
                data.push(format!("mode={m}"));
            }
            if let Some(s) = size {
                let bytes = ram_in_bytes(&s)
                    .ok_or_else(|| flag_err(format!("invalid value for tmpfs-size: {s}")))?;
                data.push(format!("size={bytes}"));
            }
            req.tmpfs = data.join(",");
        }
    }
    Ok(req)
}

/// docker's `units.RAMInBytes`: a number with an optional b, k, m, g, t, p suffix (binary).
fn ram_in_bytes(s: &str) -> Option<u64> {
    let s = s.trim().to_ascii_lowercase();
    let s = s.strip_suffix('b').unwrap_or(&s);
    let (num, mult) = match s.char_indices().last()? {
        (i, 'k') => (&s[..i], 1u64 << 10),
        (i, 'm') => (&s[..i], 1 << 20),
        (i, 'g') => (&s[..i], 1 << 30),
        (i, 't') => (&s[..i], 1 << 40),
        (i, 'p') => (&s[..i], 1 << 50),
        _ => (s, 1),
    };
    let n: f64 = num.parse().ok().filter(|n: &f64| *n >= 0.0)?;
    Some((n * mult as f64) as u64)
}

/// A tmpfs option the kernel takes: size and nr_* as a number with k/m/g/% , mode octal, uid/gid
/// numbers, and the mount flags. Checked here so that a typo fails before anything is created.
fn valid_tmpfs_option(o: &str) -> bool {
    let number = |v: &str, pct: bool| {
        let v = v.strip_suffix(['k', 'm', 'g', 'K', 'M', 'G']).unwrap_or(v);
        let v = if pct {
            v.strip_suffix('%').unwrap_or(v)
        } else {
            v
        };
        !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit())
    };
    match o.split_once('=') {
        Some(("size", v)) => number(v, true),
        Some(("nr_blocks" | "nr_inodes", v)) => number(v, true),
        Some(("mode", v)) => u32::from_str_radix(v, 8).is_ok(),
        Some(("uid" | "gid", v)) => v.parse::<u32>().is_ok(),
        Some(_) => false,
        None => matches!(
            o,
            "ro" | "rw"
                | "exec"
                | "noexec"
                | "suid"
                | "nosuid"
                | "dev"
                | "nodev"
                | "atime"
                | "noatime"
                | "relatime"
                | "strictatime"
        ),
    }
}

/// `--tmpfs /ctr[:OPTS]`.
pub fn parse_tmpfs(raw: &str) -> Result<MountRequest, VolumeError> {
    let (target, opts) = raw.split_once(':').unwrap_or((raw, ""));
    let destination = check_target(MountKind::Tmpfs, target).map_err(|e| VolumeError::Spec {
        message: format!("invalid tmpfs mount {raw:?}: {e}"),
    })?;
    let opts: Vec<&str> = opts.split(',').filter(|o| !o.is_empty()).collect();
    if let Some(bad) = opts.iter().find(|o| !valid_tmpfs_option(o)) {
        return Err(VolumeError::Spec {
            message: format!("invalid tmpfs option {bad:?} in --tmpfs {raw}"),
        });
    }
    Ok(MountRequest {
        kind: MountKind::Tmpfs,
        source: None,
        destination,
        rw: !opts.contains(&"ro"),
        mode: String::new(),
        propagation: String::new(),
        copy_data: false,
        tmpfs: opts.join(","),
        create_source: false,
        bind_spec: None,
    })
}

/// `--volumes-from NAME[:MODE]`: the container and whether its mounts become read-only.
pub fn parse_volumes_from(raw: &str) -> Result<(String, Option<bool>), VolumeError> {
    let (name, mode) = raw.split_once(':').unwrap_or((raw, ""));
    if name.is_empty() {
        return Err(VolumeError::Spec {
            message: "volumes-from specification cannot be an empty string".into(),
        });
    }
    match mode {
        "" => Ok((name.into(), None)),
        "rw" => Ok((name.into(), Some(true))),
        "ro" => Ok((name.into(), Some(false))),
        m => Err(VolumeError::Spec {
            message: format!("invalid mode: {m}"),
        }),
    }
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
