"""(k) den-runtime as an OCI runtime against runc and crun, one bundle for all three.

(k1) `create --pid-file F` + `start` + (the container's `true` has exited: reaped by this process, a
child subreaper for the row) + `delete`, timed as one span; (k2) `RUNTIME run` of the same bundle.

All three run inside one private mount namespace that this process enters for the row (unshare, `/`
made private, and on a hybrid cgroup machine `/sys/fs/cgroup/unified` unmounted: crun refuses hybrid
cgroups otherwise), each with its own `--root` below the bench's temp dir. The bundle: `den-runtime
spec`, args `true`, no terminal, the busybox rootfs read-only, a new (empty) network namespace as in the
default spec, and a relative cgroupsPath `BENCH_NS-oci/NAME` (below the cgroup the bench runs in).
Everything made here — containers left by a failed round, the runtimes' roots, bundles, the cgroup
parent in every hierarchy — is removed in `finally`, and the mount namespace is left before returning.
"""

import contextlib
import ctypes
import json
import os
import select
import shutil
import subprocess
import time

from .results import Failed, Measure, interleave
from .timing import Run, SpawnError, run_timed

CLONE_NEWNS = 0x00020000
MS_REC, MS_PRIVATE = 0x4000, 0x40000
MNT_DETACH = 2
PR_SET_CHILD_SUBREAPER = 36
UNIFIED = "/sys/fs/cgroup/unified"
_libc = ctypes.CDLL(None, use_errno=True)


class OciError(OSError):
    """Entering or leaving the row's private mount namespace failed (the step names the culprit)."""


def _check(rc: int, what: str) -> None:
    if rc != 0:
        err = ctypes.get_errno()
        raise OciError(err, f"{what}: {os.strerror(err)}")


@contextlib.contextmanager
def private_mounts():
    """Run the body in a new private mount namespace without the hybrid layout's unified hierarchy;
    come back to the original one (and working directory) afterwards."""
    home = os.open("/proc/self/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
    cwd = os.getcwd()
    try:
        _check(_libc.unshare(CLONE_NEWNS), "unshare(CLONE_NEWNS)")
        try:
            _check(_libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "mount --make-rprivate /")
            if os.path.ismount(UNIFIED):
                _check(_libc.umount2(UNIFIED.encode(), MNT_DETACH), f"umount {UNIFIED}")
            yield
        finally:
            # Not recoverable: everything after would run in the wrong mount namespace.
            _check(_libc.setns(home, CLONE_NEWNS), "setns back to the starting mount namespace")
            os.chdir(cwd)
    finally:
        os.close(home)


@contextlib.contextmanager
def subreaper():
    """Orphans (the containers `create` leaves behind) become this process's children meanwhile."""
    _check(_libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0), "prctl(PR_SET_CHILD_SUBREAPER)")
    try:
        yield
    finally:
        _libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)


def _ok(run: Run) -> None:
    if not run.ok:
        raise Failed(run.stderr)


