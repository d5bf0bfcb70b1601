"""The speed targets den has set itself, each marked met or not met from the measures of this run."""

from .results import Measure


def _median(by_key: dict[str, Measure], key: str, engine: str) -> float | None:
    m = by_key.get(key)
    return m.cell(engine).median if m else None


def _mark(ok: bool | None) -> str:
    return "—" if ok is None else ("**met**" if ok else "**not met**")


def _ms(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1f} ms"


def _times(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}×"


def rows(measures: list[Measure], n: int) -> list[str]:
    """Markdown lines: one row per target (what it asks, this run's figure, met / not met / — when a row
    was not measured). N is the (d) measure's container count (the target names N=500)."""
    by_key = {m.key: m for m in measures}
    out = []

    def row(target: str, figure: str, ok: bool | None) -> None:
        out.append(f"| {target} | {figure} | {_mark(ok)} |")

    def ratio(num: float | None, den: float | None) -> float | None:
        return num / den if num and den else None

    a = _median(by_key, "a", "den")
    if "a" in by_key:
        row("(a) bridged `run --rm -p` median ≤ 20 ms", _ms(a), None if a is None else a <= 20)
        for peer in ("docker", "podman"):
            r = ratio(_median(by_key, "a", peer), a)
            row(f"(a) ≥ 15× faster than {peer}", _times(r), None if r is None else r >= 15)
    b = _median(by_key, "b", "den")
    if "b" in by_key:
        row("(b) `run --rm --network none` median ≤ 6 ms", _ms(b), None if b is None else b <= 6)
    if "d1" in by_key and "dN" in by_key:
        r = ratio(_median(by_key, "dN", "den"), _median(by_key, "d1", "den"))
        said = f"{_times(r)} at N={n}" + ("" if n >= 500 else " (the target is at N=500: not shown)")
        row("(dN) ÷ (d1): the 500th start within 1.2× of the 1st", said,
            None if r is None or n < 500 else r <= 1.2)
    for key in ("e1", "e2", "e3"):
        if key in by_key:
            r = ratio(_median(by_key, key, "den"), _median(by_key, key, "docker"))
            row(f"({key}) iperf3 at least docker's", _times(r), None if r is None else r >= 1.0)
    if not out:
        return []
    return ["| target | this run | |", "|---|---|---|", *out]
