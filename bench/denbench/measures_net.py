"""Network measures: (c) time to the first HTTP answer through -p, (e) iperf3 through -p and direct."""

import json
import socket
import subprocess
import time

from .background import Background, wait_running
from .engines import Engine
from .ns import netns
from .results import Failed, Measure, interleave

HOST_ADDR = "10.250.0.1"  # the sandbox host's address on the veth to the outside netns
NOT_A_PEER = "no published ports: a bare OCI runtime"


def http_answers(addr: str, port: int) -> bool:
    """One GET; True once a real HTTP status line comes back (docker-proxy accepts before the
    container listens, then closes: that is not an answer)."""
    try:
        with socket.create_connection((addr, port), timeout=1) as s:
            s.sendall(b"GET / HTTP/1.0\r\nHost: bench\r\n\r\n")
            return s.recv(16).startswith(b"HTTP/1.")
    except OSError:
        return False


def first_http(engines: list[Engine], runs: int, warmup: int, bound: float = 30) -> Measure:
    m = Measure("c", "first HTTP answer via -p 8080:80 from the outside netns", "ms",
                short="first HTTP answer through -p",
                detail="from spawning `run -p 8080:80 IMG httpd` to the first HTTP status line fetched "
                       f"from the outside netns at {HOST_ADDR}:8080 (polled every 5 ms, bounded)")

    def one(e: Engine, i: int) -> float:
        name = f"denbench-http-{i}"
        argv = e.run_argv(["httpd", "-f", "-p", "80", "-h", "/var/www"], "bridge", ("8080:80",), name)
        t0 = time.perf_counter()
        bg = Background(e, argv)
        try:
            with netns(e.out_netns):
                deadline = time.monotonic() + bound
                while not http_answers(HOST_ADDR, 8080):
                    if bg.exited():
                        raise bg.fail("httpd container exited")
                    if time.monotonic() > deadline:
                        raise Failed(f"no HTTP answer within {bound:.0f} s")
                    time.sleep(0.005)
            return time.perf_counter() - t0
        finally:
            e.rm_force([name])
            bg.reap()

    interleave(m, [e for e in engines if e.name != "runc"], runs, warmup, one, scale=1000)
    m.cell("runc").na = NOT_A_PEER
    return m


def _listening(pid: int, port: int) -> bool:
    """Is something listening on PORT in the netns of PID? (/proc/PID/net/tcp{,6} is that netns's
    view; iperf3 -s listens on a dual-stack IPv6 socket.)"""
    for table in ("tcp", "tcp6"):
        try:
            with open(f"/proc/{pid}/net/{table}", encoding="ascii") as f:
                rows = [ln.split() for ln in list(f)[1:]]
        except OSError:
            continue
        if any(r[1].endswith(f":{port:04X}") and r[3] == "0A" for r in rows):
            return True
    return False


def _iperf(ns_path: str | None, addr: str, seconds: int, env: dict) -> float:
    with netns(ns_path):
        r = subprocess.run(["iperf3", "-c", addr, "-p", "5201", "-t", str(seconds), "-J"], env=env,
                           capture_output=True, text=True, timeout=seconds + 20)
    try:
        data = json.loads(r.stdout)
    except json.JSONDecodeError:
        data = {}
    bps = ((data.get("end") or {}).get("sum_received") or {}).get("bits_per_second")
    if not bps:
        why = data.get("error") or " | ".join((r.stdout + r.stderr).strip().splitlines()[-2:])
        raise Failed(f"iperf3 -c {addr}: {why}")
    return bps / 1e9


PATHS = (
    ("e1", "iperf3 outside → 10.250.0.1:5201 (-p 5201:5201)", "iperf3 outside → -p", "out"),
    ("e2", "iperf3 host → 127.0.0.1:5201 (-p 5201:5201)", "iperf3 127.0.0.1 → -p", "loopback"),
    ("e3", "iperf3 host → container IP:5201 (direct)", "iperf3 host → container IP", "direct"),
)


def throughput(engines: list[Engine], reps: int, seconds: int) -> list[Measure]:
    """iperf3 -s runs in the container's netns (the host's binary, via setns into /proc/PID/ns/net);
    the client runs from the outside netns or the sandbox host netns."""
    ms = [Measure(k, t, "Gbit/s", short=short, lower_is_better=False,
                  detail=f"median of {reps} iperf3 run(s) of {seconds} s; server in the container's netns")
          for k, t, short, _ in PATHS]
    servers = {}
    for e in engines:
        if e.name == "runc":
            for m in ms:
                m.cell(e.name).na = NOT_A_PEER
            continue
        if not e.ok:
            continue
        try:
            servers[e.name] = _serve(e)
        except Failed as err:
            for m in ms:
                m.cell(e.name).na = f"failed: {err}"
    live = [e for e in engines if e.name in servers]
    try:
        for m, (_, _, _, kind) in zip(ms, PATHS):
            def one(e: Engine, i: int, kind=kind) -> float:
                ip = servers[e.name][2]
                where = {"out": (e.out_netns, HOST_ADDR), "loopback": (e.netns, "127.0.0.1"),
                         "direct": (e.netns, ip)}[kind]
                return _iperf(where[0], where[1], seconds, e.env)
            interleave(m, live, reps, 0, one)
            for e in engines:
                if not e.ok and e.name != "runc":
                    m.cell(e.name).na = e.reason or "not available"
    finally:
        for e in live:
            bg, server, _ = servers[e.name]
            server.kill()
            server.wait(timeout=10)
            e.rm_force(["denbench-iperf"])
            if bg is not None:
                bg.reap()
    return ms


def _serve(e: Engine):
    """A sleeping container publishing 5201, and iperf3 -s inside its netns."""
    name = "denbench-iperf"
    cmd = ["sleep", "100000"]
    bg = None
    if e.name == "den":
        bg = Background(e, e.run_argv(cmd, "bridge", ("5201:5201",), name))
    else:
        r = e.execute(e.run_argv(cmd, "bridge", ("5201:5201",), name, detach=True))
        if r.returncode != 0:
            raise Failed(" | ".join(r.stderr.strip().splitlines()[-2:]) or f"exit {r.returncode}")
    try:
        pid, ip = wait_running(e, name, bg)
        with netns(f"/proc/{pid}/ns/net"):
            server = subprocess.Popen(["iperf3", "-s", "-p", "5201"], stdin=subprocess.DEVNULL,
                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not _listening(server.pid, 5201):
            if time.monotonic() > deadline or server.poll() is not None:
                server.kill()
                raise Failed("iperf3 -s did not listen in the container's netns")
            time.sleep(0.02)
        return bg, server, ip
    except BaseException:
        e.rm_force([name])
        if bg is not None:
            bg.reap()
        raise
