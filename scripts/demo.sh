#!/usr/bin/env bash
# den's main job on a fresh Debian 12 machine: install what den needs, build den and the fixture
# images, then `den demo`: the seeds' journey (none/host/bridge, PID 1 vs the host PID, two
# containers over den0, MASQUERADE seen from outside, a published port with `den explain` and a
# `den trace --probe`, seed 001's host-only, isolated and bridged modes) in a throwaway sandbox it
# creates and removes itself. Arguments go to `den demo` (--step pauses between steps, --keep keeps
# the sandbox).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 1; }
bash scripts/setup.sh
exec "${DEN_BIN:-$PWD/target/release/den}" demo --image "$PWD/target/fixtures/busybox.oci" "$@"
