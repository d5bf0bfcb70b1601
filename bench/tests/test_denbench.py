"""Unit tests of the benchmark's own logic (no engines needed): python3 -m unittest discover bench/tests"""

import os
import sys
import unittest
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from denbench import report, svg, targets  # noqa: E402
from denbench.engines import Engine  # noqa: E402
from denbench.results import Failed, Measure, interleave  # noqa: E402
from denbench.timing import p90, run_timed  # noqa: E402


class FakeEngine(Engine):
    def __init__(self, name, ok=True, reason=""):
        super().__init__({"ok": ok, "reason": reason})
        self.name = name


class Percentiles(unittest.TestCase):
    def test_p90_is_nearest_rank(self):
        self.assertEqual(p90(list(range(1, 11))), 9)
        self.assertEqual(p90(list(range(1, 21))), 18)
        self.assertEqual(p90([5.0]), 5.0)


class Interleave(unittest.TestCase):
    def test_order_is_round_robin_and_warmup_dropped(self):
        order = []
        es = [FakeEngine("den"), FakeEngine("docker")]
        m = Measure("a", "t", "ms")
        interleave(m, es, runs=2, warmup=1, one=lambda e, i: order.append((e.name, i)) or i)
        self.assertEqual(order, [("den", 0), ("docker", 0), ("den", 1), ("docker", 1),
                                 ("den", 2), ("docker", 2)])
        self.assertEqual(m.cell("den").samples, [1, 2])

    def test_failing_warmup_gives_na_with_the_error(self):
        def one(e, i):
            if e.name == "docker":
                raise Failed("daemon said no")
            return 1.0
        m = Measure("a", "t", "ms")
        interleave(m, [FakeEngine("den"), FakeEngine("docker")], 3, 1, one)
        self.assertEqual(m.cell("docker").na, "failed: daemon said no")
        self.assertEqual(m.cell("docker").median, None)
        self.assertEqual(len(m.cell("den").samples), 3)

    def test_later_failures_are_counted_not_hidden(self):
        def one(e, i):
            if i == 2:
                raise Failed("flaky")
            return 2.0
        m = Measure("a", "t", "ms")
        interleave(m, [FakeEngine("den")], 3, 1, one)
        self.assertEqual(m.cell("den").failed, 1)
        self.assertEqual(len(m.cell("den").samples), 2)

    def test_unavailable_engine_keeps_its_reason(self):
        m = Measure("a", "t", "ms")
        interleave(m, [FakeEngine("podman", ok=False, reason="no podman")], 2, 0, lambda e, i: 1.0)
        self.assertEqual(m.cell("podman").na, "no podman")


class Report(unittest.TestCase):
    def measure(self):
        m = Measure("a", "start", "ms", short="start")
        m.cell("den").samples = [10.0, 12.0]
        m.cell("docker").samples = [300.0, 320.0]
        m.cell("podman").na = "podman run failed: boom"
        m.cell("runc").na = "no bridge"
        return m

    def test_ratio_direction(self):
        m = self.measure()
        self.assertEqual(report.ratio(m, "docker"), "**28.2×**")
        self.assertEqual(report.ratio(m, "podman"), "—")
        t = Measure("e1", "iperf", "Gbit/s", lower_is_better=False)
        t.cell("den").samples = [5.0]
        t.cell("docker").samples = [10.0]
        self.assertEqual(report.ratio(t, "docker"), "0.50×")

    def test_table_says_why_not_a_number(self):
        m, n = self.measure(), self.measure()
        n.key = "b"
        notes = []
        rows = report.table([m, n], notes)
        self.assertIn("n/a [1]", rows[2])
        self.assertIn("n/a [1]", rows[3])  # the same reason reuses its footnote
        self.assertEqual(notes, ["podman: podman run failed: boom", "runc: no bridge"])

    def test_svg_is_well_formed(self):
        root = ET.fromstring(svg.chart([self.measure()], "sub & title"))
        self.assertTrue(root.tag.endswith("svg"))


class Targets(unittest.TestCase):
    def measure(self, key, den, docker, podman=None, unit="ms", lower=True):
        m = Measure(key, key, unit, lower_is_better=lower)
        m.cell("den").samples = [den]
        m.cell("docker").samples = [docker]
        if podman is not None:
            m.cell("podman").samples = [podman]
        return m

    def test_each_target_met_or_not_from_the_medians(self):
        ms = [self.measure("a", 19.0, 400.0, 250.0), self.measure("b", 7.0, 300.0),
              self.measure("d1", 20.0, 1.0), self.measure("dN", 23.0, 1.0),
              self.measure("e1", 9.0, 10.0, unit="Gbit/s", lower=False)]
        rows = "\n".join(targets.rows(ms, 500))
        self.assertRegex(rows, r"≤ 20 ms \| 19.0 ms \| \*\*met\*\*")
        self.assertRegex(rows, r"than docker \| 21.05× \| \*\*met\*\*")
        self.assertRegex(rows, r"than podman \| 13.16× \| \*\*not met\*\*")
        self.assertRegex(rows, r"≤ 6 ms \| 7.0 ms \| \*\*not met\*\*")
        self.assertRegex(rows, r"1.15× at N=500 \| \*\*met\*\*")
        self.assertRegex(rows, r"\(e1\) iperf3 at least docker's \| 0.90× \| \*\*not met\*\*")

    def test_a_quick_run_does_not_claim_the_n500_target(self):
        ms = [self.measure("d1", 20.0, 1.0), self.measure("dN", 21.0, 1.0)]
        row = targets.rows(ms, 50)[-1]
        self.assertIn("N=50 (the target is at N=500: not shown)", row)
        self.assertTrue(row.endswith("| — |"), row)
        self.assertEqual(targets.rows([], 500), [])


class Timing(unittest.TestCase):
    def test_failure_keeps_stderr(self):
        r = run_timed(["sh", "-c", "echo boom >&2; exit 3"], dict(os.environ))
        self.assertEqual((r.status, r.stderr), (3, "boom"))
        self.assertGreater(r.seconds, 0)


if __name__ == "__main__":
    unittest.main()
