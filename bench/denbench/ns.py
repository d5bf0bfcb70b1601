"""Switching this process's network namespace (setns), so children spawn inside a sandbox netns.

Python 3.11 has no os.setns, so this calls libc's through ctypes. The benchmark is single-threaded:
setns on the main thread moves the whole process, and every child spawned afterwards inherits it.
"""

import contextlib
import ctypes
import os

CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class NetnsError(OSError):
    """setns into a network namespace failed (the path names the culprit)."""


def setns_path(path: str) -> None:
    """Move this process into the network namespace at PATH (/run/netns/X or /proc/PID/ns/net)."""
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        if _libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise NetnsError(err, f"setns into {path}: {os.strerror(err)}")
    finally:
        os.close(fd)


_ORIGINAL = "/proc/self/ns/net"
_home_fd = os.open(_ORIGINAL, os.O_RDONLY | os.O_CLOEXEC)


@contextlib.contextmanager
def netns(path: str | None):
    """Run the body inside the network namespace at PATH (None: stay where we are), then come back."""
    if path is None:
        yield
        return
    setns_path(path)
    try:
        yield
    finally:
        if _libc.setns(_home_fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            # Not recoverable: everything after would run in the wrong namespace.
            raise NetnsError(err, f"setns back to the starting netns: {os.strerror(err)}")