def _reap(pid: int, timeout: float = 30) -> None:
    """Wait until PID (our child through the subreaper) has exited, and reap it."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        raise Failed(f"container PID {pid} gone before it was reaped (not our child?)") from None
    try:
        if not select.select([fd], [], [], timeout)[0]:
            raise Failed(f"container PID {pid} still running after {timeout:.0f} s")
        os.waitpid(pid, 0)
    except ChildProcessError:
        raise Failed(f"container PID {pid} is not this process's child (subreaper?)") from None
    finally:
        os.close(fd)


class Runtime:
    """One OCI runtime's binary, state root and bundle; what it created and has not deleted yet."""

    def __init__(self, name: str, binary: str | None, work: str):
        self.name, self.bin = name, binary
        self.dir = os.path.join(work, name)
        self.root, self.bundle = os.path.join(self.dir, "root"), os.path.join(self.dir, "bundle")
        self.ok, self.reason, self.version = bool(binary), "" if binary else "not installed", ""
        self.live: set[str] = set()  # container IDs not deleted yet
        self.pids: set[int] = set()  # containers not reaped yet
        self.env = dict(os.environ)

    def base(self) -> list[str]:
        return [self.bin, "--root", self.root]

    def prepare(self, config: dict) -> None:
        os.makedirs(self.root)
        os.makedirs(self.bundle)
        with open(os.path.join(self.bundle, "config.json"), "w", encoding="utf-8") as f:
            json.dump(config, f, indent=1)
        r = subprocess.run([self.bin, "--version"], capture_output=True, text=True, timeout=30)
        self.version = (r.stdout.splitlines() or ["?"])[0]

    def lifecycle(self, i: int) -> float:
        return self._cleaned_on_failure(self._lifecycle, i)

    def run(self, i: int) -> float:
        return self._cleaned_on_failure(self._run, i)

    def _cleaned_on_failure(self, one, i: int) -> float:
        """A failed round's container goes at once (the next round reuses its cgroup)."""
        try:
            return one(i)
        except Failed:
            self.clean()
            raise

    def _lifecycle(self, i: int) -> float:
        cid = f"k1-{self.name}-{i}"
        pid_file = os.path.join(self.dir, f"{cid}.pid")
        self.live.add(cid)
        t0 = time.perf_counter()
        _ok(run_timed([*self.base(), "create", "--bundle", self.bundle, "--pid-file", pid_file, cid], self.env))
        try:
            pid = int(open(pid_file, encoding="ascii").read().strip())
        except (OSError, ValueError) as e:
            raise Failed(f"no PID in --pid-file after create: {e}") from None
        self.pids.add(pid)
        _ok(run_timed([*self.base(), "start", cid], self.env))
        _reap(pid)
        self.pids.discard(pid)
        _ok(run_timed([*self.base(), "delete", cid], self.env))
        t1 = time.perf_counter()
        self.live.discard(cid)
        os.unlink(pid_file)
        return t1 - t0

    def _run(self, i: int) -> float:
        cid = f"k2-{self.name}-{i}"
        self.live.add(cid)
        r = run_timed([*self.base(), "run", "--bundle", self.bundle, cid], self.env)
        _ok(r)
        self.live.discard(cid)
        return r.seconds

    def clean(self) -> None:
        """Delete what a failed round left (killing it), reap it; never raises."""
        for cid in sorted(self.live):
            subprocess.run([*self.base(), "delete", "--force", cid], stdin=subprocess.DEVNULL,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60, check=False)
        for pid in self.pids:
            with contextlib.suppress(OSError, Failed):
                _reap(pid, timeout=10)
        self.live.clear()
        self.pids.clear()


def _config(spec_bin: str, work: str, rootfs: str) -> dict:
    """`den-runtime spec`, then the bench's changes (cgroupsPath is set per runtime)."""
    os.makedirs(work)
    subprocess.run([spec_bin, "spec", "--bundle", work], check=True, capture_output=True, timeout=30)
    path = os.path.join(work, "config.json")
    c = json.load(open(path, encoding="utf-8"))
    os.unlink(path)
    c["process"]["terminal"] = False
    c["process"]["args"] = ["true"]
    c["root"] = {"path": rootfs, "readonly": True}
    if not any(ns.get("type") == "network" and not ns.get("path") for ns in c["linux"]["namespaces"]):
        c["linux"]["namespaces"].append({"type": "network"})
    return c


def _prepare(runtimes: list[Runtime], den_bin: str | None, work: str, rootfs: str, cgroup: str) -> None:
    """Each runtime's root and bundle (cgroupsPath CGROUP/NAME), or why it cannot be measured."""
    if den_bin is None:
        for rt in runtimes[1:]:
            rt.ok, rt.reason = False, "no bundle: it is made by `den-runtime spec`"
        return
    try:
        config = _config(den_bin, os.path.join(work, "spec"), rootfs)
    except (OSError, subprocess.SubprocessError, ValueError, KeyError) as e:
        for rt in runtimes:
            rt.ok, rt.reason = False, f"`den-runtime spec` for the bundle failed: {e}"
        return
    for rt in runtimes:
        if rt.ok:
            try:
                rt.prepare({**config, "linux": {**config["linux"], "cgroupsPath": f"{cgroup}/{rt.name}"}})
            except (OSError, subprocess.SubprocessError) as e:
                rt.ok, rt.reason = False, f"preparing its root and bundle: {e}"


