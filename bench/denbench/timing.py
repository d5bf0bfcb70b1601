"""Wall-clock timing of one command per run: posix_spawn + wait4, no shell in the measured span.

Peak RSS is NOT taken from this wait4: glibc's posix_spawn runs the child on the parent's memory until
exec, and the kernel folds that (Python's ~15 MiB) into the child's ru_maxrss. run_rss measures it
under GNU time instead, whose own footprint is under 1 MiB.
"""

import dataclasses
import os
import shutil
import statistics
import tempfile
import time

from .ns import netns


@dataclasses.dataclass
class Run:
    seconds: float
    status: int  # exit code, or 128+signal
    stderr: str  # last lines, only kept when the run failed

    @property
    def ok(self) -> bool:
        return self.status == 0


class SpawnError(OSError):
    """The command could not be started at all (the argv names the culprit)."""


def resolve(argv: list[str]) -> list[str]:
    """argv with its program resolved to an absolute path once, so no PATH search is timed."""
    prog = argv[0] if "/" in argv[0] else shutil.which(argv[0])
    if prog is None:
        raise SpawnError(2, f"{argv[0]}: not found in PATH")
    return [prog, *argv[1:]]


def run_timed(argv: list[str], env: dict[str, str], ns_path: str | None = None) -> Run:
    """Spawn ARGV (stdout to /dev/null, stderr captured) inside NS_PATH and wait for it."""
    argv = resolve(argv)
    with tempfile.TemporaryFile() as err:
        actions = [
            (os.POSIX_SPAWN_OPEN, 0, "/dev/null", os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, "/dev/null", os.O_WRONLY, 0),
            (os.POSIX_SPAWN_DUP2, err.fileno(), 2),
        ]
        with netns(ns_path):
            t0 = time.perf_counter()
            try:
                pid = os.posix_spawn(argv[0], argv, env, file_actions=actions)
            except OSError as e:
                raise SpawnError(e.errno, f"{argv[0]}: {e.strerror}") from e
            _, wstatus, _ = os.wait4(pid, 0)
            t1 = time.perf_counter()
        status = os.waitstatus_to_exitcode(wstatus)
        status = status if status >= 0 else 128 - status
        tail = ""
        if status != 0:
            err.seek(0)
            lines = err.read().decode(errors="replace").strip().splitlines()
            tail = " | ".join(lines[-3:]) or f"exit status {status}"
        return Run(t1 - t0, status, tail)


def run_rss(argv: list[str], env: dict[str, str], ns_path: str | None = None) -> tuple[Run, int]:
    """Run ARGV under GNU time; returns the run and its peak RSS in KiB (max over the process and the
    children it waited for)."""
    with tempfile.NamedTemporaryFile(prefix="denbench-rss-") as out:
        run = run_timed(["/usr/bin/time", "-f", "%M", "-o", out.name, *resolve(argv)], env, ns_path)
        text = open(out.name, encoding="ascii", errors="replace").read().split()
    kib = int(text[-1]) if text and text[-1].isdigit() else 0
    return run, kib


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def p90(xs: list[float]) -> float:
    """Nearest-rank 90th percentile."""
    s = sorted(xs)
    k = max(0, min(len(s) - 1, -(-9 * len(s) // 10) - 1))
    return s[k]
