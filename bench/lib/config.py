"""Write bench.py's config (JSON on stdout) from the CFG_* variables that run.sh exported."""

import json
import os

env = os.environ
tmp, ns = env["CFG_TMP"], env["CFG_NS"]


def sandbox(engine: str) -> dict:
    return {"netns": f"/run/netns/{ns}-{engine}", "out_netns": f"/run/netns/{ns}-{engine}-out"}


def state(engine: str) -> dict:
    key = engine.upper()
    return {"ok": env.get(f"CFG_{key}_OK") == "1", "reason": env.get(f"CFG_{key}_REASON", "")}


podman_dir = f"{tmp}/podman"
config = {
    "quick": env.get("CFG_QUICK") == "1",
    "out_dir": env["CFG_OUT"],
    "counts": json.loads(env.get("BENCH_COUNTS") or "{}"),
    "versions": {e: env.get(f"CFG_{e.upper()}_VERSION", "") for e in ("den", "docker", "podman", "runc")},
    "engines": {
        "den": {**state("den"), **sandbox("den"), "bin": env.get("CFG_DEN_BIN", ""),
                "root": f"{tmp}/den/root", "image": env.get("CFG_DEN_IMAGE", ""),
                # Relative: below the bench's own cgroup in each hierarchy (cleanup.sh finds it there).
                "env": {"DEN_CGROUP_PARENT": f"{ns}-den"}},
        "docker": {**state("docker"), **sandbox("docker"), "client": "/usr/bin/docker",
                   "host": f"unix://{tmp}/docker/docker.sock", "image": "denbench-busybox",
                   "env": {"DOCKER_CONFIG": f"{tmp}/docker/client"}},
        "podman": {**state("podman"), **sandbox("podman"), "bin": "podman",
                   "global_flags": ["--root", f"{podman_dir}/root", "--runroot", f"{podman_dir}/runroot",
                                    "--tmpdir", f"{podman_dir}/tmp", "--cgroup-manager", "cgroupfs",
                                    "--events-backend", "file"],
                   "cgroup_parent": f"{ns}-podman", "image": "localhost/denbench-busybox",
                   "env": {"CONTAINERS_CONF": f"{podman_dir}/containers.conf"}},
        "runc": {**state("runc"), "netns": None, "bin": "runc", "state": f"{tmp}/runc/state",
                 "bundle": f"{tmp}/runc/bundle"},
    },
    # (k): den-runtime against runc and crun; the cgroup parent is relative (cleanup.sh finds it too).
    "oci": {"runtime_bin": env.get("CFG_DEN_RUNTIME_BIN", ""), "rootfs": f"{tmp}/rootfs", "work": f"{tmp}/oci",
            "cgroup": f"{ns}-oci"},
}
print(json.dumps(config, indent=1))
