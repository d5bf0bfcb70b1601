//! The parent <-> child protocol over a SOCK_SEQPACKET socketpair.
//!
//! Fixed-size messages (no allocation: the child sends them between clone and exec):
//!
//! ```text
//! child                         parent
//!   non-dumpable
//!   (a new user namespace:)   <-------   Mapped   (uid_map, gid_map written)
//!   setresgid/setresuid 0
//!   join namespaces, move into its cgroup
//!   Ready            ------->   spawn() returns Paused
//!   mounts, /dev, pivot_root    (den attaches the network meanwhile; not with a gate)
//!   wait             <-------   Go            (start())
//!   sysctls, masked paths, ids, caps, exec
//!   (the close-on-exec end closes: EOF)  ->   start() returns Running
//!
//! OCI `create` (a [`Gate`](super::Gate)): after Go the child may stop once more, and waits at
//! its exec gate instead of exec'ing:
//!   mounts made, before pivot_root
//!   Mounted          ------->   createContainer hooks in its mount namespace
//!   wait             <-------   Go
//!   pivot_root, ids, caps; opens the exec fifo
//!   Created          ------->   set_up() returns Gated; `start` writes the fifo later
//!   or Failed{step, errno, index} ------->    start() returns the typed error
//! ```
//!
//! Each side checks the message against its phase and rejects anything else.

use std::fmt;
use std::os::fd::{AsRawFd, BorrowedFd};

use nix::errno::Errno;
use nix::sys::socket::{recv, send, MsgFlags};

/// The child's setup steps, in order; a failure names the step.
#[repr(u8)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    NotDumpable = 1,
    JoinNamespace,
    JoinCgroup,
    Stdio,
    Terminal,
    MakePrivate,
    MountRootfs,
    OpenRootfs,
    Mount,
    Device,
    DevSymlink,
    Console,
    Workdir,
    PivotRoot,
    MaskPath,
    ReadonlyPath,
    ReadonlyRoot,
    Hostname,
    BoundingSet,
    KeepCaps,
    Setgroups,
    Setgid,
    Setuid,
    Capabilities,
    NoNewPrivs,
    Seccomp,
    Sysctl,
    Rlimit,
    Chdir,
    Signals,
    CloseFds,
    Exec,
    Protocol,
    ExecGate,
    UserNamespace,
    Loopback,
}

const STEPS: [Step; 36] = [
    Step::NotDumpable,
    Step::JoinNamespace,
    Step::JoinCgroup,
    Step::Stdio,
    Step::Terminal,
    Step::MakePrivate,
    Step::MountRootfs,
    Step::OpenRootfs,
    Step::Mount,
    Step::Device,
    Step::DevSymlink,
    Step::Console,
    Step::Workdir,
    Step::PivotRoot,
    Step::MaskPath,
    Step::ReadonlyPath,
    Step::ReadonlyRoot,
    Step::Hostname,
    Step::BoundingSet,
    Step::KeepCaps,
    Step::Setgroups,
    Step::Setgid,
    Step::Setuid,
    Step::Capabilities,
    Step::NoNewPrivs,
    Step::Seccomp,
    Step::Sysctl,
    Step::Rlimit,
    Step::Chdir,
    Step::Signals,
    Step::CloseFds,
    Step::Exec,
    Step::Protocol,
    Step::ExecGate,
    Step::UserNamespace,
    Step::Loopback,
];

impl Step {
    fn from_u8(v: u8) -> Option<Step> {
        STEPS.iter().copied().find(|s| *s as u8 == v)
    }

    pub fn name(self) -> &'static str {
        match self {
            Step::NotDumpable => "make the process non-dumpable",
            Step::JoinNamespace => "join namespace",
            Step::JoinCgroup => "move into its cgroup",
            Step::Stdio => "set up stdio",
            Step::Terminal => "set up terminal",
            Step::MakePrivate => "make mounts private",
            Step::MountRootfs => "mount rootfs",
            Step::OpenRootfs => "open rootfs",
            Step::Mount => "mount",
            Step::Device => "create device",
            Step::DevSymlink => "create /dev symlink",
            Step::Console => "mount console",
            Step::Workdir => "create working directory",
            Step::PivotRoot => "pivot_root",
            Step::MaskPath => "mask path",
            Step::ReadonlyPath => "make path read-only",
            Step::ReadonlyRoot => "make rootfs read-only",
            Step::Hostname => "set hostname",
            Step::BoundingSet => "drop bounding capabilities",
            Step::KeepCaps => "keep capabilities",
            Step::Setgroups => "setgroups",
            Step::Setgid => "setgid",
            Step::Setuid => "setuid",
            Step::Capabilities => "set capabilities",
            Step::NoNewPrivs => "set no_new_privs",
            Step::Seccomp => "install the seccomp filter",
            Step::Sysctl => "set sysctl",
            Step::Rlimit => "set rlimit",
            Step::Chdir => "chdir",
            Step::Signals => "reset signals",
            Step::CloseFds => "close inherited fds",
            Step::Exec => "exec",
            Step::Protocol => "sync protocol",
            Step::ExecGate => "wait at the exec fifo",
            Step::UserNamespace => "become root of its user namespace",
            Step::Loopback => "bring up the loopback interface",
        }
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What failed in the child: the step, the errno, and an index into the plan's list for that
/// step (which mount, which device, ...) so the parent can name the culprit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failure {
    pub step: Step,
    pub errno: Errno,
    pub index: u32,
}

