#!/usr/bin/env bash
# Benchmark den against docker, podman and runc, each in its own sandbox network namespaces.
#
#   bash bench/run.sh [--quick]
#
# Installs what is missing from Debian's packages, sets up the sandboxes and engines, runs
# bench/bench.py (the measures, interleaved), writes bench/RESULTS.md + results.svg + results.json
# (--quick: RESULTS-quick.md, results-quick.svg, results-quick.json), and cleans up everything it made,
# also on failure or Ctrl-C, then verifies that nothing is left. See bench/README.md.
set -euo pipefail

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; }
QUICK=0
for arg in "$@"; do
  case $arg in
    --quick) QUICK=1 ;;
    -h | --help) usage; exit 0 ;;
    *) echo "bench: unknown argument: $arg" >&2; usage >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "bench: run as root (it creates network namespaces and runs daemons)" >&2; exit 1; }

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
# shellcheck source=lib/install.sh
source "$HERE/lib/install.sh"
# shellcheck source=lib/sandbox.sh
source "$HERE/lib/sandbox.sh"
# shellcheck source=lib/rootfs.sh
source "$HERE/lib/rootfs.sh"
# shellcheck source=lib/engines.sh
source "$HERE/lib/engines.sh"
# shellcheck source=lib/cleanup.sh
source "$HERE/lib/cleanup.sh"

bench_install

BENCH_NS=denbench-$$
NETNS_MADE=()
TMP=$(mktemp -d /tmp/denbench.XXXXXX)
snapshot_globals
on_exit() {
  local rc=$?
  # Nothing may cut the cleanup short: not a second Ctrl-C, not a closed pipe on our output.
  trap '' INT TERM HUP PIPE
  trap - EXIT
  stop_bench_py
  echo "bench: cleaning up" >&2
  bench_cleanup || rc=1
  exit $rc
}
# bench.py runs in the background so that a signal reaches this shell at once (a foreground child would
# delay the trap until it ends); the traps pass it on as SIGTERM, and bench.py's own cleanup (removing
# the containers it started) runs before ours.
BENCH_PY=""
stop_bench_py() {
  if [ -n "$BENCH_PY" ] && kill -0 "$BENCH_PY" 2>/dev/null; then
    kill -TERM "$BENCH_PY" 2>/dev/null
    wait "$BENCH_PY" 2>/dev/null
  fi
  return 0
}
trap on_exit EXIT
trap 'stop_bench_py; exit 130' INT
trap 'stop_bench_py; exit 143' TERM

ROOTFS=$TMP/rootfs
make_busybox_rootfs "$ROOTFS"
for e in den docker podman; do sandbox_create "$e"; done

DEN_OK="" DOCKER_OK="" PODMAN_OK="" RUNC_OK=""
DEN_REASON="" DOCKER_REASON="" PODMAN_REASON="" RUNC_REASON=""
echo "bench: setting up den, docker, podman and runc" >&2
setup_den
setup_docker
setup_podman
setup_runc
echo "bench: set up in ${SECONDS}s" >&2

ver() { "$@" 2>/dev/null | head -n 1 | grep -oE '[0-9]+\.[0-9]+\.[0-9]+[^ ,]*' | head -n 1 || true; }
DEN_VERSION=""
[ -x "${DEN_BIN:-}" ] && DEN_VERSION=$("$DEN_BIN" --version 2>/dev/null | head -n 1 || true)
# den's commit: the checkout its binary was built in (target/release/den), else this checkout.
DEN_REV=$(git -C "$(dirname "${DEN_BIN:-$REPO}")" rev-parse --short HEAD 2>/dev/null ||
  git -C "$REPO" rev-parse --short HEAD 2>/dev/null || true)
if [ -n "$DEN_OK" ]; then
  CFG_DEN_VERSION="${DEN_VERSION#den } (commit ${DEN_REV:-?}, image ${DEN_IMAGE:-?})"
else
  CFG_DEN_VERSION="not measured (commit ${DEN_REV:-?}; see footnote)"
fi
export CFG_DEN_VERSION
CFG_DOCKER_VERSION="$(ver dockerd --version) (containerd $(ver containerd --version), runc, userland-proxy on)"
CFG_PODMAN_VERSION="$(ver podman --version) (runc, netavark $(ver /usr/lib/podman/netavark --version))"
CFG_RUNC_VERSION=$(ver runc --version)
export CFG_DOCKER_VERSION CFG_PODMAN_VERSION CFG_RUNC_VERSION

export CFG_QUICK=$QUICK CFG_TMP=$TMP CFG_NS=$BENCH_NS CFG_OUT=$HERE
# (k) den-runtime, the OCI runtime: built beside den (env DEN_RUNTIME_BIN overrides).
export CFG_DEN_RUNTIME_BIN=${DEN_RUNTIME_BIN:-$REPO/target/release/den-runtime}
export CFG_DEN_OK=$DEN_OK CFG_DEN_REASON=$DEN_REASON CFG_DEN_BIN=${DEN_BIN:-} CFG_DEN_IMAGE=${DEN_IMAGE:-}
export CFG_DOCKER_OK=$DOCKER_OK CFG_DOCKER_REASON=$DOCKER_REASON
export CFG_PODMAN_OK=$PODMAN_OK CFG_PODMAN_REASON=$PODMAN_REASON
export CFG_RUNC_OK=$RUNC_OK CFG_RUNC_REASON=$RUNC_REASON
python3 "$HERE/lib/config.py" >"$TMP/config.json"
python3 "$HERE/bench.py" "$TMP/config.json" &
BENCH_PY=$!
rc=0
wait "$BENCH_PY" || rc=$?
BENCH_PY=""
[ $rc -eq 0 ] || { echo "bench: bench.py failed (exit $rc)" >&2; exit $rc; }
echo "bench: measured in ${SECONDS}s (before cleanup)" >&2
