//! `den events` without a daemon: a journal under the state root (`events.jsonl`) that every den
//! process which changes a container, image, network or volume appends one line to, in docker's
//! event shape (`docker events --format '{{json .}}'`).
//!
//! Each event is one line, and the events of one change (a container's `create`, `connect`,
//! `mount`, `start`) one `write(2)` on an `O_APPEND` fd, kept under `PIPE_BUF` (4096 bytes), so
//! concurrent den processes never interleave. The journal is bounded:
//! once `events.jsonl` passes its size (1 MiB, `DEN_EVENTS_MAX_SIZE`), it becomes `events.1.jsonl`
//! (the one before is dropped), so the last 1-2 MiB of events (some 4000-8000) are kept, where
//! docker's daemon keeps its last 1000 in memory. `den events` reads both files, then follows the
//! journal with inotify (`read`).
//!
//! An event that cannot be appended never fails what the user asked for: the verb did its work.
//! The first failure of a process is said once on stderr, each one in `DEN_TRACE`, and a
//! container's in its `supervisor.log` (a detached container's supervisor has no stderr).

mod filter;
mod journal;
mod read;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::state::health::HealthStatus;
use crate::state::Container;
use crate::volume::{MountKind, MountPoint, Mounts};
pub use filter::{Filter, FilterError};
pub use journal::{append, journal_path, rotated_path};
pub use read::{read, ReadOptions};

/// What an event is about: docker's `Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Container,
    Image,
    Network,
    Volume,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Container => "container",
            Kind::Image => "image",
            Kind::Network => "network",
            Kind::Volume => "volume",
        }
    }
}

/// The object an event happened to: its id and attributes (name, image, exitCode, signal, labels).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes", default)]
    pub attributes: BTreeMap<String, String>,
}

/// One event, as docker's `events.Message`: `status`, `id` and `from` are docker's older fields,
/// which it still fills for containers (`from`: the image) and images.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(rename = "Type")]
    pub kind: Kind,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    pub scope: String,
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i128,
}

impl Event {
    /// An event of `kind` on object `id`, now.
    pub fn new(kind: Kind, action: &str, id: &str) -> Event {
        let now = crate::logs::stamp::now();
        let legacy = matches!(kind, Kind::Container | Kind::Image);
        Event {
            status: legacy.then(|| action.to_string()),
            id: legacy.then(|| id.to_string()),
            from: None,
            kind,
            action: action.to_string(),
            actor: Actor {
                id: id.to_string(),
                attributes: BTreeMap::new(),
            },
            scope: "local".into(),
            time: now.as_secs() as i64,
            time_nano: now.as_nanos() as i128,
        }
    }

    /// A container's event: docker's attributes are its labels, `image` and `name`.
    pub fn container(c: &Container, action: &str) -> Event {
        let mut e = Event::new(Kind::Container, action, &c.id);
        e.from = Some(c.image.clone());
        e.actor.attributes = c.labels.clone();
        e.attr("image", &c.image).attr("name", &c.name)
    }

    /// An image's event (`name`: the reference it was done by, when there is one).
    pub fn image(id: &str, action: &str, name: &str) -> Event {
        Event::new(Kind::Image, action, id).attr("name", name)
    }

    /// A registry's event (`pull`, `push`): docker's actor is the reference itself.
    pub fn pulled(r: &crate::image::Reference, action: &str) -> Event {
        Event::image(&r.to_string(), action, &r.familiar_repository())
    }

    /// A network's event: `name` and docker's `type` (bridge, host, none).
    pub fn network(id: &str, action: &str, name: &str) -> Event {
        Event::new(Kind::Network, action, id)
            .attr("name", name)
            .attr("type", "bridge")
    }

    /// A volume's event (`driver`: den's volumes are docker's `local` driver).
    pub fn volume(name: &str, action: &str) -> Event {
        Event::new(Kind::Volume, action, name).attr("driver", "local")
    }

    /// One more attribute.
    pub fn attr(mut self, key: &str, value: impl ToString) -> Event {
        self.actor.attributes.insert(key.into(), value.to_string());
        self
    }

