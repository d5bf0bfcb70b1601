#!/usr/bin/env bash
# Escape probes from inside a default container, den and docker side by side.
#
#   bash bench/probes.sh            writes bench/PROBES.md (and prints it)
#
# Each engine runs in its own sandbox network namespaces (bench/lib/sandbox.sh), dockerd with private
# data and exec roots; the probes run as an attacker would from a default `run` (bridge network, root
# in the container), from a busybox rootfs with two tiny static programs (bench/probes/probe.c and
# tests/tests/localnet_probe.c). No probe changes the host even where it succeeds (see probe.c).
# Everything made is removed on exit, also on failure, and checked (bench/lib/cleanup.sh).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "probes: run as root" >&2; exit 1; }

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
for lib in install sandbox rootfs engines cleanup; do
  # shellcheck source=/dev/null
  source "$HERE/lib/$lib.sh"
done
bench_install
command -v gcc >/dev/null || { echo "probes: gcc is needed (apt-get install gcc libc6-dev)" >&2; exit 1; }

BENCH_NS=denprobe-$$
NETNS_MADE=()
TMP=$(mktemp -d /tmp/denprobe.XXXXXX)
snapshot_globals
LISTENERS=()
on_exit() {
  local rc=$? p
  trap '' INT TERM HUP PIPE
  trap - EXIT
  set +e
  for p in "${LISTENERS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  [ -n "${DEN_OK:-}" ] && den rm -f victim >/dev/null 2>&1
  bench_cleanup || rc=1
  exit $rc
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ROOTFS=$TMP/rootfs
make_busybox_rootfs "$ROOTFS"
mkdir -p "$ROOTFS/mnt"
gcc -static -O -o "$ROOTFS/probe" "$HERE/probes/probe.c"
gcc -static -O -o "$ROOTFS/rawprobe" "$REPO/tests/tests/localnet_probe.c"
for e in den docker; do sandbox_create "$e"; done
DEN_IMAGE=$ROOTFS
DEN_OK="" DOCKER_OK="" DEN_REASON="" DOCKER_REASON=""
setup_den
setup_docker
[ -n "$DEN_OK" ] || { echo "probes: den cannot run: $DEN_REASON" >&2; exit 1; }

den() {
  DEN_CGROUP_PARENT="$BENCH_NS-den" nsenter --net="/run/netns/$BENCH_NS-den" \
    "$DEN_BIN" --root "$TMP/den/root" "$@"
}
docker_() { "${DOCKER[@]}" "$@"; }

# in_engine ENGINE [RUN-FLAGS...] -- SCRIPT: a default `run --rm` of the probe rootfs; one line out.
in_engine() {
  local e=$1 flags=()
  shift
  while [ "$1" != -- ]; do flags+=("$1"); shift; done
  shift
  local out
  case $e in
    den) out=$(den run --rm "${flags[@]}" "$ROOTFS" sh -c "$1" 2>&1) ;;
    docker) out=$(docker_ run --rm "${flags[@]}" "$IMG_NAME" sh -c "$1" 2>&1) ;;
  esac
  echo "$out" | sed 's/^[a-z_]*: //; s|^/[^:]*: ||' | paste -sd ';' | sed 's/;/; /g'
}

# A loopback-only listener in ENGINE's host netns (what route_localnet could expose), by pid.
listen_loopback() {
  (exec nsenter --net="/run/netns/$BENCH_NS-$1" python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 7777)); s.listen(8)
while True: s.accept()[0].close()') &
  LISTENERS+=($!)
}

# victim_pid ENGINE: the host pid of a running `sleep` container named victim.
victim_pid() {
  case $1 in
    den)
      den run -d --name victim "$ROOTFS" sleep 120 >/dev/null
      den inspect -f '{{.State.Pid}}' victim ;;
    docker)
      docker_ run -d --name victim "$IMG_NAME" sleep 120 >/dev/null
      docker_ inspect -f '{{.State.Pid}}' victim ;;
  esac
}

ROWS=(
  "block device: mknod b 7 0 (host loop0), then read|/probe mknod"
  "keyctl (session keyring)|/probe keyctl"
  "add_key|/probe add_key"
  "unshare(CLONE_NEWUSER)|/probe unshare_user"
  "mount -t tmpfs|/probe mount_tmpfs"
  "open /proc/sys/kernel/core_pattern for writing|/probe open_w /proc/sys/kernel/core_pattern"
  "open /proc/sysrq-trigger for writing|[ -e /proc/sysrq-trigger ] && /probe open_w /proc/sysrq-trigger || echo 'absent on this kernel'"
  "open /sys/kernel/uevent_helper for writing|/probe open_w /sys/kernel/uevent_helper"
  "seccomp mode (/proc/self/status)|/probe status Seccomp"
  "effective capabilities|/probe status CapEff"
  "raw SYN to the gateway MAC, dst 127.0.0.1:7777 (a host loopback-only listener)|gw=\$(ip route | awk '/default/ {print \$3}'); /rawprobe 127.0.0.1 7777 \$gw"
)

engines=(den)
[ -n "$DOCKER_OK" ] && engines+=(docker)
for e in "${engines[@]}"; do listen_loopback "$e"; done
sleep 0.5

declare -A ANSWER
for row in "${ROWS[@]}"; do
  for e in "${engines[@]}"; do ANSWER[$row,$e]=$(in_engine "$e" -- "${row#*|}"); done
done
PTRACE_ROW="ptrace another container's host pid (with --cap-add SYS_PTRACE)"
for e in "${engines[@]}"; do
  pid=$(victim_pid "$e")
  ANSWER[$PTRACE_ROW,$e]=$(in_engine "$e" --cap-add SYS_PTRACE -- "/probe ptrace $pid")
  if [ "$e" = den ]; then den rm -f victim >/dev/null; else docker_ rm -f victim >/dev/null; fi
done

docker_col="docker"
if [ -n "$DOCKER_OK" ]; then
  docker_col="docker $(docker_ version -f '{{.Server.Version}}' 2>/dev/null)"
fi
{
  echo "# Escape probes: den and docker side by side"
  echo
  echo "Written by \`bash bench/probes.sh\` on $(date -u +%Y-%m-%d) ($(uname -r), $(den version -f '{{.Client.Version}}' 2>/dev/null || echo den)); each cell is"
  echo "what the probe printed from inside a default \`run --rm\` (bridge network, root in the container)."
  [ -n "$DOCKER_OK" ] || echo "docker could not run here: $DOCKER_REASON"
  echo
  echo "| probe | den | $docker_col |"
  echo "| --- | --- | --- |"
  for row in "${ROWS[@]}" "$PTRACE_ROW|"; do
    name=${row%%|*}
    printf '| %s | %s | %s |\n' "$name" "${ANSWER[$row,den]:-${ANSWER[$name,den]:-}}" \
      "${ANSWER[$row,docker]:-${ANSWER[$name,docker]:-not run}}"
  done
} >"$HERE/PROBES.md"
cat "$HERE/PROBES.md"