impl Failure {
    pub fn new(step: Step, errno: Errno) -> Failure {
        Failure {
            step,
            errno,
            index: 0,
        }
    }
    pub fn at(step: Step, index: usize, errno: Errno) -> Failure {
        Failure {
            step,
            errno,
            index: index as u32,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    /// child -> parent: namespaces joined, waiting for Go.
    Ready,
    /// parent -> child: set up and exec.
    Go,
    /// child -> parent: a step failed; the child exits.
    Failed(Failure),
    /// child -> parent (with a gate): mounts made, pivot_root next; waiting for Go.
    Mounted,
    /// child -> parent (with a gate): set up, waiting at the exec fifo.
    Created,
    /// parent -> child (a new user namespace): its uid and gid maps are written.
    Mapped,
}

const LEN: usize = 12;

impl Msg {
    fn encode(&self) -> [u8; LEN] {
        let mut b = [0u8; LEN];
        match self {
            Msg::Ready => b[0] = 1,
            Msg::Go => b[0] = 2,
            Msg::Mounted => b[0] = 4,
            Msg::Created => b[0] = 5,
            Msg::Mapped => b[0] = 6,
            Msg::Failed(f) => {
                b[0] = 3;
                b[1] = f.step as u8;
                b[4..8].copy_from_slice(&(f.errno as i32).to_le_bytes());
                b[8..12].copy_from_slice(&f.index.to_le_bytes());
            }
        }
        b
    }

    fn decode(b: &[u8]) -> Option<Msg> {
        if b.len() != LEN {
            return None;
        }
        match b[0] {
            1 => Some(Msg::Ready),
            2 => Some(Msg::Go),
            4 => Some(Msg::Mounted),
            5 => Some(Msg::Created),
            6 => Some(Msg::Mapped),
            3 => {
                let step = Step::from_u8(b[1])?;
                let errno = i32::from_le_bytes([b[4], b[5], b[6], b[7]]);
                let index = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
                Some(Msg::Failed(Failure {
                    step,
                    errno: Errno::from_raw(errno),
                    index,
                }))
            }
            _ => None,
        }
    }
}

/// What `receive` saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Received {
    Msg(Msg),
    /// The peer's end closed: for the parent after Go, the exec succeeded.
    Eof,
    /// A message of the wrong size or an unknown tag.
    Garbled,
}

/// Send one message (MSG_NOSIGNAL: a vanished peer is an error, not a SIGPIPE).
pub fn send_msg(sock: BorrowedFd<'_>, msg: &Msg) -> Result<(), Errno> {
    let buf = msg.encode();
    loop {
        match send(sock.as_raw_fd(), &buf, MsgFlags::MSG_NOSIGNAL) {
            Ok(_) => return Ok(()),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
}

/// Receive one message, blocking.
pub fn receive(sock: BorrowedFd<'_>) -> Result<Received, Errno> {
    // One byte more than a message, so an oversized datagram shows as garbled (MSG_TRUNC).
    let mut buf = [0u8; LEN + 1];
    loop {
        match recv(sock.as_raw_fd(), &mut buf, MsgFlags::MSG_TRUNC) {
            Ok(0) => return Ok(Received::Eof),
            Ok(n) if n > LEN => return Ok(Received::Garbled),
            Ok(n) => return Ok(Msg::decode(&buf[..n]).map_or(Received::Garbled, Received::Msg)),
            // The peer closed with something of ours unread (a child that failed before it read
            // Go). The kernel says so once, ahead of what the peer sent before it closed: read on.
            Err(Errno::EINTR | Errno::ECONNRESET) => continue,
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    use std::os::fd::{AsFd, AsRawFd};

    fn pair() -> (std::os::fd::OwnedFd, std::os::fd::OwnedFd) {
        socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .expect("socketpair")
    }

    #[test]
    fn messages_round_trip_and_eof_is_seen() {
        let (a, b) = pair();
        let failed = Msg::Failed(Failure::at(Step::Mount, 3, Errno::ENOENT));
        for m in [
            Msg::Ready,
            Msg::Go,
            Msg::Mounted,
            Msg::Created,
            Msg::Mapped,
            failed,
        ] {
            send_msg(a.as_fd(), &m).expect("send");
            assert_eq!(receive(b.as_fd()).expect("recv"), Received::Msg(m));
        }
        drop(a);
        assert_eq!(receive(b.as_fd()).expect("recv"), Received::Eof);
    }

    #[test]
    fn what_a_peer_sent_before_closing_with_ours_unread_is_still_received() {
        let (a, b) = pair();
        let failed = Msg::Failed(Failure::at(Step::Mount, 0, Errno::ENOENT));
        send_msg(b.as_fd(), &failed).expect("send");
        send_msg(a.as_fd(), &Msg::Go).expect("send");
        drop(b); // with Go unread: a's next recv would say ECONNRESET
        assert_eq!(receive(a.as_fd()).expect("recv"), Received::Msg(failed));
        assert_eq!(receive(a.as_fd()).expect("recv"), Received::Eof);
    }

    #[test]
    fn garbage_is_rejected() {
        let (a, b) = pair();
        for junk in [
            &[9u8; LEN][..],
            &[1u8; 3][..],
            &[3u8, 200, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0][..],
        ] {
            send(a.as_raw_fd(), junk, MsgFlags::empty()).expect("send");
            assert_eq!(receive(b.as_fd()).expect("recv"), Received::Garbled);
        }
        send(a.as_raw_fd(), &[1u8; 40], MsgFlags::empty()).expect("send");
        assert_eq!(receive(b.as_fd()).expect("recv"), Received::Garbled);
    }
}
