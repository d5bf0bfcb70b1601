//! bpf(2) for cgroup device programs: load one, attach it to a cgroup, and find and detach the
//! ones attached to a cgroup. The `bpf_attr` layouts are the kernel's (uapi `linux/bpf.h`), cut
//! after the last field used: the kernel takes a shorter attr as zero-filled.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_PROG_ATTACH: libc::c_long = 8;
const BPF_PROG_DETACH: libc::c_long = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_long = 13;
const BPF_PROG_QUERY: libc::c_long = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
/// Several programs on one cgroup, each of which must allow (and those of its ancestors).
const BPF_F_ALLOW_MULTI: u32 = 2;

/// `struct bpf_insn`: opcode, dst (low nibble) and src (high nibble) registers, offset, immediate.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Insn {
    pub code: u8,
    pub regs: u8,
    pub off: i16,
    pub imm: i32,
}

#[repr(C, align(8))]
struct ProgLoad {
    prog_type: u32,
    insn_cnt: u32,
    insns: u64,
    license: u64,
    log_level: u32,
    log_size: u32,
    log_buf: u64,
    kern_version: u32,
    prog_flags: u32,
}

#[repr(C, align(8))]
struct ProgAttach {
    target_fd: u32,
    attach_bpf_fd: u32,
    attach_type: u32,
    attach_flags: u32,
}

#[repr(C, align(8))]
struct ProgQuery {
    target_fd: u32,
    attach_type: u32,
    query_flags: u32,
    attach_flags: u32,
    prog_ids: u64,
    prog_cnt: u32,
    _pad: u32,
}

#[repr(C, align(8))]
struct GetFdById {
    prog_id: u32,
    next_id: u32,
    open_flags: u32,
    /// Explicit: the kernel refuses an attr with non-zero bytes past the command's last field.
    _pad: u32,
}

/// bpf(cmd, attr, sizeof attr).
///
/// SAFETY (for callers): `attr` must be one of the attr structs above, filled in for `cmd`, with
/// any pointer in it valid for the call.
unsafe fn bpf<T>(cmd: libc::c_long, attr: &mut T) -> Result<libc::c_long, Errno> {
    // SAFETY: the caller's contract above; the kernel reads (and for queries writes) `attr` and
    // the memory it points at only during the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut T,
            std::mem::size_of::<T>() as libc::c_uint,
        )
    };
    Errno::result(r)
}

/// Load `insns` as a BPF_PROG_TYPE_CGROUP_DEVICE program. On a verifier error, its log is in
/// `log` (cut at the buffer's end).
pub(crate) fn load_device_program(
    insns: &[Insn],
    license: &CStr,
    log: &mut [u8],
) -> Result<OwnedFd, Errno> {
    let mut attr = ProgLoad {
        prog_type: BPF_PROG_TYPE_CGROUP_DEVICE,
        insn_cnt: u32::try_from(insns.len()).map_err(|_| Errno::E2BIG)?,
        insns: insns.as_ptr() as u64,
        license: license.as_ptr() as u64,
        log_level: u32::from(!log.is_empty()),
        log_size: log.len() as u32,
        log_buf: if log.is_empty() {
            0
        } else {
            log.as_mut_ptr() as u64
        },
        kern_version: 0,
        prog_flags: 0,
    };
    // SAFETY: a BPF_PROG_LOAD attr whose insns, license and log_buf point at live buffers of the
    // stated lengths (the license NUL-terminated); the kernel copies the program in.
    let fd = unsafe { bpf(BPF_PROG_LOAD, &mut attr)? };
    // SAFETY: on success BPF_PROG_LOAD returns a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}

fn attach_attr(cgroup: BorrowedFd<'_>, prog: BorrowedFd<'_>, flags: u32) -> ProgAttach {
    ProgAttach {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_bpf_fd: prog.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        attach_flags: flags,
    }
}

/// Attach device program `prog` to the cgroup dir open at `cgroup` (BPF_F_ALLOW_MULTI).
pub(crate) fn attach_device_program(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
) -> Result<(), Errno> {
    let mut attr = attach_attr(cgroup, prog, BPF_F_ALLOW_MULTI);
    // SAFETY: a BPF_PROG_ATTACH attr holding two fds that are open for the call.
    unsafe { bpf(BPF_PROG_ATTACH, &mut attr) }.map(drop)
}

/// Detach device program `prog` from the cgroup dir open at `cgroup`.
pub(crate) fn detach_device_program(
    cgroup: BorrowedFd<'_>,
    prog: BorrowedFd<'_>,
) -> Result<(), Errno> {
    let mut attr = attach_attr(cgroup, prog, 0);
    // SAFETY: a BPF_PROG_DETACH attr holding two fds that are open for the call.
    unsafe { bpf(BPF_PROG_DETACH, &mut attr) }.map(drop)
}

/// The ids of the device programs attached to the cgroup dir open at `cgroup` (up to 64).
pub(crate) fn device_program_ids(cgroup: BorrowedFd<'_>) -> Result<Vec<u32>, Errno> {
    let mut ids = [0u32; 64];
    let mut attr = ProgQuery {
        target_fd: cgroup.as_raw_fd() as u32,
        attach_type: BPF_CGROUP_DEVICE,
        query_flags: 0,
        attach_flags: 0,
        prog_ids: ids.as_mut_ptr() as u64,
        prog_cnt: ids.len() as u32,
        _pad: 0,
    };
    // SAFETY: a BPF_PROG_QUERY attr whose prog_ids points at `prog_cnt` writable u32s; the
    // kernel writes at most that many and sets prog_cnt to the number attached.
    unsafe { bpf(BPF_PROG_QUERY, &mut attr)? };
    let n = (attr.prog_cnt as usize).min(ids.len());
    Ok(ids[..n].to_vec())
}

/// An fd of the loaded program with id `id`.
pub(crate) fn program_by_id(id: u32) -> Result<OwnedFd, Errno> {
    let mut attr = GetFdById {
        prog_id: id,
        next_id: 0,
        open_flags: 0,
        _pad: 0,
    };
    // SAFETY: a BPF_PROG_GET_FD_BY_ID attr with no pointers.
    let fd = unsafe { bpf(BPF_PROG_GET_FD_BY_ID, &mut attr)? };
    // SAFETY: on success the call returns a new fd that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as libc::c_int) })
}