def _remove_cgroups(name: str) -> None:
    """rmdir every cgroup dir called NAME (the row's parent) a few levels down in each hierarchy."""
    for line in open("/proc/self/mounts", encoding="utf-8"):
        f = line.split()
        if f[2] not in ("cgroup", "cgroup2"):
            continue
        for top, dirs, _ in os.walk(f[1]):
            if top.count("/") - f[1].count("/") >= 4:
                dirs.clear()
                continue
            if name in dirs:
                for sub, _, _ in sorted(os.walk(os.path.join(top, name)), key=lambda w: -len(w[0])):
                    with contextlib.suppress(OSError):
                        os.rmdir(sub)
                dirs.remove(name)


def _mark(den: float | None, crun: float | None) -> str:
    if den is None or crun is None:
        return "den vs crun: —"
    met = "target met" if den <= crun else "**target NOT met**"
    return f"den vs crun {crun / den:.2f}× ({met}: den at least as fast as crun)"


def oci_runtime(cfg: dict, runs: int, warmup: int) -> list[Measure]:
    work, cgroup = cfg["work"], cfg["cgroup"]
    den_bin = cfg["runtime_bin"] if os.access(cfg.get("runtime_bin") or "", os.X_OK) else None
    runtimes = [Runtime("den", den_bin, work), Runtime("runc", shutil.which("runc"), work),
                Runtime("crun", shutil.which("crun"), work)]
    if den_bin is None:
        runtimes[0].reason = (f"no den-runtime binary at {cfg.get('runtime_bin')} (cargo build --release "
                              "-p den-cli, or set DEN_RUNTIME_BIN)")
    k1 = Measure("k1", "OCI create + start + (exited) + delete of one bundle", "ms",
                 short="OCI create+start+delete")
    k2 = Measure("k2", "OCI `RUNTIME run` of one bundle", "ms", short="OCI run")
    for m in (k1, k2):
        for peer in ("docker", "podman"):
            m.cell(peer).na = "not an OCI runtime: (k) is den-runtime against runc and crun"
    try:
        with private_mounts(), subreaper():
            try:
                _prepare(runtimes, den_bin, work, cfg["rootfs"], cgroup)
                for m, one in ((k1, Runtime.lifecycle), (k2, Runtime.run)):
                    interleave(m, runtimes, runs, warmup, one, scale=1000.0)
            finally:
                for rt in runtimes:
                    rt.clean()
    except (SpawnError, OciError) as e:
        for m in (k1, k2):
            for rt in runtimes:
                m.cell(rt.name).samples.clear()
                m.cell(rt.name).na = f"failed: {e}"
    finally:
        _remove_cgroups(cgroup)
        shutil.rmtree(work, ignore_errors=True)
    versions = ", ".join(f"{rt.name}: {rt.version}" for rt in runtimes if rt.version)
    for m, what in ((k1, "`create --pid-file F` + `start` + the container reaped by the bench (a subreaper) "
                         "+ `delete`, one span"), (k2, "`run` (foreground; the runtime waits and deletes)")):
        m.detail = (f"{what}; den = den-runtime; one bundle from `den-runtime spec` (`true`, read-only "
                    "busybox root, new empty netns, relative cgroupsPath), all three in one private mount "
                    f"namespace without {UNIFIED}, each with its own --root ({versions}); see "
                    "bench/denbench/measures_oci.py")
        if m.cell("den").median is not None:
            m.cell("den").note = _mark(m.cell("den").median, m.cell("crun").median)
    return [k1, k2]
