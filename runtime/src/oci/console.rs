//! The console socket protocol (runc's): connect to the engine's unix socket and send the pty
//! master as one SCM_RIGHTS message.

use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::errno::Errno;
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

use super::OciError;

/// Send `master`, first sized as `process.consoleSize` says (when it says).
pub fn send_master(
    socket: &Path,
    master: OwnedFd,
    size: Option<oci_spec::runtime::Box>,
) -> Result<(), OciError> {
    let err = |source| OciError::Console {
        path: socket.to_path_buf(),
        source,
    };
    if let Some(b) = size {
        let clamp = |v: u64| u16::try_from(v).unwrap_or(u16::MAX);
        let ws = libc::winsize {
            ws_row: clamp(b.height()),
            ws_col: clamp(b.width()),
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        crate::syscall::set_window_size(master.as_fd(), &ws).map_err(err)?;
    }
    let stream = UnixStream::connect(socket)
        .map_err(|e| err(Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))))?;
    let fds = [master.as_raw_fd()];
    // runc sends the pty's name as the payload; conmon and the shim only read the fd.
    let name = b"/dev/ptmx";
    sendmsg::<()>(
        stream.as_raw_fd(),
        &[IoSlice::new(name)],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(err)?;
    Ok(())
}
