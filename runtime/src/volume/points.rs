//! A container's mounts made real: each request resolved to a host path at step 2 of `den run`
//! (named volumes created on first use, anonymous ones made, `-v` host directories created as
//! docker's `-v` does), written to `<container dir>/mounts.json`, and turned into OCI mounts. Every
//! volume or directory made here is removed again if the start fails ([`Prepared`]).

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use oci_spec::runtime::{Mount, MountBuilder, Spec};
use serde::{Deserialize, Serialize};

use super::{MountKind, MountRequest, VolumeError, VolumeStore};

/// One mount of a container, as `den inspect` shows it (docker's `MountPoint`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountPoint {
    pub kind: MountKind,
    /// The volume's name; empty for binds and tmpfs.
    pub name: String,
    /// The host path: a bind's source or a volume's `_data`; empty for tmpfs.
    pub source: PathBuf,
    pub destination: String,
    pub mode: String,
    pub rw: bool,
    pub propagation: String,
    pub copy_data: bool,
    /// Tmpfs mount data.
    pub tmpfs: String,
    pub anonymous: bool,
    /// `-v` bind: recreate a missing source directory at each start.
    pub create_source: bool,
    /// How it was asked for: `-v SPEC` (for HostConfig.Binds), `--mount`, `--tmpfs` or
    /// `--volumes-from NAME`.
    pub origin: Origin,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Volume(String),
    Mount,
    Tmpfs,
    From(String),
}

/// Everything about a container's filesystem beyond the image: `<dir>/mounts.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mounts {
    pub mounts: Vec<MountPoint>,
    pub read_only: bool,
    pub volumes_from: Vec<String>,
}

const FILE: &str = "mounts.json";

