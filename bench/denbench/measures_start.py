"""Start-up measures: (a) bridge + published port, (b) no network, (f) peak RSS of the run process."""

from .engines import Engine
from .results import Failed, Measure, interleave
from .timing import run_rss, run_timed

NO_BRIDGE = "no bridge networking: a bare OCI runtime"


def _timed(e: Engine, argv: list[str]) -> float:
    r = run_timed(argv, e.env, e.netns)
    if not r.ok:
        raise Failed(r.stderr)
    return r.seconds


def start_bridge(engines: list[Engine], runs: int, warmup: int) -> Measure:
    m = Measure("a", "run --rm --network bridge -p 8080:80 IMG true", "ms",
                short="run --rm, bridge + -p, true",
                detail="wall time of the whole `run` command: create, network, start, exit, remove")
    peers = [e for e in engines if e.name != "runc"]
    interleave(m, peers, runs, warmup,
               lambda e, i: _timed(e, e.run_argv(["true"], "bridge", ("8080:80",))), scale=1000)
    m.cell("runc").na = NO_BRIDGE
    return m


def start_none(engines: list[Engine], runs: int, warmup: int) -> Measure:
    m = Measure("b", "run --rm --network none IMG true (runc: `runc run` of a bundle)", "ms",
                short="run --rm, --network none, true",
                detail="wall time of the whole `run` command; runc gets a new netns with only lo")
    interleave(m, engines, runs, warmup,
               lambda e, i: _timed(e, e.run_argv(["true"], "none")), scale=1000)
    return m


def peak_rss(engines: list[Engine], runs: int) -> Measure:
    m = Measure("f", "peak RSS of the `run` process (bridge -p; runc: none)", "MiB",
                short="peak RSS of the run process",
                detail="GNU time's max RSS of the command and the children it waited for; docker's and "
                       "podman's work happens mostly in dockerd/containerd/shim and conmon, not counted")

    def one(e: Engine, i: int) -> float:
        if e.name == "runc":
            argv = e.run_argv(["true"], "none")
        else:
            argv = e.run_argv(["true"], "bridge", ("8080:80",))
        r, kib = run_rss(argv, e.env, e.netns)
        if not r.ok:
            raise Failed(r.stderr)
        return kib / 1024

    interleave(m, engines, runs, 0, one)
    for name in ("docker", "podman"):
        if m.cell(name).samples:
            m.cell(name).note = "client process only"
    return m
