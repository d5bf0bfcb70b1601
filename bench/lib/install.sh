# shellcheck shell=bash
# Install what the benchmark needs from Debian's packages, only what is missing (sourced by bench/run.sh).

# command -> package that provides it
BENCH_NEEDS=(
  "dockerd docker.io" "containerd containerd" "podman podman" "conmon conmon" "runc runc" "crun crun"
  "iperf3 iperf3" "busybox busybox-static" "nsenter util-linux" "ip iproute2" "/usr/bin/time time"
  "python3 python3" "/usr/lib/podman/netavark netavark" "skopeo skopeo" "curl curl"
)

bench_install() {
  local pair cmd pkg missing=()
  for pair in "${BENCH_NEEDS[@]}"; do
    cmd=${pair% *} pkg=${pair#* }
    if [[ $cmd == /* ]]; then [ -x "$cmd" ] && continue; else command -v "$cmd" >/dev/null && continue; fi
    [[ " ${missing[*]} " == *" $pkg "* ]] || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "bench: installing ${missing[*]}" >&2
  # docker.io's postinst would start dockerd in the machine's own network namespace (docker0, iptables
  # rules) wherever services may start: forbid service starts while installing, unless a policy exists.
  local policy=/usr/sbin/policy-rc.d made_policy=""
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod 755 "$policy"
    made_policy=1
  fi
  local rc=0
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >&2 || rc=$?
  [ -n "$made_policy" ] && rm -f "$policy"
  if [ $rc -ne 0 ]; then
    echo "bench: apt-get install ${missing[*]} failed (exit $rc)" >&2
    return $rc
  fi
}
