"""Containers that keep running while we measure: started in the engine's netns, stopped for sure."""

import os
import signal
import subprocess
import tempfile
import time

from .engines import Engine
from .ns import netns
from .results import Failed
from .timing import resolve


class Background:
    """A `run` command left running (den has no -d; docker/podman run attached the same way)."""

    def __init__(self, e: Engine, argv: list[str], stdout=subprocess.DEVNULL):
        self.e = e
        self.err = tempfile.TemporaryFile()
        with netns(e.netns):
            self.proc = subprocess.Popen(resolve(argv), env=e.env, stdin=subprocess.DEVNULL,
                                         stdout=stdout, stderr=self.err)

    def exited(self) -> bool:
        return self.proc.poll() is not None

    def stderr(self) -> str:
        self.err.seek(0)
        lines = self.err.read().decode(errors="replace").strip().splitlines()
        return " | ".join(lines[-3:]) or f"exit status {self.proc.returncode}"

    def fail(self, what: str) -> Failed:
        return Failed(f"{what}: {self.stderr()}" if self.exited() else what)

    def reap(self, timeout: float = 30) -> None:
        """Wait for the run command to end (after its container was removed); kill it by pid if it
        will not."""
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.err.close()


def wait_running(e: Engine, name: str, bg: Background | None, timeout: float = 30) -> tuple[int, str]:
    """Poll `inspect NAME` until the container has a pid (and, on a bridge, an address)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        pid, ip = e.pid_and_ip(name)
        if pid > 0 and ip:
            return pid, ip
        if bg is not None and bg.exited():
            raise bg.fail(f"{name} exited before it ran")
        time.sleep(0.02)
    raise Failed(f"{name} not running after {timeout:.0f} s")
