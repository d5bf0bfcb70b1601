"""(h) Pull of a 3-layer ~100 MB image from a local registry: den pull vs docker pull, podman pull and
skopeo copy (blobs only, no unpack: a note on den's cell), plus each one's peak RSS.

The image: three layers of 34 MB of random bytes each (incompressible, gzip -1), made here as an OCI
layout and pushed with skopeo into Debian's docker-registry (unpacked by scripts/setup.sh into
target/registry). One registry per engine sandbox, all serving the same storage directory, each on
127.0.0.1 of that sandbox's netns (den, docker and podman allow plain HTTP there). Every round pulls
into an empty store: den a fresh --root, docker and podman after `rmi -f` (not timed), skopeo into a
fresh oci: directory.
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time

from .engines import Engine
from .ns import netns
from .results import Failed, Measure, interleave
from .timing import run_rss

PORT = 5055
LAYERS = 3
LAYER_BYTES = 34 * 1000 * 1000
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REGISTRY = os.path.join(REPO_ROOT, "target/registry/usr/bin/docker-registry")
IMAGE = f"127.0.0.1:{PORT}/bench/pull:v1"


def _blob(layout: str, data: bytes) -> dict:
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs/sha256", digest), "wb") as f:
        f.write(data)
    return {"digest": f"sha256:{digest}", "size": len(data)}


def _layout(layout: str) -> None:
    """The image as an OCI layout in LAYOUT."""
    os.makedirs(os.path.join(layout, "blobs/sha256"))
    layers, diff_ids = [], []
    for i in range(LAYERS):
        raw = io.BytesIO()
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.GNU_FORMAT) as tar:
            info = tarfile.TarInfo(f"data{i}.bin")
            info.size = LAYER_BYTES
            tar.addfile(info, io.BytesIO(os.urandom(LAYER_BYTES)))
        tar_bytes = raw.getvalue()
        diff_ids.append("sha256:" + hashlib.sha256(tar_bytes).hexdigest())
        layers.append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                       **_blob(layout, gzip.compress(tar_bytes, compresslevel=1, mtime=0))})
    config = {"architecture": "amd64", "os": "linux", "config": {"Cmd": ["true"]},
              "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    config_desc = {"mediaType": "application/vnd.oci.image.config.v1+json",
                   **_blob(layout, json.dumps(config).encode())}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "config": config_desc, "layers": layers}
    manifest_desc = {"mediaType": "application/vnd.oci.image.manifest.v1+json",
                     **_blob(layout, json.dumps(manifest).encode()),
                     "annotations": {"org.opencontainers.image.ref.name": "v1"}}
    with open(os.path.join(layout, "index.json"), "w", encoding="utf-8") as f:
        json.dump({"schemaVersion": 2, "manifests": [manifest_desc]}, f)
    with open(os.path.join(layout, "oci-layout"), "w", encoding="utf-8") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}')


class Registries:
    """docker-registry on 127.0.0.1:PORT in each of NETNSES, one storage dir; stopped (by pid) on exit."""

    def __init__(self, work: str, netnses: list[str]):
        self.work, self.netnses, self.procs = work, netnses, []

    def __enter__(self):
        config = os.path.join(self.work, "registry.yml")
        with open(config, "w", encoding="utf-8") as f:
            f.write(f"version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n"
                    f"    rootdirectory: {self.work}/registry-data\nhttp:\n  addr: 127.0.0.1:{PORT}\n")
        for ns in self.netnses:
            with netns(ns):
                self.procs.append(subprocess.Popen([REGISTRY, "serve", config], stdin=subprocess.DEVNULL,
                                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for ns in self.netnses:
            deadline = time.monotonic() + 20
            while True:
                with netns(ns):
                    up = subprocess.run(["curl", "-s", "-o", "/dev/null", f"http://127.0.0.1:{PORT}/v2/"],
                                        check=False).returncode == 0
                if up:
                    break
                if time.monotonic() > deadline:
                    raise Failed(f"the registry in {ns} did not answer within 20 s")
                time.sleep(0.2)
        return self

    def __exit__(self, *exc):
        for p in self.procs:
            p.terminate()
        for p in self.procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()


def pull(engines: list[Engine], runs: int, warmup: int) -> list[Measure]:
    detail = (f"`pull` of a {LAYERS}-layer image ({LAYERS}×{LAYER_BYTES // 1000 // 1000} MB random, gzip -1) from "
              "docker-registry on the sandbox's 127.0.0.1, into an empty store each round (den: downloads, "
              "verifies, unpacks; docker and podman too)")
    time_m = Measure("j1", "pull of a 3-layer ~100 MB image (local registry)", "ms",
                     short="pull 3×34 MB from a local registry", detail=detail)
    rss_m = Measure("j2", "peak RSS of that pull", "MiB", short="pull peak RSS",
                    detail="max resident set of the pulling process (for docker and podman: their client "
                           "process; dockerd does the work and is not counted)")
    usable = [e for e in engines if e.name in ("den", "docker", "podman")]
    for e in engines:
        if e.name == "runc":
            for m in (time_m, rss_m):
                m.cell("runc").na = "no image pulls: a bare OCI runtime"
    if not os.access(REGISTRY, os.X_OK) or shutil.which("skopeo") is None:
        for e in usable:
            for m in (time_m, rss_m):
                m.cell(e.name).na = f"needs {REGISTRY} (scripts/setup.sh --packages-only) and skopeo"
        return [time_m, rss_m]
    work = tempfile.mkdtemp(prefix="pull-", dir=os.environ.get("CFG_TMP") or None)
    den = next((e for e in engines if e.name == "den" and e.ok), None)
    try:
        layout = os.path.join(work, "layout")
        _layout(layout)
        netnses = [e.netns for e in usable if e.ok and e.netns]
        with Registries(work, netnses):
            with netns(netnses[0]):
                subprocess.run(["skopeo", "--insecure-policy", "copy", "--dest-tls-verify=false",
                                f"oci:{layout}:v1", f"docker://{IMAGE}"], check=True,
                               capture_output=True)
            skopeo_samples: list[float] = []

            def one(e: Engine, i: int) -> float:
                if e.name == "den":
                    root = os.path.join(work, f"den-root-{i}")
                    argv = [e.cfg["bin"], "--root", root, "pull", "-q", IMAGE]
                else:
                    e.call(["rmi", "-f", IMAGE], timeout=60)
                    argv = [*e.base(), "pull", "-q", IMAGE]
                    if e.name == "podman":
                        argv = [*e.base(), "pull", "-q", "--tls-verify=false", IMAGE]
                r, kib = run_rss(argv, e.env, e.netns)
                if e.name == "den":
                    shutil.rmtree(os.path.join(work, f"den-root-{i}"), ignore_errors=True)
                    if den is not None:
                        skopeo_samples.append(_skopeo(work, i, den) * 1000)
                if not r.ok:
                    raise Failed(r.stderr)
                if i >= warmup:
                    rss_m.cell(e.name).samples.append(kib / 1024)
                return r.seconds

            interleave(time_m, usable, runs, warmup, one, scale=1000)
            for e in usable:
                if time_m.cell(e.name).na and not rss_m.cell(e.name).samples:
                    rss_m.cell(e.name).na = time_m.cell(e.name).na
            if skopeo_samples:
                s = sorted(skopeo_samples[warmup:] or skopeo_samples)
                mid = s[len(s) // 2]
                den_median = time_m.cell("den").median
                vs = f"; den ÷ skopeo {den_median / mid:.2f}" if den_median else ""
                time_m.cell("den").note = (f"skopeo copy docker:// → oci: (blobs only, no decompression or "
                                           f"unpack), same rounds: median {mid:.0f} ms{vs}")
    except (subprocess.CalledProcessError, Failed) as err:
        for e in usable:
            for m in (time_m, rss_m):
                if not m.cell(e.name).samples:
                    m.cell(e.name).na = f"setup failed: {err}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return [time_m, rss_m]


def _skopeo(work: str, i: int, den: Engine) -> float:
    """One `skopeo copy` of the image into a fresh oci: dir, in den's netns; seconds."""
    dest = os.path.join(work, f"skopeo-{i}")
    r, _ = run_rss(["skopeo", "--insecure-policy", "copy", "-q", "--src-tls-verify=false",
                    f"docker://{IMAGE}", f"oci:{dest}:v1"], den.env, den.netns)
    shutil.rmtree(dest, ignore_errors=True)
    if not r.ok:
        raise Failed(f"skopeo copy: {r.stderr}")
    return r.seconds
