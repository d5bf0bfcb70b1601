"""(g) `den topology` with N containers running on one bridge (each with its own -p).

den only: docker and podman have no command that reads the kernel's view of every namespace (the
closest, `docker network inspect`, prints the daemon's records). The N containers are started with
`den run -d`, the command is timed RUNS times (after WARMUP), then the containers are removed.
"""

from .engines import Engine, wait_all
from .results import Failed, Measure
from .timing import run_timed


def _start(e: Engine, n: int) -> list[str]:
    names = []
    for i in range(n):
        name = f"denbench-t{i + 1}"
        argv = [*e.base(), "run", "-d", "--name", name, "-p", f"{30000 + i}:80", e.image,
                "sleep", "100000"]
        r = run_timed(argv, e.env, e.netns)
        if not r.ok:
            raise Failed(f"starting #{i + 1}: {r.stderr}")
        names.append(name)
    return names


def topology(engines: list[Engine], n: int, runs: int, warmup: int) -> Measure:
    m = Measure("g", f"den topology with {n} containers running (text)", "ms",
                short=f"den topology, {n} containers",
                detail=f"wall time of `den topology` with {n} `run -d` containers on den0, each with its own -p")
    den = None
    for e in engines:
        if e.name != "den":
            m.cell(e.name).na = "no command that reads the kernel's view of every namespace"
        elif not e.ok:
            m.cell(e.name).na = e.reason or "not available"
        else:
            den = e
    if den is None:
        return m
    names: list[str] = []
    try:
        names = _start(den, n)
        for i in range(warmup + runs):
            r = run_timed([*den.base(), "topology"], den.env, den.netns)
            if not r.ok:
                m.cell("den").failed += 1
                m.cell("den").note = r.stderr
            elif i >= warmup:
                m.cell("den").samples.append(r.seconds * 1000)
    except Failed as err:
        m.cell("den").na = str(err)
    finally:
        wait_all(den.rm_force_start(names))
    return m
