#!/usr/bin/env python3
"""ADD+DEL of one CNI attachment with one port mapping: den-cni vs the reference
bridge + host-local + portmap chain (Debian's containernetworking-plugins), interleaved.

    python3 bench/cni_adddel.py [DEN_CNI] [RUNS]

Everything happens in throwaway network namespaces made here (a "host" one where the plugins
run, one container netns per engine), removed again at the end, also on failure.
"""
import json, os, shutil, statistics, subprocess, sys, tempfile, time

REF = "/usr/lib/cni"


def sh(*args, **kw):
    return subprocess.run(args, check=True, capture_output=True, text=True, **kw)


def call(plugin, command, conf, cid, netns, env_extra=None):
    env = dict(os.environ, CNI_COMMAND=command, CNI_CONTAINERID=cid, CNI_NETNS=netns,
               CNI_IFNAME="eth0", CNI_PATH=REF)
    p = subprocess.run([plugin], input=json.dumps(conf), env=env, capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"{plugin} {command} failed: {p.stdout}{p.stderr}")
    return json.loads(p.stdout) if p.stdout.strip() else None


def main():
    den = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else "target/release/den-cni")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 30
    tag = f"cnib{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix=f"{tag}-")
    made = []
    try:
        for n in ("host", "cden", "cref"):
            sh("ip", "netns", "add", f"{tag}-{n}")
            made.append(f"{tag}-{n}")
        sh("ip", "-n", f"{tag}-host", "link", "set", "lo", "up")
        inner = [sys.executable, __file__, "--inner", den, str(runs), tag, tmp]
        subprocess.run(["nsenter", f"--net=/run/netns/{tag}-host", "--"] + inner, check=True)
    finally:
        for n in made:
            subprocess.run(["ip", "netns", "delete", n])
        shutil.rmtree(tmp, ignore_errors=True)


def inner(den, runs, tag, tmp):
    ports = {"portMappings": [{"hostPort": 8080, "containerPort": 80, "protocol": "tcp"}]}
    den_conf = {"cniVersion": "1.0.0", "name": "denbench", "type": "den-cni", "bridge": "cniden0",
                "ipam": {"type": "den", "ranges": [[{"subnet": "10.88.0.0/16"}]],
                         "dataDir": f"{tmp}/den"},
                "capabilities": {"portMappings": True}, "runtimeConfig": ports}
    br_conf = {"cniVersion": "1.0.0", "name": "refbench", "type": "bridge", "bridge": "cniref0",
               "isGateway": True, "ipMasq": True, "hairpinMode": True,
               "ipam": {"type": "host-local", "ranges": [[{"subnet": "10.89.0.0/16"}]],
                        "dataDir": f"{tmp}/ref"}}
    pm_conf = {"cniVersion": "1.0.0", "name": "refbench", "type": "portmap",
               "capabilities": {"portMappings": True}, "runtimeConfig": ports}
    cden, cref = f"/run/netns/{tag}-cden", f"/run/netns/{tag}-cref"

    def den_once(i):
        call(den, "ADD", den_conf, f"d{i}", cden)
        call(den, "DEL", den_conf, f"d{i}", cden)

    def ref_once(i):
        r = call(f"{REF}/bridge", "ADD", br_conf, f"r{i}", cref)
        pm = dict(pm_conf, prevResult=r)
        call(f"{REF}/portmap", "ADD", pm, f"r{i}", cref)
        call(f"{REF}/portmap", "DEL", pm, f"r{i}", cref)
        call(f"{REF}/bridge", "DEL", dict(br_conf, prevResult=r), f"r{i}", cref)

    times = {"den-cni": [], "bridge+host-local+portmap": []}
    for i in range(runs + 2):
        for name, once in (("den-cni", den_once), ("bridge+host-local+portmap", ref_once)):
            t = time.perf_counter()
            once(i)
            if i >= 2:  # two warm-up rounds (the bridges, den's table, iptables chains)
                times[name].append((time.perf_counter() - t) * 1000)
    med = {k: statistics.median(v) for k, v in times.items()}
    for k, v in times.items():
        p90 = sorted(v)[int(len(v) * 0.9) - 1]
        print(f"{k:28} median {med[k]:7.1f} ms  p90 {p90:7.1f} ms  ({len(v)} runs)")
    print(f"den-cni is {med['bridge+host-local+portmap'] / med['den-cni']:.1f}x faster")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--inner":
        inner(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5])
    else:
        main()
