//! cgroup v2 device control: the OCI `linux.resources.devices` rules compiled to an eBPF program
//! of type BPF_PROG_TYPE_CGROUP_DEVICE (the form of runc's `devicefilter` and youki's
//! `v2::devices::program`), loaded and attached to the container's cgroup with
//! BPF_F_ALLOW_MULTI, so programs of its ancestors still apply too.
//!
//! The program sees `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`
//! (type in the low 16 bits of `access_type`, the access in the high 16) and returns 1 to allow.
//! Rules are tried from the last to the first and the first that matches decides (so a later rule
//! overrides an earlier one, as the list is applied in order); a rule for all devices with `rwm`
//! sets the default for everything before it; with none the default is deny.
//!
//! Why hand-assembled: the program uses eight opcodes; the crates that encode eBPF are a loader
//! framework (`aya`, with object-file parsing) or a VM (`rbpf`), and libbpf needs a C build.

use std::ffi::CStr;
use std::fs::File;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use nix::errno::Errno;
use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};

use super::CgroupError;
use crate::syscall::bpf::{self, Insn};

const LDX_MEM_W: u8 = 0x61;
const ALU32_AND_K: u8 = 0x54;
const ALU32_RSH_K: u8 = 0x74;
const ALU32_MOV_K: u8 = 0xb4;
const ALU32_MOV_X: u8 = 0xbc;
const JMP32_JNE_K: u8 = 0x56;
const JMP32_JNE_X: u8 = 0x5e;
const EXIT: u8 = 0x95;

const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;
const ACC_ALL: i32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

fn insn(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        regs: (src << 4) | (dst & 0x0f),
        off,
        imm,
    }
}

/// A device rule the program cannot express.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("device rule {rule:?}: {why}")]
pub struct RuleError {
    rule: String,
    why: &'static str,
}

fn access_bits(rule: &LinuxDeviceCgroup) -> Result<i32, RuleError> {
    let Some(access) = rule.access().as_deref().filter(|a| !a.is_empty()) else {
        return Ok(ACC_ALL);
    };
    access.chars().try_fold(0, |bits, c| match c {
        'r' => Ok(bits | ACC_READ),
        'w' => Ok(bits | ACC_WRITE),
        'm' => Ok(bits | ACC_MKNOD),
        _ => Err(RuleError {
            rule: rule.to_string(),
            why: "unknown access (not r, w or m)",
        }),
    })
}

/// The match-and-decide block of one rule: each test jumps past the block when it fails.
fn block(rule: &LinuxDeviceCgroup) -> Result<Vec<Insn>, RuleError> {
    let bad = |why| RuleError {
        rule: rule.to_string(),
        why,
    };
    let mut b = Vec::new();
    match rule.typ() {
        None | Some(LinuxDeviceType::A) => {}
        Some(LinuxDeviceType::B) => b.push(insn(JMP32_JNE_K, 2, 0, 0, DEV_BLOCK)),
        Some(LinuxDeviceType::C | LinuxDeviceType::U) => {
            b.push(insn(JMP32_JNE_K, 2, 0, 0, DEV_CHAR))
        }
        Some(LinuxDeviceType::P) => return Err(bad("a fifo is not a device")),
    }
    let access = access_bits(rule)?;
    if access != ACC_ALL {
        // Every access asked for (R3) must be in the rule's: (R3 & access) == R3.
        b.push(insn(ALU32_MOV_X, 1, 3, 0, 0));
        b.push(insn(ALU32_AND_K, 1, 0, 0, access));
        b.push(insn(JMP32_JNE_X, 1, 3, 0, 0));
    }
    for (reg, number) in [(4, rule.major()), (5, rule.minor())] {
        match number {
            None => {}
            Some(n) if n < 0 => {} // -1: any, as runc reads it
            Some(n) => {
                let n = u32::try_from(n).map_err(|_| bad("device number out of range"))?;
                b.push(insn(JMP32_JNE_K, reg, 0, 0, n as i32));
            }
        }
    }
    b.push(insn(ALU32_MOV_K, 0, 0, 0, i32::from(rule.allow())));
    b.push(insn(EXIT, 0, 0, 0, 0));
    let len = b.len();
    for (i, ins) in b.iter_mut().enumerate() {
        if ins.code == JMP32_JNE_K || ins.code == JMP32_JNE_X {
            ins.off = (len - i - 1) as i16;
        }
    }
    Ok(b)
}

fn matches_everything(rule: &LinuxDeviceCgroup) -> bool {
    matches!(rule.typ(), None | Some(LinuxDeviceType::A))
        && rule.major().is_none_or(|n| n < 0)
        && rule.minor().is_none_or(|n| n < 0)
        && access_bits(rule) == Ok(ACC_ALL)
}

