"""How to drive each engine: the argv of `run`, forced removal and `inspect`, its env and its netns.

Everything an engine needs (paths, sockets, images, whether it works here) comes from the config that
bench/run.sh wrote after setting the engine up in its own sandbox.
"""

import json
import os
import subprocess

from .ns import netns

ENGINES = ("den", "docker", "podman", "runc")


class Engine:
    name = ""

    def __init__(self, cfg: dict):
        self.cfg = cfg
        self.ok: bool = bool(cfg.get("ok"))
        self.reason: str = cfg.get("reason", "")
        self.netns: str | None = cfg.get("netns")
        self.out_netns: str | None = cfg.get("out_netns")
        self.image: str = cfg.get("image", "")
        self.env = {**os.environ, **cfg.get("env", {})}

    # --- what subclasses provide -------------------------------------------------------------------
    def base(self) -> list[str]:
        raise NotImplementedError

    def run_flags(self, detach: bool) -> list[str]:
        return ["-d"] if detach else []

    # --- shared --------------------------------------------------------------------------------------
    def run_argv(self, cmd: list[str], network: str = "bridge", publish: tuple[str, ...] = (),
                 name: str | None = None, detach: bool = False) -> list[str]:
        argv = [*self.base(), "run", "--rm", *self.run_flags(detach), "--network", network]
        for p in publish:
            argv += ["-p", p]
        if name:
            argv += ["--name", name]
        return [*argv, self.image, *cmd]

    def execute(self, argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        """Run ARGV (not timed) inside the engine's netns, with its env, capturing its output."""
        with netns(self.netns):
            return subprocess.run(argv, env=self.env, capture_output=True, text=True,
                                  timeout=timeout, stdin=subprocess.DEVNULL)

    def call(self, args: list[str], timeout: float = 120) -> subprocess.CompletedProcess:
        """A management command of this engine (rm, inspect, ...)."""
        return self.execute([*self.base(), *args], timeout)

    def rm_args(self) -> list[str]:
        return ["rm", "-f"]

    def rm_force_start(self, names: list[str]) -> list[subprocess.Popen]:
        """Start removing NAMES (killing them first), 100 per command, all at once; returns the
        commands to wait for, so several engines can clean up in parallel."""
        procs = []
        with netns(self.netns):
            for i in range(0, len(names), 100):
                procs.append(subprocess.Popen([*self.base(), *self.rm_args(), *names[i:i + 100]],
                                              env=self.env, stdin=subprocess.DEVNULL,
                                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        return procs

    def rm_force(self, names: list[str]) -> None:
        wait_all(self.rm_force_start(names))

    def inspect(self, name: str) -> dict | None:
        r = self.call(["inspect", name], timeout=30)
        if r.returncode != 0:
            return None
        try:
            data = json.loads(r.stdout)
        except json.JSONDecodeError:
            return None
        if isinstance(data, list):
            data = data[0] if data else None
        return data

    def pid_and_ip(self, name: str) -> tuple[int, str]:
        """The container's first process and its address on the bridge (0, "" while not running)."""
        d = self.inspect(name) or {}
        pid = int((d.get("State") or {}).get("Pid") or 0)
        settings = d.get("NetworkSettings") or {}
        ip = settings.get("IPAddress") or ""
        if not ip:
            for net in (settings.get("Networks") or {}).values():
                ip = ip or (net or {}).get("IPAddress") or ""
        return pid, ip


class Den(Engine):
    name = "den"

    def base(self):
        return [self.cfg["bin"], "--root", self.cfg["root"]]

    def run_flags(self, detach):
        if detach:
            raise ValueError("den has no -d: run it in the background instead")
        return []


class Docker(Engine):
    name = "docker"

    def base(self):
        return [self.cfg["client"], "-H", self.cfg["host"]]


class Podman(Engine):
    name = "podman"

    def base(self):
        return [self.cfg["bin"], *self.cfg["global_flags"]]

    def run_flags(self, detach):
        return [*super().run_flags(detach), "--cgroup-parent", self.cfg["cgroup_parent"]]

    def rm_args(self):
        return ["rm", "-f", "-t", "0"]


class Runc(Engine):
    """Bare `runc run` of a prepared bundle: no image handling, no networking beyond a new netns."""
    name = "runc"

    def base(self):
        return [self.cfg["bin"], "--root", self.cfg["state"]]

    def run_argv(self, cmd, network="none", publish=(), name=None, detach=False):
        if network != "none" or publish or detach or cmd != ["true"]:
            raise ValueError("the runc bundle only runs `true` with no network setup")
        return [*self.base(), "run", "--bundle", self.cfg["bundle"], name or "denbench-runc"]


def wait_all(procs: list[subprocess.Popen], timeout: float = 600) -> None:
    for p in procs:
        try:
            p.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def load(cfg: dict) -> dict[str, Engine]:
    kinds = {"den": Den, "docker": Docker, "podman": Podman, "runc": Runc}
    return {n: kinds[n](cfg["engines"].get(n, {"ok": False, "reason": "not configured"}))
            for n in ENGINES}
