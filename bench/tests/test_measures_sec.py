"""Unit tests of the (h) row's trace arithmetic: python3 -m unittest discover bench/tests"""

import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from denbench import measures_sec  # noqa: E402
from denbench.results import Failed  # noqa: E402

TRACE = """\
[   1.00ms] # spec built (capabilities, seccomp profile resolved)
[   1.80ms] # cgroup made, limits and device rules written
[   9.00ms] # container exited
[   9.50ms] # cgroup removed; tearing down
""".splitlines()


class CgroupSpans(unittest.TestCase):
    def test_make_and_remove_spans_add_up(self):
        steps = {}
        for line in TRACE:
            m = measures_sec.TRACE.match(line)
            steps.setdefault(m.group(2), float(m.group(1)))
        self.assertAlmostEqual(measures_sec._cgroup_ms(steps), 0.8 + 0.5)

    def test_seccomp_is_the_difference_of_the_spec_and_clone_spans(self):
        a = {"# spec built": 2.0, "# state dir x ready": 3.0, "# cloned container": 4.5}
        b = {"# spec built": 1.5, "# state dir y ready": 2.5, "# cloned container": 3.7}
        self.assertAlmostEqual(measures_sec._seccomp_ms(a, b), 0.5 + (1.5 - 1.2))

    def test_a_missing_step_fails_the_run(self):
        with self.assertRaises(Failed):
            measures_sec._cgroup_ms({"# spec built": 1.0})


if __name__ == "__main__":
    unittest.main()
