//! Images: a rootfs directory, an OCI image layout, or a docker-save / OCI archive tar, resolved
//! to read-only layer directories (overlayfs lowerdirs) and a run config.
//!
//! Layers are unpacked once into a content-addressed store under `<state root>/images`, verified
//! against their digests while streaming, with OCI whiteouts converted to overlayfs form.
//! Resolving an image whose layers are already there reads only its small JSON files.
mod archive;
mod digest;
mod docker;
mod error;
mod guard;
mod kept;
mod layers;
mod listing;
mod load;
mod names;
mod oci;
mod parents;
mod parsed;
mod pull;
mod push;
mod reference;
mod save;
mod source;
mod store;
mod sys;
mod unpack;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

pub use error::ImageError;
pub use load::Loaded;
pub use oci::Platform;
pub use pull::{login, logout, Event, PullOptions, Pulled, Status};
pub use push::{PushEvent, PushStatus, Pushed};
pub use reference::{RefProblem, Reference};
pub use store::ImageStore;

/// A resolved image, ready to be mounted.
#[derive(Clone, Debug)]
pub struct Image {
    /// What the user typed, or the loaded name.
    pub reference: String,
    /// "sha256:..." of the config; for a rootfs directory "dir:<canonical path>".
    pub id: String,
    /// Directories usable as overlayfs lowerdirs, BOTTOM first.
    pub layers: Vec<PathBuf>,
    pub config: ImageConfig,
}

/// The parts of an image config that running a container uses.
#[derive(Default, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    /// The image's `VOLUME` paths: each gets an anonymous volume unless the run mounts something
    /// there (docker).
    #[serde(default)]
    pub volumes: Vec<String>,
    /// The image's `EXPOSE`d ports as `PORT/PROTO` (`-P` publishes them). None: recorded
    /// before den kept them (see [`ImageConfig::exposed`]; the store reads them from the config
    /// blob then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exposed_ports: Option<Vec<String>>,
    /// The image's labels (docker's Config.Labels); None as for `exposed_ports`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<std::collections::BTreeMap<String, String>>,
    /// docker's HEALTHCHECK (not in the OCI spec: read from the config's `Healthcheck`).
    #[serde(default)]
    pub healthcheck: Option<crate::state::HealthConfig>,
}

impl ImageConfig {
    /// The `EXPOSE`d ports (`PORT/PROTO`).
    pub fn exposed(&self) -> &[String] {
        self.exposed_ports.as_deref().unwrap_or_default()
    }
}

/// One image on record, as `den images` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageSummary {
    /// The full name: `docker.io/library/alpine:latest`.
    pub name: String,
    /// As docker shows it: `alpine`, `localhost:5000/app`.
    pub repository: String,
    pub tag: Option<String>,
    /// The registry manifest digest, if it was pulled.
    pub digest: Option<String>,
    /// Bytes unpacked.
    pub size: u64,
    /// The config digest ("sha256:..."), or "dir:<path>" for a rootfs directory.
    pub id: String,
    /// The config's creation time (RFC 3339), if it has one.
    pub created: Option<String>,
    pub layers: usize,
    /// Its config's labels (`images --filter label=`).
    pub labels: std::collections::BTreeMap<String, String>,
}
