# shellcheck shell=bash
# Leave nothing behind (sourced by bench/run.sh; run from its EXIT trap). Each step collects its
# failures and the next step runs anyway; bench_verify then reports anything still there.
#
# What this run can have made: the sandbox netns pairs; dockerd + its containerd + shims + containers;
# podman's containers, conmons and netns files; den's run processes and containers; mounts under $TMP
# (overlays, dockerd's bind of its data root, netns binds); cgroups named $BENCH_NS-* (below the bench's
# own cgroup); a few paths the engines create outside their configured dirs (recorded before the run in GLOBALS_BEFORE).

GLOBAL_PATHS=(/etc/docker /run/docker /run/containerd /run/containers /run/libpod /var/lib/containers
  /var/lib/docker /dev/shm/libpod_lock /run/runc /var/lib/cni /etc/cni/net.d)
GLOBALS_BEFORE=()
NEW_EMPTY_DIRS=(/run/mount)  # libmount's utab dir, made by umount: removed if new and empty
CGROUP_EXTRA=(libpod_parent)  # podman's default parent, removed if this run made it
CGROUP_EXTRA_BEFORE=()

cgroup_roots() { awk '$3 == "cgroup" || $3 == "cgroup2" {print $2}' /proc/self/mounts; }

snapshot_globals() {
  local p c
  for p in "${GLOBAL_PATHS[@]}" "${NEW_EMPTY_DIRS[@]}"; do [ -e "$p" ] && GLOBALS_BEFORE+=("$p"); done
  for c in "${CGROUP_EXTRA[@]}"; do [ -e "/sys/fs/cgroup/memory/$c" ] && CGROUP_EXTRA_BEFORE+=("$c"); done
  return 0
}

netns_inodes() {
  local ns
  for ns in "${NETNS_MADE[@]}"; do stat -L -c %i "/run/netns/$ns" 2>/dev/null; done
}

# Processes this run started, found three ways: in one of our sandbox netns (daemons, shims, conmon,
# docker-proxy, den, iperf3), in one of our cgroups (containers), or rooted in an overlay under $TMP.
our_pids() {
  local inodes pid dir ino
  inodes=" $(netns_inodes | tr '\n' ' ') "
  for dir in /proc/[0-9]*; do
    pid=${dir#/proc/}
    [ "$pid" = $$ ] || [ "$pid" = "$BASHPID" ] && continue
    ino=$(stat -L -c %i "$dir/ns/net" 2>/dev/null) || continue
    if [[ $inodes == *" $ino "* ]] || grep -q "/$BENCH_NS-" "$dir/cgroup" 2>/dev/null ||
      awk -v t="$TMP/" '$5 == "/" && index($0, t) {f=1} END {exit !f}' "$dir/mountinfo" 2>/dev/null; then
      echo "$pid"
    fi
  done
}

kill_ours() {
  local pids
  for _ in 1 2 3 4 5; do
    pids=$(our_pids)
    [ -z "$pids" ] && return 0
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null
    sleep 0.3
  done
}

stop_docker() {
  [ -n "${DOCKERD_PID:-}" ] || return 0
  local ids
  if "${DOCKER[@]}" version >/dev/null 2>&1; then
    ids=$("${DOCKER[@]}" ps -aq 2>/dev/null)
    # shellcheck disable=SC2086
    [ -n "$ids" ] && "${DOCKER[@]}" rm -f $ids >/dev/null 2>&1
  fi
  kill -TERM "$DOCKERD_PID" 2>/dev/null
  for _ in $(seq 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.2; done
  kill -KILL "$DOCKERD_PID" 2>/dev/null
  wait "$DOCKERD_PID" 2>/dev/null
  return 0
}

stop_podman() {
  [ -n "${PODMAN_FLAGS:-}" ] || return 0
  local ids keys k
  ids=$("${PODMAN[@]}" ps -aq 2>/dev/null)
  [ -n "$ids" ] || return 0
  # podman's netns files live in /run/netns: note ours, in case podman cannot remove them itself.
  # shellcheck disable=SC2086
  keys=$("${PODMAN[@]}" inspect -f '{{.NetworkSettings.SandboxKey}}' $ids 2>/dev/null)
  "${PODMAN[@]}" rm -f -t 0 -a >/dev/null 2>&1
  for k in $keys; do
    if [[ $k != /run/netns/netns-* ]] || [ ! -e "$k" ]; then continue; fi
    umount "$k" 2>/dev/null
    rm -f "$k"
  done
}

unmount_tmp() {
  local m
  for _ in 1 2 3 4 5; do
    m=$(awk -v t="$TMP/" 'index($2, t) == 1 {print length($2), $2}' /proc/self/mounts | sort -rn |
      cut -d' ' -f2-)
    [ -z "$m" ] && return 0
    while read -r m; do umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null; done <<<"$m"
  done
}

remove_cgroups() {
  local root c keep
  while read -r root; do
    # Every engine's parent is relative: below the bench's own cgroup, maybe a few levels down.
    find "$root" -mindepth 1 -maxdepth 6 -depth -type d -path "*/$BENCH_NS-*" -exec rmdir {} + 2>/dev/null
    for c in "${CGROUP_EXTRA[@]}"; do
      keep=0
      [[ " ${CGROUP_EXTRA_BEFORE[*]} " == *" $c "* ]] && keep=1
      [ $keep = 0 ] && [ -d "$root/$c" ] && find "$root/$c" -depth -type d -exec rmdir {} + 2>/dev/null
    done
  done < <(cgroup_roots)
  return 0
}

remove_new_globals() {
  local p
  for p in "${GLOBAL_PATHS[@]}"; do
    [[ " ${GLOBALS_BEFORE[*]} " == *" $p "* ]] && continue
    [ -e "$p" ] && rm -rf --one-file-system "$p"
  done
  for p in "${NEW_EMPTY_DIRS[@]}"; do
    [[ " ${GLOBALS_BEFORE[*]} " == *" $p "* ]] || rmdir "$p" 2>/dev/null
  done
  return 0
}

bench_cleanup() {
  set +e
  stop_podman
  stop_docker
  kill_ours
  unmount_tmp
  remove_cgroups
  sandbox_delete_all
  if [ -n "${TMP:-}" ] && [ -d "$TMP" ] && ! grep -q " $TMP/" /proc/self/mounts; then
    rm -rf --one-file-system "$TMP"
  fi
  remove_new_globals
  bench_verify
}

# Say what is left, if anything; non-zero if something is.
bench_verify() {
  local left=()
  ip netns list 2>/dev/null | grep -q "^$BENCH_NS" && left+=("netns: $(ip netns list | grep "^$BENCH_NS" | tr '\n' ' ')")
  grep -q " $TMP" /proc/self/mounts && left+=("mounts under $TMP")
  [ -n "$(our_pids)" ] && left+=("processes: $(our_pids | tr '\n' ' ')")
  [ -n "$(cgroup_roots | while read -r r; do find "$r" -maxdepth 6 -type d -name "$BENCH_NS-*"; done)" ] &&
    left+=("cgroups $BENCH_NS-*")
  [ -e "$TMP" ] && left+=("$TMP")
  if [ ${#left[@]} -eq 0 ]; then
    echo "bench: cleanup verified: no netns, mounts, processes, cgroups or files left" >&2
    return 0
  fi
  printf 'bench: LEFT BEHIND: %s\n' "${left[@]}" >&2
  return 1
}
