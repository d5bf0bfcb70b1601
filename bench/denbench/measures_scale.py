"""(d) Start time of the Nth container on one bridge, each publishing its own port, all kept running.

docker and podman: `run -d` of `sleep` (it returns once the container has started).
den (no -d): `run` in the background of `sh -c 'echo ready; exec sleep ...'`, timed to the line `ready`.
Containers are started interleaved (den #i, docker #i, podman #i, den #i+1, ...), then all removed.
Then den alone does the same N again with no other engine's containers running, reported as a note
on den's (dN) cell: what the peers' running containers cost den's Nth start.
"""

import os
import select
import subprocess
import time

from .background import Background
from .engines import Engine, wait_all
from .results import Failed, Measure
from .timing import median, run_timed

WINDOW = 5  # the first and the last WINDOW starts are reported as medians


def _den_start(e: Engine, i: int, name: str, port: int, started: list) -> float:
    argv = e.run_argv(["sh", "-c", "echo ready; exec sleep 100000"], "bridge", (f"{port}:80",), name)
    t0 = time.perf_counter()
    bg = Background(e, argv, stdout=subprocess.PIPE)
    started.append(bg)
    fd = bg.proc.stdout.fileno()
    deadline = time.monotonic() + 60
    line = b""
    while not line.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            raise Failed(f"#{i + 1}: no `ready` within 60 s")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 64)
            if not chunk:
                raise bg.fail(f"#{i + 1}: exited before `ready`")
            line += chunk
    t = time.perf_counter() - t0
    bg.proc.stdout.close()  # sleep never writes; keep our fds few
    bg.proc.stdout = None
    return t


def _detached_start(e: Engine, i: int, name: str, port: int) -> float:
    r = run_timed(e.run_argv(["sleep", "100000"], "bridge", (f"{port}:80",), name, detach=True),
                  e.env, e.netns)
    if not r.ok:
        raise Failed(f"#{i + 1}: {r.stderr}")
    return r.seconds


def nth_start(engines: list[Engine], n: int) -> list[Measure]:
    first = Measure("d1", f"start of container #1–#{WINDOW} on one bridge (own -p each)", "ms",
                    short=f"start of #1–#{WINDOW} (own -p each)",
                    detail=f"median of the first {WINDOW} starts")
    last = Measure("dN", f"start of container #{n - WINDOW + 1}–#{n} on that bridge", "ms",
                   short=f"start of #{n - WINDOW + 1}–#{n}, the rest running",
                   detail=f"median of the last {WINDOW} starts, the first {n - WINDOW} still running")
    live = []
    for e in engines:
        if e.name == "runc":
            for m in (first, last):
                m.cell(e.name).na = "no bridge networking: a bare OCI runtime"
        elif not e.ok:
            for m in (first, last):
                m.cell(e.name).na = e.reason or "not available"
        else:
            live.append(e)
    times: dict[str, list[float]] = {e.name: [] for e in live}
    names: dict[str, list[str]] = {e.name: [] for e in live}
    dens: list[Background] = []
    try:
        for i in range(n):
            for e in list(live):
                name, port = f"denbench-n{i + 1}", 20000 + i
                names[e.name].append(name)
                try:
                    if e.name == "den":
                        t = _den_start(e, i, name, port, dens)
                    else:
                        t = _detached_start(e, i, name, port)
                except Failed as err:
                    for m in (first, last):
                        m.cell(e.name).na = f"failed at #{i + 1}: {err}"
                    live.remove(e)
                    continue
                times[e.name].append(t * 1000)
    finally:
        wait_all([p for e in engines if names.get(e.name) for p in e.rm_force_start(names[e.name])])
        for bg in dens:
            bg.reap()
    alone = _den_alone(next((e for e in live if e.name == "den"), None), n)
    for name, ts in times.items():
        if len(ts) == n:
            first.cell(name).samples = ts[:WINDOW]
            last.cell(name).samples = ts[-WINDOW:]
            first.cell(name).note = f"#1 alone: {ts[0]:.1f} ms"
            last.cell(name).note = f"#{n} alone: {ts[-1]:.1f} ms; median of all {n}: {median(ts):.1f} ms"
            last.series[name] = ts
    if alone and len(times.get("den", [])) == n:
        a1, an = median(alone[:WINDOW]), median(alone[-WINDOW:])
        last.cell("den").note += (f"; den by itself (no other engine's containers running): #1–#{WINDOW} {a1:.1f} ms, "
                                  f"#{n - WINDOW + 1}–#{n} {an:.1f} ms ({an / a1:.2f}×)")
    return [first, last]


def _live_netns() -> int | None:
    """Network namespaces the kernel still holds (net_namespace objects in /proc/slabinfo)."""
    try:
        with open("/proc/slabinfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("net_namespace "):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def _settle(limit_s: float = 60.0) -> float:
    """Waits until the kernel has freed the removed containers' namespaces (their count stops
    falling for 2 s; freeing ~1500 runs in a kernel workqueue for a while); returns the wait."""
    t0 = time.monotonic()
    last, steady = _live_netns(), 0
    while last is not None and steady < 2 and time.monotonic() - t0 < limit_s:
        time.sleep(1)
        now = _live_netns()
        steady = steady + 1 if now is not None and now >= last else 0
        last = now
    return time.monotonic() - t0


def _den_alone(e: Engine | None, n: int) -> list[float]:
    """den's N starts again, on their own (the interleaved ones are all removed by now, and the
    kernel has freed their namespaces)."""
    if e is None:
        return []
    _settle()
    ts: list[float] = []
    names: list[str] = []
    dens: list[Background] = []
    try:
        for i in range(n):
            name = f"denbench-a{i + 1}"
            names.append(name)
            ts.append(_den_start(e, i, name, 20000 + i, dens) * 1000)
    except Failed:
        return []
    finally:
        wait_all(e.rm_force_start(names))
        for bg in dens:
            bg.reap()
    return ts
