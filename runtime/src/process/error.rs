//! Errors of the container process: validating the spec, launching, and waiting.

use std::path::PathBuf;

use nix::errno::Errno;

use super::sync::Step;
use super::Exit;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    /// docker: `exec: "foo": executable file not found in $PATH` (exit status 127).
    #[error("exec: \"{cmd}\": {}", if cmd.contains('/') { "no such file or directory" } else { "executable file not found in $PATH" })]
    ExecNotFound { cmd: String },
    /// The command exists but cannot be executed (exit status 126).
    #[error("exec: \"{cmd}\": permission denied")]
    PermissionDenied { cmd: String },
    /// A step of the container's setup failed in the child.
    #[error("container setup failed: {step} {culprit}")]
    Setup {
        step: Step,
        culprit: String,
        #[source]
        source: Errno,
    },
    #[error(transparent)]
    Seccomp(#[from] crate::seccomp::SeccompError),
    #[error("the spec has no {field}")]
    MissingField { field: &'static str },
    #[error("the spec asks for {feature}, which den does not support")]
    Unsupported { feature: String },
    #[error("invalid {what} in the spec: {value:?}")]
    Invalid { what: &'static str, value: String },
    #[error("mount source {source_path} for {destination} is not usable")]
    MountSource {
        destination: PathBuf,
        source_path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("overlay lowerdir list is {len} bytes, over the kernel's 4095-byte mount data limit")]
    OverlayTooLong { len: usize },
    #[error("cannot {op} {culprit}")]
    Prepare {
        op: &'static str,
        culprit: String,
        #[source]
        source: Errno,
    },
    #[error(
        "the container process is not waiting at its exec fifo {fifo} (exited, or started already)"
    )]
    NotWaiting { fifo: String },
    #[error("cannot write the user namespace's {path}")]
    IdMap {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot clone the container process")]
    Clone {
        #[source]
        source: Errno,
    },
    #[error("sync with the container process (pid {pid}) failed: {op}")]
    Sync {
        pid: i32,
        op: &'static str,
        #[source]
        source: Errno,
    },
    #[error("protocol violation by the container process (pid {pid}): {got} while {phase}")]
    Protocol {
        pid: i32,
        phase: &'static str,
        got: String,
    },
    #[error("the container process (pid {pid}) ended during setup ({})",
        exit.map_or_else(|| "status unknown".to_owned(), |e| e.to_string()))]
    DiedDuringSetup { pid: i32, exit: Option<Exit> },
    #[error("interrupted by signal {signal} before the container started")]
    Interrupted { signal: i32 },
    #[error("cannot wait for the container process (pid {pid})")]
    Wait {
        pid: i32,
        #[source]
        source: Errno,
    },
    #[error("terminal relay failed: {op}")]
    Relay {
        op: &'static str,
        #[source]
        source: Errno,
    },
}

impl ProcessError {
    /// The exit status docker gives this error: 127 command not found, 126 not executable,
    /// 128+N when interrupted by signal N, 125 for everything else.
    pub fn exit_status(&self) -> i32 {
        match self {
            ProcessError::ExecNotFound { .. } => 127,
            ProcessError::PermissionDenied { .. } => 126,
            ProcessError::Interrupted { signal } => 128 + signal,
            _ => 125,
        }
    }

    /// The errno behind this error, where there is one.
    pub fn errno(&self) -> Option<Errno> {
        match self {
            ProcessError::Setup { source, .. }
            | ProcessError::Prepare { source, .. }
            | ProcessError::Clone { source }
            | ProcessError::Sync { source, .. }
            | ProcessError::Wait { source, .. }
            | ProcessError::Relay { source, .. } => Some(*source),
            ProcessError::ExecNotFound { .. } => Some(Errno::ENOENT),
            ProcessError::PermissionDenied { .. } => Some(Errno::EACCES),
            _ => None,
        }
    }
}
