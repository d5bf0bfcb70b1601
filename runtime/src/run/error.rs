//! Everything `den run`, `den run -d` and `den start` can fail with.

use std::io;
use std::path::PathBuf;

pub use den_netcfg::one_line;
use den_netcfg::{AttachError, DetachError};
use nix::errno::Errno;

use super::netjoin::JoinError;
use crate::envflags::FlagError;
use crate::hosts::HostsError;
use crate::image::ImageError;
use crate::process::ProcessError;
use crate::spec::SpecError;
use crate::state::StateError;
use crate::volume::VolumeError;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Flag(#[from] FlagError),
    #[error(transparent)]
    NetFlag(#[from] super::netflags::NetFlagError),
    #[error("container ID file found, make sure the other container isn't running or delete {}", .0.display())]
    CidFileExists(PathBuf),
    #[error(transparent)]
    Life(#[from] super::lifeflags::LifeFlagError),
    #[error(transparent)]
    Stop(#[from] crate::lifecycle::LifecycleError),
    #[error(transparent)]
    Init(#[from] super::init::InitError),
    #[error("--ip needs a bridge network, not --network {0}")]
    IpWithoutBridge(String),
    #[error("no command specified: image {0} has no Cmd or Entrypoint")]
    NoCommand(String),
    #[error("-d cannot be combined with -{0}: a detached container has no stdin or terminal for den attach to take")]
    DetachedTerminal(char),
    #[error("--sig-proxy=false cannot be combined with -i: den has no daemon to keep the container's stdin for a client that detaches")]
    SigProxyInteractive,
    #[error("conflicting options: -a and -d")]
    AttachDetached,
    #[error("container {0} is already running")]
    AlreadyRunning(String),
    #[error("container {0} ended without its supervisor cleaning up: run den gc first")]
    NotCleanedUp(String),
    #[error("container {name} has an unknown network mode {mode:?}")]
    UnknownNetwork { name: String, mode: String },
    #[error(transparent)]
    Image(#[from] ImageError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error(transparent)]
    Network(#[from] AttachError),
    #[error(transparent)]
    Teardown(#[from] DetachError),
    #[error(transparent)]
    Join(#[from] JoinError),
    #[error(transparent)]
    Hosts(#[from] HostsError),
    #[error(transparent)]
    Volume(#[from] VolumeError),
    #[error(transparent)]
    Lab(#[from] Box<den_netcfg::lab::LabError>),
    #[error(transparent)]
    HostConfig(#[from] crate::hostconfig::HostConfigError),
    #[error(transparent)]
    Cgroup(#[from] crate::cgroups::CgroupError),
    #[error("cannot fork the supervisor of container {id}")]
    Fork {
        id: String,
        #[source]
        source: Errno,
    },
    #[error("den has more than one thread and cannot fork the supervisor of container {id}")]
    Threaded { id: String },
    #[error("cannot create the report pipe of container {id}'s supervisor")]
    ReportPipe {
        id: String,
        #[source]
        source: Errno,
    },
    #[error("reading the report of container {id}'s supervisor")]
    ReadReport {
        id: String,
        #[source]
        source: io::Error,
    },
    /// The supervisor failed; its error crossed a pipe as its one-line text and exit status (the
    /// typed error lives in the other process).
    #[error("{message}")]
    Supervisor { message: String, status: i32 },
    #[error(
        "the supervisor of container {id} ended without reporting its exit: see its supervisor.log"
    )]
    ExitLost { id: String },
    #[error("the supervisor of container {id} ended before reporting whether it started")]
    SupervisorLost { id: String },
    #[error("{what} {path}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

impl RunError {
    /// Did the start fail on something another container holds (a name, a host port, an address)?
    /// Such a holder may be a container a killed den left behind, which `gc` can free.
    pub fn is_conflict(&self) -> bool {
        match self {
            RunError::State(StateError::NameInUse(_)) => true,
            RunError::Network(e) => e.is_conflict(),
            _ => false,
        }
    }

    /// docker's convention: 125 when den itself failed, 126/127 when the command could not be run.
    pub fn exit_status(&self) -> i32 {
        match self {
            RunError::Process(e) => e.exit_status(),
            RunError::Supervisor { status, .. } => *status,
            _ => 125,
        }
    }

    pub(crate) fn io(what: &'static str, path: PathBuf) -> impl FnOnce(io::Error) -> RunError {
        move |source| RunError::Io { what, path, source }
    }
}
