#!/usr/bin/env bash
# Install what den needs on Debian 12 (as root), build den and the fixture images.
# --packages-only: just the Debian packages (what CI needs before `bash tests/run.sh`, which builds).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(iproute2 nftables libnftables-dev busybox-static util-linux curl gcc libc6-dev pkg-config
  libseccomp-dev python3-jsonschema librsvg2-bin containernetworking-plugins iptables podman runc
  skopeo openssl apache2-utils tini conmon containerd crun)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # No service may start from an install (containerd's package would start containerd in the
  # machine's own namespaces): policy-rc.d answers "not allowed" while apt runs. Tests start
  # their own daemons inside sandbox namespaces.
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    made_policy=1
  fi
  apt-get install -y -qq "${missing[@]}" >/dev/null
  if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
# The registry of the pull tests: unpacked into target/, NEVER installed (its package would start
# a service on :5000 in the machine's own namespace). Tests run it inside their sandbox netns.
if [ ! -x target/registry/usr/bin/docker-registry ]; then
  mkdir -p target/registry
  (cd target/registry &&
    { apt-get download docker-registry >/dev/null 2>&1 || { apt-get update -qq && apt-get download docker-registry >/dev/null; }; } &&
    dpkg-deb -x docker-registry_*.deb . && rm -f docker-registry_*.deb)
fi
[ "${1:-}" = --packages-only ] && exit 0
command -v cargo >/dev/null || { echo "setup: cargo not found (install Rust with rustup)" >&2; exit 1; }
cargo build --release -p den-cli
bash rootfs-fixtures/build.sh target/fixtures
