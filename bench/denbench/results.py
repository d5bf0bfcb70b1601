"""One measure's numbers per engine, and the interleaved loop that collects them."""

import dataclasses
from typing import Callable

from .engines import Engine
from .timing import median, p90


@dataclasses.dataclass
class Cell:
    """One engine's result for one measure: samples, or why there are none."""
    samples: list[float] = dataclasses.field(default_factory=list)
    failed: int = 0
    na: str = ""  # non-empty: this engine has no number here, and this says why
    note: str = ""

    @property
    def median(self) -> float | None:
        return median(self.samples) if self.samples else None

    @property
    def p90(self) -> float | None:
        return p90(self.samples) if self.samples else None

    @classmethod
    def from_json(cls, j: dict) -> "Cell":
        return cls(samples=j["samples"], failed=j["failed"], na=j["na"], note=j["note"])

    def to_json(self) -> dict:
        return {"median": self.median, "p90": self.p90, "n": len(self.samples), "failed": self.failed,
                "na": self.na, "note": self.note, "samples": self.samples}


@dataclasses.dataclass
class Measure:
    key: str  # "a", "b", ... as in bench/README.md
    title: str
    unit: str  # "ms", "Gbit/s", "MiB"
    short: str = ""  # the chart's label
    lower_is_better: bool = True
    cells: dict[str, Cell] = dataclasses.field(default_factory=dict)
    detail: str = ""
    series: dict[str, list[float]] = dataclasses.field(default_factory=dict)  # raw, in order

    def cell(self, engine: str) -> Cell:
        return self.cells.setdefault(engine, Cell())

    @classmethod
    def from_json(cls, j: dict) -> "Measure":
        return cls(j["key"], j["title"], j["unit"], short=j.get("short", ""),
                   lower_is_better=j["lower_is_better"], detail=j.get("detail", ""),
                   cells={e: Cell.from_json(c) for e, c in j["cells"].items()},
                   series=j.get("series", {}))

    def to_json(self) -> dict:
        return {"key": self.key, "title": self.title, "short": self.short, "unit": self.unit, "detail": self.detail,
                "lower_is_better": self.lower_is_better,
                "cells": {e: c.to_json() for e, c in self.cells.items()}, "series": self.series}


class Failed(Exception):
    """One run of one engine failed; the message is the engine's own words (its stderr's last lines)."""


def interleave(m: Measure, engines: list[Engine], runs: int, warmup: int,
               one: Callable[[Engine, int], float], scale: float = 1.0) -> None:
    """Run ONE(engine, i) for i in 0..warmup+runs, cycling through ENGINES each round (den, docker,
    podman, runc, den, ...) so that drift on the machine hits every engine alike. A failing warmup
    takes the engine out of this measure (with its error as the reason); later failures are counted."""
    live = []
    for e in engines:
        if not e.ok:
            m.cell(e.name).na = e.reason or "not available"
        else:
            live.append(e)
    for i in range(warmup + runs):
        for e in list(live):
            cell = m.cell(e.name)
            try:
                value = one(e, i)
            except Failed as err:
                if i < warmup or (cell.failed >= 2 and not cell.samples):
                    cell.na = f"failed: {err}"
                    cell.samples.clear()
                    live.remove(e)
                else:
                    cell.failed += 1
                    cell.note = f"last failure: {err}"
                continue
            if i >= warmup:
                cell.samples.append(value * scale)
