//! The OCI `linux.seccomp` section to a BPF program, with libseccomp, before the clone (the child
//! then makes one seccomp(2) call on the bytes; libseccomp itself allocates, which the child must
//! not). Rules as runc adds them: names libseccomp does not know on this arch are skipped;
//! several conditions on one argument become one rule per condition.

use std::io::{Read, Seek, SeekFrom};

use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use nix::sys::memfd::{memfd_create, MFdFlags};
use oci_spec::runtime::{Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator};

use super::SeccompError;

/// A compiled filter: `struct sock_filter` entries, 8 bytes each.
#[derive(Debug, Clone)]
pub struct Bpf(pub Vec<u8>);

fn err(op: &'static str) -> impl FnOnce(libseccomp::error::SeccompError) -> SeccompError {
    move |source| SeccompError::Compile { op, source }
}

/// runc's default errno for an ERRNO action without one.
const EPERM: u32 = libc::EPERM as u32;

fn action(a: LinuxSeccompAction, errno: Option<u32>) -> ScmpAction {
    let errno = errno.unwrap_or(EPERM);
    match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            ScmpAction::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
        LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
        LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno as i32),
        LinuxSeccompAction::ScmpActNotify => ScmpAction::Notify,
        LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno as u16),
        LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
        LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
    }
}

fn arch(a: Arch) -> Option<ScmpArch> {
    Some(match a {
        Arch::ScmpArchX86 => ScmpArch::X86,
        Arch::ScmpArchX86_64 => ScmpArch::X8664,
        Arch::ScmpArchX32 => ScmpArch::X32,
        Arch::ScmpArchArm => ScmpArch::Arm,
        Arch::ScmpArchAarch64 => ScmpArch::Aarch64,
        Arch::ScmpArchPpc64le => ScmpArch::Ppc64Le,
        Arch::ScmpArchS390x => ScmpArch::S390X,
        Arch::ScmpArchRiscv64 => ScmpArch::Riscv64,
        _ => return None,
    })
}

fn compare(index: usize, op: LinuxSeccompOperator, value: u64, two: Option<u64>) -> ScmpArgCompare {
    let op_ = match op {
        LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
        LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
        LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
        LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
        LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
        LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
        // OCI: value is the mask, valueTwo the value to compare with.
        LinuxSeccompOperator::ScmpCmpMaskedEq => ScmpCompareOp::MaskedEqual(value),
    };
    let datum = match op {
        LinuxSeccompOperator::ScmpCmpMaskedEq => two.unwrap_or(0),
        _ => value,
    };
    ScmpArgCompare::new(index as u32, op_, datum)
}

pub fn compile(s: &LinuxSeccomp) -> Result<Bpf, SeccompError> {
    let default = action(s.default_action(), s.default_errno_ret());
    let mut ctx = ScmpFilterContext::new(default).map_err(err("creating the filter"))?;
    // Like runc: no_new_privs is den's to set (or not), not libseccomp's.
    ctx.set_ctl_nnp(false)
        .map_err(err("clearing the nnp attribute"))?;
    for a in s.architectures().iter().flatten().filter_map(|a| arch(*a)) {
        if !ctx.is_arch_present(a).map_err(err("listing arches"))? {
            ctx.add_arch(a).map_err(err("adding an arch"))?;
        }
    }
    for rule in s.syscalls().iter().flatten() {
        let act = action(rule.action(), rule.errno_ret());
        if act == default {
            continue;
        }
        let args = rule.args().clone().unwrap_or_default();
        let cmps: Vec<ScmpArgCompare> = args
            .iter()
            .map(|a| compare(a.index(), a.op(), a.value(), a.value_two()))
            .collect();
        let mut indexes: Vec<usize> = args.iter().map(|a| a.index()).collect();
        indexes.sort_unstable();
        indexes.dedup();
        let distinct = indexes.len() == args.len();
        for name in rule.names() {
            let Ok(sc) = ScmpSyscall::from_name(name) else {
                continue;
            };
            if cmps.is_empty() {
                ctx.add_rule(act, sc).map_err(err("adding a rule"))?;
            } else if distinct {
                ctx.add_rule_conditional(act, sc, &cmps)
                    .map_err(err("adding a conditional rule"))?;
            } else {
                for c in &cmps {
                    ctx.add_rule_conditional(act, sc, std::slice::from_ref(c))
                        .map_err(err("adding a conditional rule"))?;
                }
            }
        }
    }
    let fd = memfd_create(c"den-seccomp", MFdFlags::MFD_CLOEXEC).map_err(SeccompError::Export)?;
    let mut file = std::fs::File::from(fd);
    ctx.export_bpf(&file).map_err(err("exporting the filter"))?;
    let mut bytes = Vec::new();
    file.seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes))
        .map_err(|e| {
            SeccompError::Export(nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(0)))
        })?;
    Ok(Bpf(bytes))
}