    /// The JSON line, without its newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("an event serialises")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum EventError {
    #[error("appending to the events journal {path}")]
    Append {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("rotating the events journal {path}")]
    Rotate {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("an event of {0} bytes, over the journal's {max} per line", max = journal::MAX_LINE)]
    TooLong(usize),
    #[error("reading the events journal {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("watching the events journal in {path}")]
    Watch {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("writing an event")]
    Write(#[source] std::io::Error),
}

/// Record `event` in the journal of state root `root`. The verb that calls it has done its work:
/// a failure does not undo or fail it. It is said on stderr once per process (the journal then
/// misses this process's events, and the user should know), each one in `DEN_TRACE`, and a
/// container event's in the container's `supervisor.log`.
pub fn emit(root: &Path, event: Event) {
    emit_all(root, &[event]);
}

/// `emit` of events that happened together, in one write (two lines or three of one change).
pub fn emit_all(root: &Path, events: &[Event]) {
    static SAID: AtomicBool = AtomicBool::new(false);
    let t = std::time::Instant::now();
    let what = || {
        let names: Vec<String> = events
            .iter()
            .map(|e| format!("{} {}", e.kind.as_str(), e.action))
            .collect();
        names.join(", ")
    };
    match append(root, events) {
        Ok(()) => den_netcfg::trace::step(|| {
            let us = t.elapsed().as_secs_f64() * 1e6;
            format!("# events journaled in {us:.0} µs: {}", what())
        }),
        Err(e) => {
            let why = chain(&e);
            den_netcfg::trace::step(|| format!("# events lost: {}: {why}", what()));
            if !SAID.swap(true, Ordering::Relaxed) {
                eprintln!("den: warning: {why} (the event is not recorded)");
            }
            // A detached container's supervisor has no stderr: its log says it.
            for e in events.iter().filter(|e| e.kind == Kind::Container) {
                let line = format!("event {} not recorded: {why}", e.action);
                crate::run::supervisor::note(root, &e.actor.id, &line);
            }
        }
    }
}

/// A container's step 6 is done: `create` (a new one: `den run`'s; `den create` says it itself),
/// its networks' `connect`, its volumes' `mount`, then `start`.
pub(crate) fn started(root: &Path, c: &Container, new: bool, mounts: &Mounts) {
    let mut all = Vec::new();
    if new {
        all.push(Event::container(c, "create"));
    }
    for att in c.attachments() {
        all.push(network_member(root, &att.network, &c.id, "connect"));
    }
    all.extend(volumes(c, &mounts.mounts, "mount"));
    all.push(Event::container(c, "start"));
    emit_all(root, &all);
}

/// docker's `volume mount`/`unmount` of each volume a container has, at its start and its end.
fn volumes(c: &Container, mounts: &[MountPoint], action: &str) -> Vec<Event> {
    let mut all = Vec::new();
    for m in mounts.iter().filter(|m| m.kind == MountKind::Volume) {
        let e = Event::volume(&m.name, action).attr("container", &c.id);
        let e = match action {
            "mount" => e
                .attr("destination", &m.destination)
                .attr("propagation", &m.propagation)
                .attr("read/write", m.rw),
            _ => e,
        };
        all.push(e);
    }
    all
}

/// A container's exit is about to be recorded (by its supervisor or a foreground `den run`):
/// `oom` if the kernel's OOM killer took a process of it, `die` with its exit code, then its
/// networks' `disconnect` and its volumes' `unmount` (read from its dir). Said before the record
/// says "exited", so that `den stop`'s `stop`, said once it does, comes after.
pub(crate) fn died(root: &Path, c: &Container, status: i32, dir: &Path) {
    let mut all = Vec::new();
    if c.oom_killed {
        all.push(Event::container(c, "oom"));
    }
    all.push(Event::container(c, "die").attr("exitCode", status));
    for att in c.attachments() {
        all.push(network_member(root, &att.network, &c.id, "disconnect"));
    }
    all.extend(volumes(c, &crate::volume::mounts_of(dir).mounts, "unmount"));
    emit_all(root, &all);
}

/// `--rm`: the container's teardown removed it.
pub(crate) fn auto_removed(root: &Path, c: &Container) {
    if c.auto_remove {
        emit(root, Event::container(c, "destroy"));
    }
}

/// `den network connect`/`disconnect` of a running container: `network_member`, said.
pub(crate) fn network_changed(root: &Path, network: &str, container: &str, action: &str) {
    emit(root, network_member(root, network, container, action));
}

/// Container `container` joined or left `network` (docker's `network connect`/`disconnect`, whose
/// actor is the network). A network whose file cannot be read is named by its name.
pub(crate) fn network_member(root: &Path, network: &str, container: &str, action: &str) -> Event {
    let id = match den_netcfg::network::Network::load(root, network) {
        Ok(n) => n.id,
        Err(_) => network.to_string(),
    };
    Event::network(&id, action, network).attr("container", container)
}

/// Image `id` lost its name `name` (`den rmi`): `untag`, then `delete` if no name is left for it.
pub(crate) fn image_removed(root: &Path, id: &str, name: &str, still_named: bool) {
    let untag = Event::image(id, "untag", name);
    match still_named {
        true => emit(root, untag),
        false => emit_all(root, &[untag, Event::image(id, "delete", name)]),
    }
}

/// `den image load`: one `load` per image, by its first name.
pub(crate) fn loaded(root: &Path, images: &[crate::image::Loaded]) {
    for l in images {
        let name = l.names.first().map_or("", String::as_str);
        emit(root, Event::image(&l.image.id, "load", name));
    }
}

/// The state root of a store under it (`<root>/images`, `<root>/volumes`).
pub(crate) fn root_of(store: &Path) -> &Path {
    store.parent().unwrap_or(store)
}

/// A container's health went from one status to another (docker's `health_status: healthy`).
pub(crate) fn health(root: &Path, id: &str, status: HealthStatus) {
    let status = match status {
        HealthStatus::Starting => "starting",
        s => s.as_str(),
    };
    let action = format!("health_status: {status}");
    emit(
        root,
        match crate::state::Store::new(root).load_id(id) {
            Ok(c) => Event::container(&c, &action),
            // Removed meanwhile: its id is all there is to say it of.
            Err(_) => Event::new(Kind::Container, &action, id),
        },
    );
}

/// An error with its sources, on one line.
fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(c) = src {
        s.push_str(": ");
        s.push_str(&c.to_string());
        src = c.source();
    }
    s
}