/// The program for `rules`.
pub(crate) fn program(rules: &[LinuxDeviceCgroup]) -> Result<Vec<Insn>, RuleError> {
    let mut p = vec![
        insn(LDX_MEM_W, 2, 1, 0, 0),        // R2 = access_type
        insn(ALU32_AND_K, 2, 0, 0, 0xffff), // R2 = type
        insn(LDX_MEM_W, 3, 1, 0, 0),
        insn(ALU32_RSH_K, 3, 0, 0, 16), // R3 = access
        insn(LDX_MEM_W, 4, 1, 4, 0),    // R4 = major
        insn(LDX_MEM_W, 5, 1, 8, 0),    // R5 = minor
    ];
    let mut default_allow = false;
    for rule in rules.iter().rev() {
        if matches_everything(rule) {
            default_allow = rule.allow();
            break;
        }
        p.extend(block(rule)?);
    }
    p.push(insn(ALU32_MOV_K, 0, 0, 0, i32::from(default_allow)));
    p.push(insn(EXIT, 0, 0, 0, 0));
    Ok(p)
}

const LICENSE: &CStr = c"Apache";

/// A device program attached to a cgroup; [`DeviceProgram::detach`] takes it off again once the
/// cgroup is empty (a cgroup's removal releases its programs too).
#[derive(Debug)]
pub struct DeviceProgram {
    cgroup: OwnedFd,
    prog: OwnedFd,
    dir: PathBuf,
}

fn bpf_error(what: &'static str, dir: &Path) -> impl FnOnce(Errno) -> CgroupError {
    let path = dir.to_path_buf();
    move |e| CgroupError::Io {
        what,
        path,
        source: e.into(),
    }
}

/// Compile `rules`, load the program and attach it to cgroup (v2) dir `dir`.
pub fn attach(dir: &Path, rules: &[LinuxDeviceCgroup]) -> Result<DeviceProgram, CgroupError> {
    let insns = program(rules).map_err(|source| CgroupError::DeviceRule {
        path: dir.to_path_buf(),
        source,
    })?;
    let cgroup: OwnedFd = File::open(dir)
        .map_err(CgroupError::io("opening", dir))?
        .into();
    // Loaded without a log first (a log too small for a good program is ENOSPC); on a
    // refusal, again with one to say why.
    let prog = bpf::load_device_program(&insns, LICENSE, &mut []).map_err(|e| {
        let mut log = vec![0u8; 64 * 1024];
        let _ = bpf::load_device_program(&insns, LICENSE, &mut log);
        let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
        let log = String::from_utf8_lossy(&log[..end]);
        CgroupError::BpfLoad {
            path: dir.to_path_buf(),
            log: log.lines().rev().take(3).collect::<Vec<_>>().join(" / "),
            source: e.into(),
        }
    })?;
    bpf::attach_device_program(cgroup.as_fd(), prog.as_fd())
        .map_err(bpf_error("attaching the device program to", dir))?;
    Ok(DeviceProgram {
        cgroup,
        prog,
        dir: dir.to_path_buf(),
    })
}

/// Whether cgroup (v2) dir `dir` still has a process in it or below (`cgroup.events`). A
/// program is only ever detached from an empty cgroup: never while a process of the container
/// could still open a device (a cgroup that cannot be emptied keeps its program until rmdir).
fn populated(dir: &Path) -> bool {
    super::read(dir, "cgroup.events").is_none_or(|e| !e.lines().any(|l| l == "populated 0"))
}

impl DeviceProgram {
    /// Detach it if the cgroup is empty; otherwise it stays with the cgroup.
    pub fn detach(self) -> Result<(), CgroupError> {
        if populated(&self.dir) {
            return Ok(());
        }
        bpf::detach_device_program(self.cgroup.as_fd(), self.prog.as_fd())
            .map_err(bpf_error("detaching the device program from", &self.dir))
    }
}

/// Detach every device program on cgroup dir `dir` if it is empty (a container whose
/// [`DeviceProgram`] handle was in another process). A dir already gone has none.
pub fn detach_all(dir: &Path) -> Result<(), CgroupError> {
    let cgroup: OwnedFd = match File::open(dir) {
        Ok(f) => f.into(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(CgroupError::io("opening", dir)(e)),
    };
    if populated(dir) {
        return Ok(());
    }
    let ids = bpf::device_program_ids(cgroup.as_fd())
        .map_err(bpf_error("listing the device programs of", dir))?;
    for id in ids {
        let prog = bpf::program_by_id(id).map_err(bpf_error("opening a device program of", dir))?;
        match bpf::detach_device_program(cgroup.as_fd(), prog.as_fd()) {
            Ok(()) | Err(Errno::ENOENT) => {}
            Err(e) => return Err(bpf_error("detaching the device program from", dir)(e)),
        }
    }
    Ok(())
}

#[cfg(test)]
#[path = "devices_tests.rs"]
mod tests;
