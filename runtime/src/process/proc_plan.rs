//! The process half of a plan, shared by a new container's PID 1 and a process `den exec` starts
//! in a running one: the ids and capabilities to drop to, no_new_privs, the working directory,
//! the umask, and what to exec — all validated and turned into C strings before the clone.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use nix::sys::stat::Mode;
use oci_spec::runtime::Process;

use super::caps::{bounding_name, CapsPlan, IdsPlan};
use super::sync::{Failure, Step};
use super::ProcessError;
use crate::hostconfig::limits::rlimit;
use crate::seccomp::Bpf;
use crate::spec::DEFAULT_PATH;
use crate::syscall::ExecArgs;

pub struct ProcPlan {
    pub terminal: bool,
    pub cwd: CString,
    pub ids: IdsPlan,
    pub caps: CapsPlan,
    pub no_new_privs: bool,
    pub umask: Mode,
    pub cmd: String,
    pub candidates: Vec<CString>,
    pub exec: ExecArgs,
    /// The compiled seccomp filter (`plan` sets it from `linux.seccomp`).
    pub seccomp: Option<Bpf>,
    /// `setrlimit` calls, before the capabilities are dropped.
    pub rlimits: Vec<(libc::__rlimit_resource_t, libc::rlimit)>,
    /// `/proc/self/fd/N` of the exec fifo's O_PATH fd (OCI `create`): wait there before exec.
    pub exec_gate: Option<CString>,
    /// The first fd closed at exec (3, or above the OCI `--preserve-fds`).
    pub close_from: u32,
}

pub fn c(what: &'static str, s: impl AsRef<[u8]>) -> Result<CString, ProcessError> {
    CString::new(s.as_ref()).map_err(|_| ProcessError::Invalid {
        what,
        value: String::from_utf8_lossy(s.as_ref()).into_owned(),
    })
}

pub fn unsupported(feature: &str) -> ProcessError {
    ProcessError::Unsupported {
        feature: feature.to_owned(),
    }
}

impl ProcPlan {
    pub fn new(process: &Process) -> Result<ProcPlan, ProcessError> {
        refuse_unsupported(process)?;
        let args = process.args().clone().unwrap_or_default();
        let cmd = args.first().cloned().ok_or(ProcessError::MissingField {
            field: "process args",
        })?;
        let cwd = process.cwd();
        if !cwd.is_absolute() {
            return Err(ProcessError::Invalid {
                what: "process cwd",
                value: cwd.display().to_string(),
            });
        }
        let env = process.env().clone().unwrap_or_default();
        let argv = args
            .iter()
            .map(|a| c("argument", a))
            .collect::<Result<Vec<_>, _>>()?;
        let envp = env
            .iter()
            .map(|e| c("environment entry", e))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ProcPlan {
            terminal: process.terminal().unwrap_or(false),
            cwd: c("process cwd", cwd.as_os_str().as_bytes())?,
            ids: IdsPlan::new(process.user()),
            caps: CapsPlan::new(process.capabilities().as_ref())?,
            no_new_privs: process.no_new_privileges().unwrap_or(false),
            umask: Mode::from_bits_truncate(process.user().umask().unwrap_or(0o022)),
            candidates: exec_candidates(&cmd, &env)?,
            cmd,
            exec: ExecArgs::new(argv, envp),
            seccomp: None,
            rlimits: rlimits(process)?,
            exec_gate: None,
            close_from: 3,
        })
    }

    /// The culprit of a failure in one of the process steps; `None` for other steps.
    pub fn culprit(&self, f: &Failure) -> Option<String> {
        match f.step {
            Step::Chdir => Some(self.cwd.to_string_lossy().into_owned()),
            Step::BoundingSet => Some(bounding_name(&self.caps, f.index)),
            Step::Setuid => Some(format!("uid {}", self.ids.uid)),
            Step::Setgid => Some(format!("gid {}", self.ids.gid)),
            Step::Rlimit => self
                .rlimits
                .get(f.index as usize)
                .map(|(r, l)| format!("resource {r} = {}:{}", l.rlim_cur, l.rlim_max)),
            Step::Exec => self
                .candidates
                .get(f.index as usize)
                .map(|p| p.to_string_lossy().into_owned()),
            _ => None,
        }
    }
}

fn rlimits(p: &Process) -> Result<Vec<(libc::__rlimit_resource_t, libc::rlimit)>, ProcessError> {
    p.rlimits()
        .iter()
        .flatten()
        .map(|r| {
            let name = format!("{:?}", r.typ());
            let docker = name
                .strip_prefix("Rlimit")
                .unwrap_or(&name)
                .to_ascii_lowercase();
            let (_, resource) = rlimit(&docker).ok_or(ProcessError::Invalid {
                what: "rlimit",
                value: name,
            })?;
            let limit = libc::rlimit {
                rlim_cur: r.soft(),
                rlim_max: r.hard(),
            };
            Ok((resource, limit))
        })
        .collect()
}

/// Refuse what den cannot honour, rather than run a process weaker than its spec asks.
fn refuse_unsupported(p: &Process) -> Result<(), ProcessError> {
    if p.apparmor_profile().as_ref().is_some_and(|a| !a.is_empty()) {
        return Err(unsupported("an AppArmor profile"));
    }
    if p.selinux_label().as_ref().is_some_and(|l| !l.is_empty()) {
        return Err(unsupported("an SELinux label"));
    }
    Ok(())
}

/// Where `execve` looks for `cmd`, in order: `cmd` itself if it holds a `/`, else each entry of
/// the container's own `PATH` (docker's lookup; not den's PATH).
fn exec_candidates(cmd: &str, env: &[String]) -> Result<Vec<CString>, ProcessError> {
    if cmd.is_empty() {
        return Err(ProcessError::Invalid {
            what: "command",
            value: String::new(),
        });
    }
    if cmd.contains('/') {
        return Ok(vec![c("command", cmd)?]);
    }
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(DEFAULT_PATH);
    path.split(':')
        .map(|dir| {
            let dir = if dir.is_empty() { "." } else { dir };
            c("command", Path::new(dir).join(cmd).as_os_str().as_bytes())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_are_searched_in_the_containers_path() {
        let env = vec!["PATH=/usr/bin::/bin".to_string()];
        let got = exec_candidates("ls", &env).expect("candidates");
        assert_eq!(
            got,
            [
                c"/usr/bin/ls".to_owned(),
                c"./ls".to_owned(),
                c"/bin/ls".to_owned()
            ]
        );
        assert_eq!(
            exec_candidates("./x", &env).expect("x"),
            [c"./x".to_owned()]
        );
        assert_eq!(exec_candidates("ls", &[]).expect("default").len(), 6);
    }
}
