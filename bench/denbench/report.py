"""The results as a markdown table (measure | den | docker | podman | runc | den vs each)."""

import os
import platform
import time

from . import targets
from .engines import ENGINES
from .results import Measure

PEERS = ("docker", "podman", "runc")


def machine() -> dict:
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
        with open("/proc/meminfo", encoding="utf-8") as f:
            mem_kib = int(f.readline().split()[1])
    except (OSError, ValueError, IndexError):
        mem_kib = 0
    return {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "nproc": os.cpu_count(),
            "kernel": platform.release(), "cpu": cpu, "mem_gib": round(mem_kib / 1024 / 1024, 1),
            "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg())}


def _fmt(x: float, unit: str) -> str:
    if unit == "ms":
        return f"{x:.1f} ms" if x < 100 else f"{x:.0f} ms"
    if unit == "Gbit/s":
        return f"{x:.2f} Gbit/s"
    return f"{x:.1f} {unit}"


def ratio(m: Measure, peer: str) -> str:
    den, other = m.cell("den").median, m.cell(peer).median
    if den is None or other is None or den <= 0 or other <= 0:
        return "—"
    r = other / den if m.lower_is_better else den / other
    return f"**{r:.1f}×**" if r >= 1 else f"{r:.2f}×"


def _note(notes: list[str], text: str) -> int:
    """The footnote number for TEXT, reusing an identical one."""
    if text not in notes:
        notes.append(text)
    return notes.index(text) + 1


def table(measures: list[Measure], notes: list[str]) -> list[str]:
    # Engines only some rows measure (crun in (k)) get a column when such a row is in this run.
    extra = sorted({e for m in measures for e in m.cells} - set(ENGINES))
    engines, peers = [*ENGINES, *extra], [*PEERS, *extra]
    head = "| measure | " + " | ".join(engines) + " | " + " | ".join(f"den vs {p}" for p in peers) + " |"
    rows = [head, "|" + "---|" * (1 + len(engines) + len(peers))]
    for m in measures:
        cells = []
        for e in engines:
            c = m.cell(e)
            if c.median is None:
                cells.append(f"n/a [{_note(notes, f'{e}: ' + (c.na or 'not measured'))}]")
                continue
            s = _fmt(c.median, m.unit)
            if len(c.samples) > 2:
                s += f" (p90 {_fmt(c.p90, m.unit)})"
            if c.failed:
                s += f" [{_note(notes, f'{e}, ({m.key}): {c.failed} run(s) failed; {c.note}')}]"
            cells.append(s)
        rows.append(f"| ({m.key}) {m.title} | " + " | ".join(cells) + " | "
                    + " | ".join(ratio(m, p) for p in peers) + " |")
    return rows


def markdown(measures: list[Measure], info: dict, mode: str, counts: str) -> str:
    mi = info["machine"]
    notes: list[str] = []
    out = [
        "# den vs docker, podman and runc",
        "",
        f"- run: {mi['date']}, `bench/run.sh{' --quick' if mode == 'quick' else ''}` ({mode}); {counts}",
        f"- machine: {mi['nproc']} CPUs ({mi['cpu']}), {mi['mem_gib']} GiB, kernel {mi['kernel']}, "
        f"load average at start {mi['loadavg']}",
        "- versions: " + "; ".join(f"{k} {v}" for k, v in info.get("versions", {}).items()),
        "- each engine runs in its own sandbox network namespace with an `outside` netns behind a veth; "
        "runs are interleaved (den, docker, podman, runc, den, ...); times are wall clock of one "
        "process per run (no shell in the span); cells show the median (and p90)",
        "- den vs X: how many times better den is (time and RSS: X ÷ den; throughput: den ÷ X); "
        "below 1 means X is better",
    ]
    load = float(mi["loadavg"].split()[0])
    if mi["nproc"] and load > mi["nproc"]:
        out.append(f"- **the machine was busy** (load {load:.1f} on {mi['nproc']} CPUs at the start): "
                   "absolute times are inflated; the interleaving spreads the load over all engines alike, "
                   "so compare the ratios")
    out += [""]
    out += table(measures, notes)
    goals = targets.rows(measures, int(info.get("counts", {}).get("n", 0)))
    if goals:
        out += ["", "den's speed targets, from this run's medians:", "", *goals]
    out += ["", "What each measure is (see bench/README.md):", ""]
    out += [f"- ({m.key}) {m.detail}" for m in measures if m.detail]
    extra = [f"- ({m.key}) {e}: {m.cell(e).note}" for m in measures for e in m.cells
             if m.cell(e).note and m.cell(e).median is not None and not m.cell(e).failed]
    if extra:
        out += ["", "Notes:", "", *extra]
    if notes:
        out += ["", "Footnotes:", ""] + [f"{i}. {n}" for i, n in enumerate(notes, 1)]
    return "\n".join(out) + "\n"
