//! Step 1 for the container's filesystem: `-v`, `--mount`, `--tmpfs` and `--volumes-from` parsed
//! with docker's rules into the mounts the container will get (nothing is created here: volumes and
//! `-v` host directories are made at step 2, by `volume::prepare`).

use std::path::Path;

use super::{RunError, Storage};
use crate::state::Store;
use crate::volume::{self, MountKind, MountPoint, Mounts, Origin, VolumeError};

/// The mounts `storage` asks for, checked: docker's grammar, one mount per destination, the
/// `--volumes-from` containers exist, a shared/slave bind's source is on a shared/slave mount;
/// then an anonymous volume at each of the image's `VOLUME` paths nothing else is mounted on.
pub(crate) fn plan(
    root: &Path,
    storage: &Storage,
    image_volumes: &[String],
) -> Result<Mounts, RunError> {
    let mut mounts: Vec<MountPoint> = Vec::new();
    for raw in &storage.volumes {
        let r = volume::parse_volume(raw)?;
        let origin = match r.bind_spec.clone() {
            Some(spec) => Origin::Volume(spec),
            None => Origin::Volume(String::new()),
        };
        mounts.push(MountPoint::from_request(&r, origin));
    }
    for raw in &storage.mounts {
        mounts.push(MountPoint::from_request(
            &volume::parse_mount(raw)?,
            Origin::Mount,
        ));
    }
    for raw in &storage.tmpfs {
        mounts.push(MountPoint::from_request(
            &volume::parse_tmpfs(raw)?,
            Origin::Tmpfs,
        ));
    }
    for (i, m) in mounts.iter().enumerate() {
        if mounts[..i].iter().any(|o| o.destination == m.destination) {
            return Err(VolumeError::Spec {
                message: format!("Duplicate mount point: {}", m.destination),
            }
            .into());
        }
        if m.kind == MountKind::Bind {
            volume::check_propagation(&m.source, &m.propagation)?;
        }
    }
    // docker: a mount of --volumes-from gives way to one asked for explicitly at its destination.
    let store = Store::new(root);
    for raw in &storage.volumes_from {
        let (name, rw) = volume::parse_volumes_from(raw)?;
        let other = store.find(&name)?;
        for m in volume::load(&store.dir(&other.id))?.mounts {
            if m.kind == MountKind::Tmpfs || mounts.iter().any(|o| o.destination == m.destination) {
                continue;
            }
            mounts.push(MountPoint {
                rw: m.rw && rw.unwrap_or(true),
                copy_data: false,
                anonymous: false,
                create_source: false,
                origin: Origin::From(name.clone()),
                ..m
            });
        }
    }
    for dest in image_volumes {
        let r = volume::parse_volume(dest)?;
        if !mounts.iter().any(|o| o.destination == r.destination) {
            mounts.push(MountPoint::from_request(&r, Origin::Volume(String::new())));
        }
    }
    Ok(Mounts {
        mounts,
        read_only: storage.read_only,
        volumes_from: storage.volumes_from.clone(),
    })
}