/// A container's mounts record; a container without one (made before volumes existed) has none.
pub fn load(dir: &Path) -> Result<Mounts, VolumeError> {
    let path = dir.join(FILE);
    match fs::read(&path) {
        Ok(body) => serde_json::from_slice(&body).map_err(|source| VolumeError::Corrupt {
            what: "parsing",
            path,
            source,
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Mounts::default()),
        Err(e) => Err(VolumeError::io("reading", path)(e)),
    }
}

/// The mounts of the container in `dir`, empty if it has no record.
pub fn mounts_of(dir: &Path) -> Mounts {
    load(dir).unwrap_or_default()
}

fn save(dir: &Path, m: &Mounts) -> Result<(), VolumeError> {
    let path = dir.join(FILE);
    let body = serde_json::to_vec_pretty(m).expect("mounts serialise");
    fs::write(&path, body).map_err(VolumeError::io("writing", path))
}

impl MountPoint {
    /// A request whose volume or host path is not decided yet (see [`prepare`]).
    pub fn from_request(r: &MountRequest, origin: Origin) -> MountPoint {
        MountPoint {
            kind: r.kind,
            name: match r.kind {
                MountKind::Volume => r.source.clone().unwrap_or_default(),
                _ => String::new(),
            },
            source: match r.kind {
                MountKind::Bind => PathBuf::from(r.source.clone().unwrap_or_default()),
                _ => PathBuf::new(),
            },
            destination: r.destination.clone(),
            mode: r.mode.clone(),
            rw: r.rw,
            propagation: r.propagation.clone(),
            copy_data: r.copy_data,
            tmpfs: r.tmpfs.clone(),
            anonymous: r.kind == MountKind::Volume && r.source.is_none(),
            create_source: r.create_source,
            origin,
        }
    }
}

/// What step 2 made for the container's mounts; undone on drop unless committed.
pub struct Prepared {
    pub mounts: Mounts,
    volumes: Vec<PathBuf>,
    dirs: Vec<PathBuf>,
    armed: bool,
}

impl Prepared {
    pub fn commit(mut self) {
        self.armed = false;
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if self.armed {
            for v in self.volumes.iter().rev() {
                let _ = fs::remove_dir_all(v);
            }
            for d in self.dirs.iter().rev() {
                let _ = fs::remove_dir(d);
            }
        }
    }
}

/// Make what `mounts` needs on the host and write the container's `mounts.json` in `dir`: a volume
/// without a name gets a new anonymous one, a named one is created if missing, a `-v` bind's
/// missing host directory is created (with its missing parents, 0755).
pub fn prepare(root: &Path, dir: &Path, mut mounts: Mounts) -> Result<Prepared, VolumeError> {
    let store = VolumeStore::new(root);
    let mut p = Prepared {
        mounts: Mounts::default(),
        volumes: Vec::new(),
        dirs: Vec::new(),
        armed: true,
    };
    for m in &mut mounts.mounts {
        match m.kind {
            MountKind::Volume => {
                let name = (!m.name.is_empty()).then_some(m.name.as_str());
                let (vol, made) = store.create(name)?;
                if made {
                    p.volumes
                        .push(vol.mountpoint.parent().unwrap_or(&vol.mountpoint).into());
                }
                m.name = vol.name;
                m.source = vol.mountpoint;
            }
            MountKind::Bind if m.create_source => create_missing(&m.source, &mut p.dirs)?,
            _ => {}
        }
    }
    p.mounts = mounts;
    // A container without mounts has no record (`load` reads that as none): no write on the
    // common path.
    if p.mounts != Mounts::default() {
        save(dir, &p.mounts)?;
    }
    Ok(p)
}

/// `mkdir -p`, remembering each directory it made (outermost first).
fn create_missing(path: &Path, made: &mut Vec<PathBuf>) -> Result<(), VolumeError> {
    let missing: Vec<&Path> = path
        .ancestors()
        .take_while(|a| fs::symlink_metadata(a).is_err())
        .collect();
    for d in missing.into_iter().rev() {
        match fs::create_dir(d) {
            Ok(()) => made.push(d.to_path_buf()),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(VolumeError::io("creating the bind source", d)(e)),
        }
    }
    Ok(())
}

/// Add the container's mounts to its OCI spec, after docker's default ones (a user mount over
/// `/etc/hosts` and the like replaces den's), and make its root read-only with `--read-only`.
pub fn apply_to_spec(spec: &mut Spec, m: &Mounts) -> Result<(), oci_spec::OciSpecError> {
    let user = oci_mounts(m)?;
    let mut all = spec.mounts().clone().unwrap_or_default();
    all.retain(|d| !user.iter().any(|u| u.destination() == d.destination()));
    all.extend(user);
    // Parents before children, den's /etc files included (over a volume at /etc, as docker).
    all.sort_by_key(|d| d.destination().components().count());
    spec.set_mounts(Some(all));
    if m.read_only {
        if let Some(root) = spec.root_mut() {
            root.set_readonly(Some(true));
        }
    }
    Ok(())
}

/// The OCI mounts of the container's own mounts.
pub(crate) fn oci_mounts(m: &Mounts) -> Result<Vec<Mount>, oci_spec::OciSpecError> {
    m.mounts
        .iter()
        .map(|p| {
            let mut options: Vec<String> = Vec::new();
            let (typ, source) = match p.kind {
                MountKind::Tmpfs => {
                    options.extend(["noexec", "nosuid", "nodev"].map(String::from));
                    options.extend(
                        p.tmpfs
                            .split(',')
                            .filter(|o| !o.is_empty())
                            .map(String::from),
                    );
                    ("tmpfs", PathBuf::from("tmpfs"))
                }
                _ => {
                    options.push("rbind".into());
                    options.push(match p.propagation.as_str() {
                        "" => "rprivate".into(),
                        prop => prop.into(),
                    });
                    ("bind", p.source.clone())
                }
            };
            if !p.rw {
                options.push("ro".into());
            }
            MountBuilder::default()
                .destination(&p.destination)
                .typ(typ)
                .source(source)
                .options(options)
                .build()
        })
        .collect()
}

/// docker's check for `shared`/`slave` binds: the mount holding the source must be shared (or, for
/// slave modes, shared or a slave), else the propagation asked for could never happen.
pub fn check_propagation(source: &Path, propagation: &str) -> Result<(), VolumeError> {
    let needed = match propagation {
        "shared" | "rshared" => "shared",
        "slave" | "rslave" => "shared or slave",
        _ => return Ok(()),
    };
    let real = fs::canonicalize(source).unwrap_or_else(|_| source.to_path_buf());
    let info = fs::read_to_string("/proc/self/mountinfo")
        .map_err(VolumeError::io("reading", "/proc/self/mountinfo"))?;
    // The last (topmost) mount whose mount point holds the source.
    let holder = info
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(' ').collect();
            let point = PathBuf::from(f.get(4)?.replace("\\040", " "));
            let sep = f.iter().position(|x| *x == "-")?;
            Some((point, f[6..sep].join(" ")))
        })
        .filter(|(point, _)| real.starts_with(point))
        .max_by_key(|(point, _)| point.components().count());
    let Some((point, optional)) = holder else {
        return Ok(());
    };
    let ok = optional.contains("shared:") || (needed != "shared" && optional.contains("master:"));
    if ok {
        Ok(())
    } else {
        Err(VolumeError::NotShared {
            source_path: source.to_path_buf(),
            mount_point: point,
            needed,
        })
    }
}
