"""(k)'s logic that needs no runtime: the crun column and the target mark."""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from denbench import measures_oci, report, svg  # noqa: E402
from denbench.results import Measure  # noqa: E402


class CrunColumn(unittest.TestCase):
    def test_a_row_measuring_crun_adds_its_column_and_ratio(self):
        m = Measure("k2", "OCI run", "ms")
        m.cell("den").samples = [20.0]
        m.cell("runc").samples = [40.0]
        m.cell("crun").samples = [30.0]
        other = Measure("b", "none", "ms")
        other.cell("den").samples = [5.0]
        rows = report.table([m, other], notes := [])
        self.assertTrue(rows[0].endswith("| crun | den vs docker | den vs podman | den vs runc | den vs crun |"))
        self.assertTrue(rows[2].endswith("| 30.0 ms | — | — | **2.0×** | **1.5×** |"), rows[2])
        self.assertIn("n/a", rows[3].split("|")[-6])  # (b) has no crun figure: n/a with a footnote
        self.assertIn("crun: not measured", notes)

    def test_the_chart_draws_crun_bars_only_for_rows_measuring_it(self):
        m = Measure("k1", "OCI create+start+delete", "ms")
        m.cell("den").samples = [16.0]
        m.cell("crun").samples = [33.0]
        other = Measure("b", "none", "ms")
        other.cell("den").samples = [5.0]
        chart = svg.chart([m, other], "sub")
        self.assertIn("<title>crun: 33.0 ms</title>", chart)
        self.assertEqual(chart.count("crun: n/a"), 0, "no crun line for (b)")
        self.assertIn("den vs docker, podman, runc and crun", chart)
        self.assertNotIn("crun", svg.chart([other], "sub"))

    def test_no_crun_row_no_crun_column(self):
        m = Measure("b", "none", "ms")
        m.cell("den").samples = [5.0]
        self.assertNotIn("crun", report.table([m], [])[0])


class Target(unittest.TestCase):
    def test_den_at_least_as_fast_as_crun(self):
        self.assertIn("target met", measures_oci._mark(30.0, 30.0))
        self.assertIn("target NOT met", measures_oci._mark(31.0, 30.0))
        self.assertIn("—", measures_oci._mark(30.0, None))


if __name__ == "__main__":
    unittest.main()
