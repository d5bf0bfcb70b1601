#!/usr/bin/env python3
"""Measure den against docker, podman and runc. Run by bench/run.sh, which sets up the sandboxes and the
engines and hands over a config file:   python3 bench/bench.py CONFIG.json
Re-draw the table and chart of a finished run from its JSON:   python3 bench/bench.py --render RESULTS.json"""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from denbench import engines as engines_mod  # noqa: E402
from denbench import measures_net, measures_oci, measures_pull, measures_scale, measures_sec, measures_see, measures_start, report, svg  # noqa: E402
from denbench.results import Measure  # noqa: E402

QUICK = {"runs": 8, "warmup": 1, "http_runs": 3, "n": 50, "iperf_reps": 1, "iperf_secs": 1, "rss": 2, "topo_n": 50, "pull_runs": 3}
FULL = {"runs": 20, "warmup": 2, "http_runs": 10, "n": 500, "iperf_reps": 3, "iperf_secs": 5, "rss": 5, "topo_n": 50, "pull_runs": 5}
ORDER = ["a", "b", "c", "d1", "dN", "e1", "e2", "e3", "f", "g", "h", "i", "j1", "j2", "k1", "k2"]


def log(msg: str) -> None:
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def write(out: str, measures: list[Measure], info: dict) -> str:
    """RESULTS[-quick].md, results[-quick].svg and .json in OUT; returns the markdown."""
    mode, k = info["mode"], info["counts"]
    counts = (f"{k['runs']} runs per start measure (+{k['warmup']} warmup), {k['http_runs']} for (c), "
              f"N={k['n']} for (d), iperf3 {k['iperf_reps']}×{k['iperf_secs']} s, {k['rss']} for (f)")
    md = report.markdown(measures, info, mode, counts)
    suffix = "-quick" if mode == "quick" else ""
    with open(os.path.join(out, f"RESULTS{suffix}.md"), "w", encoding="utf-8") as f:
        f.write(md)
    with open(os.path.join(out, f"results{suffix}.svg"), "w", encoding="utf-8") as f:
        mi = info["machine"]
        f.write(svg.chart(measures, f"{mi['date']} · {mode} · {mi['nproc']} CPUs {mi['cpu']} · "
                                    f"kernel {mi['kernel']} · load at start {mi['loadavg']}"))
    with open(os.path.join(out, f"results{suffix}.json"), "w", encoding="utf-8") as f:
        json.dump({**info, "measures": [m.to_json() for m in measures]}, f, indent=1)
    return md


def render(path: str) -> int:
    data = json.load(open(path, encoding="utf-8"))
    measures = [Measure.from_json(m) for m in data.pop("measures")]
    print(write(os.path.dirname(os.path.abspath(path)), measures, data))
    return 0


def measure(cfg: dict) -> int:
    mode = "quick" if cfg.get("quick") else "full"
    k = QUICK if mode == "quick" else FULL
    k = {**k, **{key: int(v) for key, v in cfg.get("counts", {}).items()}}
    engines = list(engines_mod.load(cfg).values())
    for e in engines:
        log(f"{e.name}: {'ready' if e.ok else 'NOT available: ' + e.reason}")
    info = {"machine": report.machine(), "versions": cfg.get("versions", {}), "mode": mode, "counts": k}
    steps = [
        ("(b) --network none", lambda: [measures_start.start_none(engines, k["runs"], k["warmup"])]),
        ("(a) bridge -p", lambda: [measures_start.start_bridge(engines, k["runs"], k["warmup"])]),
        ("(f) peak RSS", lambda: [measures_start.peak_rss(engines, k["rss"])]),
        ("(c) first HTTP answer", lambda: [measures_net.first_http(engines, k["http_runs"], 1)]),
        ("(e) iperf3", lambda: measures_net.throughput(engines, k["iperf_reps"], k["iperf_secs"])),
        ("(d) Nth container", lambda: measures_scale.nth_start(engines, k["n"])),
        ("(g) den topology", lambda: [measures_see.topology(engines, k["topo_n"], k["runs"], k["warmup"])]),
        ("(h) cgroup + devices + seccomp", lambda: [measures_sec.security_cost(engines, k["runs"], k["warmup"])]),
        ("(i) stats --no-stream", lambda: [measures_sec.stats(engines, k["topo_n"], k["runs"], k["warmup"])]),
        ("(j) pull from a local registry", lambda: measures_pull.pull(engines, k["pull_runs"], 1)),
        ("(k) OCI runtime", lambda: measures_oci.oci_runtime(cfg["oci"], k["runs"], k["warmup"])),
    ]
    only = set(filter(None, os.environ.get("BENCH_ONLY", "").split(",")))
    measures: list[Measure] = []
    for title, step in steps:
        if only and title[1] not in only:
            continue
        t0 = time.monotonic()
        log(f"{title} ...")
        measures += step()
        log(f"{title} done in {time.monotonic() - t0:.0f} s")
    measures.sort(key=lambda m: ORDER.index(m.key) if m.key in ORDER else len(ORDER))
    print(write(cfg["out_dir"], measures, info))
    return 0


def interrupted(signum, frame):
    """SIGTERM/SIGINT: unwind, so every measure's `finally` removes the containers it started."""
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> int:
    # Installed explicitly: run.sh starts us in the background, where SIGINT would be ignored.
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGINT, interrupted)
    if len(sys.argv) == 3 and sys.argv[1] == "--render":
        return render(sys.argv[2])
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    try:
        return measure(json.load(open(sys.argv[1], encoding="utf-8")))
    except KeyboardInterrupt as e:
        log(f"interrupted ({e}); the containers started so far were removed")
        return 130


if __name__ == "__main__":
    sys.exit(main())
