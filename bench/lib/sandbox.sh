# shellcheck shell=bash
# Sandbox network namespaces for the benchmark (sourced by bench/run.sh).
#
#   host netns  denbench-PID-ENGINE          outside netns  denbench-PID-ENGINE-out
#     the engine runs here (bridge, nat)        eth0 10.250.0.2/24   <- stands in for the internet
#     dbup 10.250.0.1/24  <------ veth ------>
#     default via 10.250.0.2
#
# Everything is created INSIDE these namespaces (the veth is born in the host netns with its peer placed
# straight into the outside one); nothing touches the machine's root network namespace.

# sandbox_create ENGINE: make the pair of namespaces and the veth between them; records them in NETNS_MADE.
sandbox_create() {
  local h="$BENCH_NS-$1" o="$BENCH_NS-$1-out"
  ip netns add "$h"
  NETNS_MADE+=("$h")
  ip netns add "$o"
  NETNS_MADE+=("$o")
  ip -n "$h" link add dbup type veth peer name eth0 netns "$o"
  ip -n "$h" addr add 10.250.0.1/24 dev dbup
  ip -n "$h" link set dbup up
  ip -n "$h" link set lo up
  ip -n "$o" addr add 10.250.0.2/24 dev eth0
  ip -n "$o" link set eth0 up
  ip -n "$o" link set lo up
  ip -n "$h" route add default via 10.250.0.2
}

# in_ns ENGINE CMD...: run CMD with only the network namespace switched (nsenter, not `ip netns exec`,
# which remounts /sys and hides the cgroup mounts).
in_ns() {
  local e=$1
  shift
  nsenter --net="/run/netns/$BENCH_NS-$e" "$@"
}

# sandbox_delete_all: delete every namespace this run made (collects failures, never stops early).
sandbox_delete_all() {
  local ns rc=0
  for ns in "${NETNS_MADE[@]}"; do
    [ -e "/run/netns/$ns" ] || continue
    ip netns del "$ns" || { echo "bench: could not delete netns $ns" >&2; rc=1; }
  done
  NETNS_MADE=()
  return $rc
}
