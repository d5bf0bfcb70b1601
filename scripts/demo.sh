#!/usr/bin/env bash
# den's main job, end to end, inside a throwaway sandbox:
#   host netns  (den0 bridge, containers)  <--veth-->  outside netns (10.250.0.2, "the internet")
# Runs a web server container with -p 8080:80, reaches it from outside (DNAT), shows the source address the
# outside sees for the container's own connections (MASQUERADE), and shows what den made. Cleans up on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }
bash scripts/setup.sh

DEN=${DEN_BIN:-$PWD/target/release/den}
IMG=$PWD/target/fixtures/busybox.oci
BB=/bin/busybox
H=den-demo-$$-host O=den-demo-$$-out
ROOT=$(mktemp -d /tmp/den-demo.XXXXXX)
pids=()
cleanup() {
  [ -e "/run/netns/$H" ] && den rm -f web >/dev/null 2>&1 || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  ip netns del "$H" 2>/dev/null || true
  ip netns del "$O" 2>/dev/null || true
  rm -rf "$ROOT"
}
trap cleanup EXIT
inh() { nsenter --net=/run/netns/$H "$@"; }
den() { inh "$DEN" --root "$ROOT" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "A sandbox: host netns $H, outside netns $O, joined by a veth"
ip netns add "$H"; ip netns add "$O"
ip link add dt-up netns "$H" type veth peer name eth0 netns "$O"
ip -n "$H" addr add 10.250.0.1/24 dev dt-up; ip -n "$H" link set dt-up up; ip -n "$H" link set lo up
ip -n "$O" addr add 10.250.0.2/24 dev eth0;  ip -n "$O" link set eth0 up;  ip -n "$O" link set lo up
ip -n "$H" route add default via 10.250.0.2

step "--network none: a network namespace with only lo"
den run --rm --network none "$IMG" ip link

step "--network host: the host's links, but still PID 1 in its own PID namespace"
den run --rm --network host "$IMG" sh -c 'ip link | grep -o "^[0-9]*: [^:]*"; echo "my pid: $$"'

step "--network bridge -p 8080:80: a web server (each step printed as its ip/nft command)"
den run -v -d --name web -p 8080:80 "$IMG" httpd -f -p 80 -h /var/www
den ps

step "What den made in the host netns: den0, a veth with master den0, one nftables table"
inh ip -br link
inh bridge link
inh nft list table ip den

step "PID 1 inside, another PID on the host (den top)"
den top web

step "Which host veth belongs to which container (den inspect)"
den inspect web | grep -E '"(IPAddress|Gateway|MacAddress|HostVeth|Bridge)"'
den port web

step "DNAT in: from the outside netns, GET http://10.250.0.1:8080/"
ip netns exec "$O" timeout 5 $BB wget -qO- http://10.250.0.1:8080/

step "MASQUERADE out: a server outside reports the address it sees for the container's connection"
mkdir -p "$ROOT/out/cgi-bin"
printf '#!/bin/sh\necho Content-Type: text/plain\necho\necho "$REMOTE_ADDR"\n' > "$ROOT/out/cgi-bin/peer"
chmod +x "$ROOT/out/cgi-bin/peer"
ip netns exec "$O" $BB httpd -f -p 9000 -h "$ROOT/out" &
pids+=($!)
sleep 0.2
echo -n "the outside saw: "
den run --rm "$IMG" timeout 5 wget -qO- http://10.250.0.2:9000/cgi-bin/peer

step "Why does a packet get through? den explain reads each hop from the kernel (rule handles, routes, fdb, sockets)"
den explain web 8080

step "The way out, and MASQUERADE: den explain web --to 10.250.0.2:9000"
den explain web --to 10.250.0.2:9000

step "A real packet's walk: den trace --probe sends one SYN from a throwaway netns and prints each rule it meets"
den trace web --probe

step "Stop the web container: den tears down its veth, nft elements and lease"
den rm -f web
inh ip -br link
inh nft list map ip den published
echo "leases: $(cat "$ROOT/networks/bridge/leases.json" 2>/dev/null || echo none)"

step "Seed 001's host-only mode: a veth straight to the host with a /31 of its own, no bridge, no NAT"
den run --rm --network hostonly "$IMG" sh -c 'ip -4 -o addr show eth0; ip route; ping -c1 -W1 10.250.0.2 >/dev/null 2>&1 || echo "10.250.0.2 (outside): unreachable, as it should be"'

step "Seed 001's isolated mode: lo and a dummy0 with an address, no way out"
den run --rm --network isolated "$IMG" ip -4 -o addr || echo "(isolated needs the dummy link type; den said why above)"
