"""(h) what den's cgroup, device rules and seccomp filter add to `run --rm --network none IMG true`;
(i) `stats --no-stream` with N containers running.

(h), den only (the peers cannot turn their cgroup off either). Each round runs, interleaved, with
DEN_TRACE=1: A = the default run, B = the same with `--security-opt seccomp=unconfined`, C = the
default with DEN_CGROUP_DEVICES=bpf (on a hybrid machine: the eBPF device program in the unified
hierarchy instead of the v1 devices controller; on a pure v2 machine A already is that). From the
trace (spans, not whole runs: a whole run's wall time is far noisier than what is measured):
seccomp = A − B of [den's start → "spec built"] (the profile resolved) plus A − B of ["state dir
ready" → "cloned"] (the compiled filter read from the cache; installing it in the child is one
syscall); cgroup = A's ["spec built" → "cgroup made"] (dirs, limits, device rules) plus A's
["container exited" → "cgroup removed"]. One sample = seccomp + cgroup of a round; target: a
median of at most 1.5 ms.

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


def _traced(e: Engine, extra: list[str], env: dict[str, str]) -> dict[str, float]:
    """The trace's step times (ms) of `den run --rm --network none EXTRA IMG true`."""
    argv = [*e.base(), "run", "--rm", "--network", "none", *extra, e.image, "true"]
    with netns(e.netns):
        r = subprocess.run(argv, env={**e.env, "DEN_TRACE": "1", **env}, stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, timeout=60)
    if r.returncode != 0:
        raise Failed(" | ".join(r.stderr.strip().splitlines()[-3:]))
    steps: dict[str, float] = {}
    for line in r.stderr.splitlines():
        m = TRACE.match(line)
        if m:
            steps.setdefault(m.group(2), float(m.group(1)))
    return steps


def _at(steps: dict[str, float], prefix: str) -> float:
    v = next((v for k, v in steps.items() if k.startswith(prefix)), None)
    if v is None:
        raise Failed(f"no trace line {prefix!r} (den too old?)")
    return v


def _span(steps: dict[str, float], start: str, end: str) -> float:
    return _at(steps, end) - _at(steps, start)


def _seccomp_ms(a: dict[str, float], b: dict[str, float]) -> float:
    """What the filter adds: run A (default) against run B (seccomp=unconfined)."""
    spec = _at(a, "# spec built") - _at(b, "# spec built")
    clone = _span(a, "# state dir", "# cloned") - _span(b, "# state dir", "# cloned")
    return spec + clone


def _cgroup_ms(steps: dict[str, float]) -> float:
    return (_span(steps, "# spec built", "# cgroup made")
            + _span(steps, "# container exited", "# cgroup removed"))


def _mark(met: bool) -> str:
    return "target met" if met else "**target NOT met**"


def security_cost(engines: list[Engine], runs: int, warmup: int) -> Measure:
    m = Measure("h", "cgroup + device rules + seccomp filter added to run --rm --network none "
                f"(target ≤ {ADDED_TARGET_MS} ms)", "ms", short="cgroup + devices + seccomp cost",
                detail="den only, from DEN_TRACE spans: the seccomp profile and filter (default run − "
                       "seccomp=unconfined run) + the cgroup's creation and removal; see "
                       "bench/denbench/measures_sec.py")
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
            steps_a = _traced(den, [], {})
            steps_b = _traced(den, ["--security-opt", "seccomp=unconfined"], {})
            steps_c = _traced(den, [], {"DEN_CGROUP_DEVICES": "bpf"})
            if i < warmup:
                continue
            seccomp.append(_seccomp_ms(steps_a, steps_b))
            cgroup.append(_cgroup_ms(steps_a))
            bpf.append(_cgroup_ms(steps_c))
            m.cell("den").samples.append(seccomp[-1] + cgroup[-1])
    except Failed as err:
        m.cell("den").na = f"failed: {err}"
        m.cell("den").samples.clear()
        return m
    added = m.cell("den").median
    m.cell("den").note = (f"{_mark(added <= ADDED_TARGET_MS)} ({added:.2f} ms ≤ {ADDED_TARGET_MS} ms?); "
                          f"medians: seccomp {median(seccomp):.2f} ms, cgroup "
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
