# shellcheck shell=bash
# Set up each engine in its own sandbox netns (sourced by bench/run.sh). Each setup_X sets X_OK=1 on
# success, or X_REASON to one line saying why X cannot run here (the table then says so).
# Paths: everything an engine writes lives under $TMP/X; its cgroups under $BENCH_NS-X, a relative
# parent: below the cgroup the bench itself runs in, in every hierarchy (never at a hierarchy's root).

IMG_NAME=denbench-busybox

last_line() { { grep -v '^\s*$' "$1" 2>/dev/null || true; } | tail -n 1 | cut -c1-200; }

setup_docker() {
  local d=$TMP/docker
  mkdir -p "$d/data" "$d/exec" "$d/client"
  # dockerd 20.10 writes its trust key to /etc/docker/key.json unless told otherwise (no flag for it).
  printf '{"deprecated-key-path": "%s"}\n' "$d/key.json" >"$d/daemon.json"
  DOCKER=(env "DOCKER_CONFIG=$d/client" /usr/bin/docker -H "unix://$d/docker.sock")
  # setsid: Ctrl-C must not reach dockerd; run.sh's cleanup removes the containers first, then stops it.
  (cd "$d" && exec setsid nsenter --net="/run/netns/$BENCH_NS-docker" dockerd \
    --data-root "$d/data" --exec-root "$d/exec" -H "unix://$d/docker.sock" --pidfile "$d/docker.pid" \
    --config-file "$d/daemon.json" \
    --cgroup-parent "$BENCH_NS-docker" </dev/null >"$d/dockerd.log" 2>&1) &
  DOCKERD_PID=$!
  for _ in $(seq 150); do
    "${DOCKER[@]}" version >/dev/null 2>&1 && break
    kill -0 "$DOCKERD_PID" 2>/dev/null || break
    sleep 0.2
  done
  if ! "${DOCKER[@]}" version >/dev/null 2>&1; then
    DOCKER_REASON="dockerd did not come up: $(last_line "$d/dockerd.log")"
    return 0
  fi
  if ! tar -C "$ROOTFS" -c . | "${DOCKER[@]}" import - "$IMG_NAME" >"$d/import.log" 2>&1; then
    DOCKER_REASON="docker import failed: $(last_line "$d/import.log")"
    return 0
  fi
  if ! "${DOCKER[@]}" run --rm --network none "$IMG_NAME" true >"$d/smoke.log" 2>&1; then
    DOCKER_REASON="docker run failed: $(last_line "$d/smoke.log")"
    return 0
  fi
  DOCKER_OK=1
}

setup_podman() {
  local p=$TMP/podman
  mkdir -p "$p/root" "$p/runroot" "$p/tmp" "$p/networks"
  # crun refuses cgroups in hybrid mode here ("drop all controllers from cgroupv2"): use runc.
  cat >"$p/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[network]
network_config_dir = "$p/networks"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$p/events.log"
tmp_dir = "$p/tmp"
CONF
  export CONTAINERS_CONF=$p/containers.conf
  PODMAN_FLAGS=(--root "$p/root" --runroot "$p/runroot" --tmpdir "$p/tmp" --cgroup-manager cgroupfs
    --events-backend file)
  PODMAN=(nsenter --net="/run/netns/$BENCH_NS-podman" podman "${PODMAN_FLAGS[@]}")
  if ! tar -C "$ROOTFS" -c . | "${PODMAN[@]}" import - "$IMG_NAME" >"$p/import.log" 2>&1; then
    PODMAN_REASON="podman import failed: $(last_line "$p/import.log")"
    return 0
  fi
  if ! "${PODMAN[@]}" run --rm --cgroup-parent "$BENCH_NS-podman" --network none "$IMG_NAME" true \
    >"$p/smoke.log" 2>&1; then
    PODMAN_REASON="podman run failed: $(last_line "$p/smoke.log")"
    return 0
  fi
  PODMAN_OK=1
}

setup_runc() {
  local r=$TMP/runc
  mkdir -p "$r/bundle" "$r/state"
  (cd "$r/bundle" && runc spec) || { RUNC_REASON="runc spec failed"; return 0; }
  python3 - "$r/bundle/config.json" "$ROOTFS" "$BENCH_NS-runc/c" <<'PY'
import json, sys
path, rootfs, cgroup = sys.argv[1:]
c = json.load(open(path))
c["process"]["terminal"] = False
c["process"]["args"] = ["true"]
c["root"] = {"path": rootfs, "readonly": True}
c["linux"]["cgroupsPath"] = cgroup
json.dump(c, open(path, "w"), indent=1)
PY
  if ! runc --root "$r/state" run --bundle "$r/bundle" denbench-runc >"$r/smoke.log" 2>&1; then
    RUNC_REASON="runc run failed: $(last_line "$r/smoke.log")"
    return 0
  fi
  RUNC_OK=1
}

# den: the project's binary and fixture image; a smoke run must really run the container.
setup_den() {
  local d=$TMP/den out
  mkdir -p "$d/root"
  DEN_BIN=${DEN_BIN:-$REPO/target/release/den}
  if [ ! -x "$DEN_BIN" ]; then
    DEN_REASON="no den binary at $DEN_BIN (cargo build --release -p den-cli, or set DEN_BIN)"
    return 0
  fi
  if [ -z "${DEN_IMAGE:-}" ]; then
    DEN_IMAGE=$REPO/target/fixtures/busybox.oci
    if [ ! -e "$DEN_IMAGE" ] && [ -f "$REPO/rootfs-fixtures/build.sh" ]; then
      bash "$REPO/rootfs-fixtures/build.sh" "$REPO/target/fixtures" >"$d/fixtures.log" 2>&1 || true
    fi
    # Until the fixture exists: the same busybox rootfs dir the peers import (den takes rootfs dirs).
    [ -e "$DEN_IMAGE" ] || DEN_IMAGE=$ROOTFS
  fi
  # The same cgroup parent as the measures (bench/lib/config.py), so cleanup.sh removes it.
  out=$(DEN_CGROUP_PARENT="$BENCH_NS-den" nsenter --net="/run/netns/$BENCH_NS-den" timeout 60 \
    "$DEN_BIN" --root "$d/root" run --rm \
    --network none "$DEN_IMAGE" sh -c 'echo den-smoke-ok' 2>"$d/smoke.log") || true
  if [[ $out != *den-smoke-ok* ]]; then
    DEN_REASON="den run did not run the container: $(last_line "$d/smoke.log")"
    [[ $DEN_REASON == *": " ]] && DEN_REASON+="no output from sh -c 'echo ...' (den run not implemented yet?)"
    return 0
  fi
  DEN_OK=1
}
