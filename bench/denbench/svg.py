"""A hand-written SVG bar chart of the medians: one panel per unit, one group of bars per measure."""

from html import escape

from .engines import ENGINES
from .results import Measure

COLORS = {"den": "#2a9d8f", "docker": "#1d63ed", "podman": "#892ca0", "runc": "#e76f51", "crun": "#e9c46a"}
W, LABEL_W, BAR_AREA, BAR_H, GAP, GROUP_GAP = 960, 360, 470, 13, 2, 14


def _fmt(x: float, unit: str) -> str:
    return f"{x:.2f} {unit}" if unit == "Gbit/s" else (f"{x:.1f} {unit}" if x < 100 else f"{x:.0f} {unit}")


def _engines(m: Measure) -> list[str]:
    """The usual engines, then those only some rows measure (crun in (k)) where this one does."""
    extra = sorted(e for e in m.cells if e not in ENGINES and m.cell(e).median is not None)
    return [*ENGINES, *extra]


def _panel(ms: list[Measure], unit: str, y: int, out: list[str]) -> int:
    better = "lower" if ms[0].lower_is_better else "higher"
    out.append(f'<text x="10" y="{y + 14}" class="h">{escape(unit)} — {better} is better</text>')
    y += 26
    top = max((m.cell(e).median or 0) for m in ms for e in _engines(m)) or 1
    for m in ms:
        engines = _engines(m)
        gh = len(engines) * (BAR_H + GAP)
        out.append(f'<text x="10" y="{y + gh / 2 + 4:.0f}" class="l">({escape(m.key)}) '
                   f'{escape(m.short or m.title[:48])}</text>')
        for k, e in enumerate(engines):
            by = y + k * (BAR_H + GAP)
            v = m.cell(e).median
            if v is None:
                out.append(f'<text x="{LABEL_W + 4}" y="{by + BAR_H - 3}" class="na">{e}: n/a</text>')
                continue
            w = max(1.0, BAR_AREA * v / top)
            out.append(f'<rect x="{LABEL_W}" y="{by}" width="{w:.1f}" height="{BAR_H}" '
                       f'fill="{COLORS.get(e, "#777")}"><title>{e}: {escape(_fmt(v, unit))}</title></rect>')
            out.append(f'<text x="{LABEL_W + w + 4:.1f}" y="{by + BAR_H - 3}" class="v">'
                       f'{e} {escape(_fmt(v, unit))}</text>')
        y += gh + GROUP_GAP
    return y + 6


def _series(m: Measure, y: int, out: list[str]) -> int:
    """Start time of container #i against i, one line per engine (from (dN)'s raw series)."""
    plot_h, x0, pw = 180, LABEL_W, BAR_AREA + 100
    n = max(len(v) for v in m.series.values())
    top = max(max(v) for v in m.series.values()) or 1
    out.append(f'<text x="10" y="{y + 14}" class="h">start time of container #i on one bridge '
               f'(ms, i = 1…{n}, the earlier ones still running)</text>')
    y += 26
    out.append(f'<line x1="{x0}" y1="{y + plot_h}" x2="{x0 + pw}" y2="{y + plot_h}" stroke="#999"/>')
    out.append(f'<line x1="{x0}" y1="{y}" x2="{x0}" y2="{y + plot_h}" stroke="#999"/>')
    out.append(f'<text x="{x0 - 4}" y="{y + 8}" class="v" text-anchor="end">{top:.0f} ms</text>')
    out.append(f'<text x="{x0 - 4}" y="{y + plot_h}" class="v" text-anchor="end">0</text>')
    out.append(f'<text x="{x0 + pw}" y="{y + plot_h + 12}" class="v" text-anchor="end">#{n}</text>')
    for e, ts in m.series.items():
        pts = " ".join(f"{x0 + pw * i / max(1, n - 1):.1f},{y + plot_h - plot_h * t / top:.1f}"
                       for i, t in enumerate(ts))
        out.append(f'<polyline points="{pts}" fill="none" stroke="{COLORS.get(e, "#000")}" '
                   'stroke-width="1.2"/>')
    return y + plot_h + 24


def chart(measures: list[Measure], subtitle: str) -> str:
    panels: dict[str, list[Measure]] = {}
    for m in measures:
        if any(m.cell(e).median is not None for e in ENGINES):
            panels.setdefault(m.unit, []).append(m)
    body: list[str] = []
    y = 46
    for unit, ms in panels.items():
        y = _panel(ms, unit, y, body)
    for m in measures:
        if m.series and any(m.series.values()):
            y = _series(m, y, body)
    shown = [e for e in COLORS if e in ENGINES or any(e in _engines(m) for m in measures)]
    legend = "".join(
        f'<rect x="{LABEL_W + i * 110}" y="{y}" width="12" height="12" fill="{COLORS[e]}"/>'
        f'<text x="{LABEL_W + i * 110 + 16}" y="{y + 11}" class="v">{e}</text>'
        for i, e in enumerate(shown))
    peers = [e for e in shown if e != "den"]
    title = "den vs " + ", ".join(peers[:-1]) + " and " + peers[-1]
    h = y + 30
    return "\n".join([
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{h}" viewBox="0 0 {W} {h}" '
        'font-family="sans-serif">',
        "<style>.t{font-size:17px;font-weight:bold}.s{font-size:11px;fill:#555}"
        ".h{font-size:13px;font-weight:bold}.l{font-size:11px}.v{font-size:10px}"
        ".na{font-size:10px;fill:#999}</style>",
        f'<rect width="{W}" height="{h}" fill="white"/>',
        f'<text x="10" y="22" class="t">{escape(title)} (medians)</text>',
        f'<text x="10" y="38" class="s">{escape(subtitle)}</text>',
        *body, legend, "</svg>", ""])
