"""(h) what den's cgroup, device rules and seccomp filter add to `run --rm --network none IMG true`;
(i) `stats --no-stream` with N containers running.

(h), den only (the peers cannot turn their cgroup off either). Each round runs, interleaved, with
DEN_TRACE=1: A = the default run, B = the same with `--security-opt seccomp=unconfined`, C = the
default with DEN_CGROUP_DEVICES=bpf (on a hybrid machine: the eBPF device program in the unified
hierarchy instead of the v1 devices controller; on a pure v2 machine A already is that). One
sample = (wall A - wall B) [the seccomp filter: profile, cache read, install] + A's trace span from
"spec built" to "cgroup made" [the cgroup dirs, limits, device rules] + A's span from "container
exited" to "cgroup removed" [its removal]. Target: at most 1.5 ms (the median).

(i) den, docker and podman: N `run -d --network none IMG sleep` containers, then
`stats --no-stream` of all of them timed RUNS times, interleaved. Target for den: under 100 ms.
"""

import re
import subprocess
import time

from .engines import Engine, wait_all
from .ns import netns
from .results import Failed, Measure
from .timing import median

ADDED_TARGET_MS = 1.5
STATS_TARGET_MS = 100.0
TRACE = re.compile(r"^\[\s*([\d.]+)ms\] (.*)$")


def _traced(e: Engine, extra: list[str], env: dict[str, str]) -> tuple[float, dict[str, float]]:
    """Wall seconds of `den run --rm --network none EXTRA IMG true` and its trace's step times (ms)."""
    argv = [*e.base(), "run", "--rm", "--network", "none", *extra, e.image, "true"]
    with netns(e.netns):
        t0 = time.perf_counter()
        r = subprocess.run(argv, env={**e.env, "DEN_TRACE": "1", **env}, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
        t = time.perf_counter() - t0
    if r.returncode != 0:
        raise Failed(" | ".join(r.stderr.strip().splitlines()[-3:]))
    steps: dict[str, float] = {}
    for line in r.stderr.splitlines():
        m = TRACE.match(line)
        if m:
            steps.setdefault(m.group(2), float(m.group(1)))
    return t, steps


def _span(steps: dict[str, float], start: str, end: str) -> float:
    a = next((v for k, v in steps.items() if k.startswith(start)), None)
    b = next((v for k, v in steps.items() if k.startswith(end)), None)
    if a is None or b is None:
        raise Failed(f"no trace lines {start!r} .. {end!r} (den too old?)")
    return b - a


def _cgroup_ms(steps: dict[str, float]) -> float:
    return (_span(steps, "# spec built", "# cgroup made")
            + _span(steps, "# container exited", "# cgroup removed"))


def _mark(met: bool) -> str:
    return "target met" if met else "**target NOT met**"


def security_cost(engines: list[Engine], runs: int, warmup: int) -> Measure:
    m = Measure("h", "cgroup + device rules + seccomp filter added to run --rm --network none "
                f"(target ≤ {ADDED_TARGET_MS} ms)", "ms", short="cgroup + devices + seccomp cost",
                detail="den only: (wall of the default run − wall with seccomp=unconfined) + the trace's "
                       "cgroup creation and removal spans; see bench/denbench/measures_sec.py")
    den = next((e for e in engines if e.name == "den"), None)
    for e in engines:
        if e is not den:
            m.cell(e.name).na = "den only: the peers have no run without a cgroup to compare with"
    if den is None or not den.ok:
        if den is not None:
            m.cell("den").na = den.reason or "not available"
        return m
    seccomp, cgroup, bpf = [], [], []
    try:
        for i in range(warmup + runs):
            wall_a, steps_a = _traced(den, [], {})
            wall_b, _ = _traced(den, ["--security-opt", "seccomp=unconfined"], {})
            _, steps_c = _traced(den, [], {"DEN_CGROUP_DEVICES": "bpf"})
            if i < warmup:
                continue
            seccomp.append((wall_a - wall_b) * 1000)
            cgroup.append(_cgroup_ms(steps_a))
            bpf.append(_cgroup_ms(steps_c))
            m.cell("den").samples.append(seccomp[-1] + cgroup[-1])
    except Failed as err:
        m.cell("den").na = f"failed: {err}"
        m.cell("den").samples.clear()
        return m
    added = m.cell("den").median
    m.cell("den").note = (f"{_mark(added <= ADDED_TARGET_MS)} ({added:.2f} ms ≤ {ADDED_TARGET_MS} ms?); "
                          f"medians: seccomp {median(seccomp):.2f} ms (wall difference, noisy), cgroup "
                          f"make+remove {median(cgroup):.2f} ms, the same with the eBPF device program "
                          f"{median(bpf):.2f} ms")
    return m


def _start_all(e: Engine, n: int) -> list[str]:
    names = []
    for i in range(n):
        name = f"denbench-s{i + 1}"
        if e.name == "den":
            argv = [*e.base(), "run", "-d", "--name", name, "--network", "none", e.image, "sleep", "100000"]
        else:
            argv = e.run_argv(["sleep", "100000"], "none", (), name, detach=True)
        names.append(name)
        r = e.execute(argv, timeout=60)
        if r.returncode != 0:
            raise Failed(f"starting #{i + 1}: {r.stderr.strip()[-200:]}")
    return names


def stats(engines: list[Engine], n: int, runs: int, warmup: int) -> Measure:
    m = Measure("i", f"stats --no-stream with {n} containers running (den target < {STATS_TARGET_MS:.0f} ms)",
                "ms", short=f"stats --no-stream, {n} containers",
                detail=f"wall time of `stats --no-stream` with {n} `run -d --network none` containers; den "
                       "samples twice 50 ms apart, docker and podman wait for their 1 s sample")
    live: list[Engine] = []
    names: dict[str, list[str]] = {}
    try:
        for e in engines:
            if e.name == "runc":
                m.cell(e.name).na = "no stats command: a bare OCI runtime"
                continue
            if not e.ok:
                m.cell(e.name).na = e.reason or "not available"
                continue
            try:
                names[e.name] = []
                names[e.name] = _start_all(e, n)
                live.append(e)
            except Failed as err:
                m.cell(e.name).na = str(err)
        for i in range(warmup + runs):
            for e in live:
                t0 = time.perf_counter()
                r = e.call(["stats", "--no-stream", *names[e.name]], timeout=120)
                t = (time.perf_counter() - t0) * 1000
                if r.returncode != 0:
                    m.cell(e.name).failed += 1
                    m.cell(e.name).note = r.stderr.strip()[-200:]
                elif i >= warmup:
                    m.cell(e.name).samples.append(t)
    finally:
        wait_all([p for e in engines if names.get(e.name) for p in e.rm_force_start(names[e.name])])
    den = m.cell("den")
    if den.median is not None and not den.failed:
        den.note = f"{_mark(den.median < STATS_TARGET_MS)} ({den.median:.1f} ms < {STATS_TARGET_MS:.0f} ms?)"
    return m
