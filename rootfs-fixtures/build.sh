#!/usr/bin/env bash
# Builds den's test images from Debian's busybox-static into OUTDIR (default <repo>/target/fixtures):
#   busybox/      a rootfs directory
#   busybox.oci/  an OCI image layout: one manifest tagged "latest", one gzip layer
#   busybox.tar   a docker-save archive of the same rootfs (RepoTags busybox:latest)
# Deterministic (fixed mtimes, owners and order) and idempotent: skips the build when the stamp
# (a hash of this script and of the busybox binary) says the outputs are up to date.
# Needs only bash, coreutils, GNU tar and gzip (and flock, if present, against parallel runs).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$(dirname "$here")/target/fixtures}
busybox=/bin/busybox
epoch=1704067200 # every mtime: 2024-01-01T00:00:00Z
created=2024-01-01T00:00:00Z
path_env=PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

die() {
	echo "build.sh: $*" >&2
	exit 1
}

# The rootfs needs the static busybox (the dynamic one has no libc to run with).
need_busybox_static() {
	if command -v dpkg-query >/dev/null; then
		[[ $(dpkg-query -W -f='${Status}' busybox-static 2>/dev/null || true) != "install ok installed" ]]
	else
		[[ ! -x $busybox ]]
	fi
}
if need_busybox_static; then
	[[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null ||
		die "$busybox (Debian's busybox-static) is missing; install it: apt-get install busybox-static"
	echo "build.sh: installing busybox-static" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -q busybox-static >&2 ||
		{ apt-get update -q >&2 && apt-get install -y -q busybox-static >&2; } ||
		die "could not install busybox-static"
fi
[[ -x $busybox ]] || die "$busybox is not there even though busybox-static is installed"

mkdir -p "$out"
out=$(cd "$out" && pwd)
if command -v flock >/dev/null; then
	exec 9>"$out/.lock"
	flock 9
fi

stamp=$(cat "${BASH_SOURCE[0]}" "$busybox" | sha256sum | cut -d' ' -f1)
if [[ -f $out/.stamp && $(<"$out/.stamp") == "$stamp" && -d $out/busybox && -d $out/busybox.oci &&
	-f $out/busybox.tar ]]; then
	exit 0
fi

tmp=$(mktemp -d "$out/.build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

# --- the rootfs directory ---
rootfs=$tmp/busybox
mkdir -p "$rootfs"/{bin,etc,proc,sys,dev,tmp,root,var/www}
cp "$busybox" "$rootfs/bin/busybox"
for applet in $("$busybox" --list); do
	[[ $applet == busybox ]] || ln -s busybox "$rootfs/bin/$applet"
done
printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' \
	>"$rootfs/etc/passwd"
printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >"$rootfs/etc/group"
printf 'hello from den\n' >"$rootfs/var/www/index.html"
find "$rootfs" -type d -exec chmod 0755 {} +
find "$rootfs" -type f -exec chmod 0644 {} +
chmod 0755 "$rootfs/bin/busybox"
chmod 1777 "$rootfs/tmp"
chmod 0700 "$rootfs/root"
if [[ $(id -u) -eq 0 ]]; then chown -hR 0:0 "$rootfs"; fi
find "$rootfs" -exec touch -h -d "@$epoch" {} +

# Deterministic tar: sorted, fixed owner and mtime, no atime/ctime.
det_tar() { # det_tar OUTFILE DIR NAME...
	local file=$1 dir=$2
	shift 2
	tar --sort=name --format=gnu --owner=0 --group=0 --numeric-owner --mtime="@$epoch" \
		-C "$dir" -cf "$file" "$@"
}
mapfile -t top < <(cd "$rootfs" && LC_ALL=C ls -A)
det_tar "$tmp/layer.tar" "$rootfs" "${top[@]}"
gzip -n -9 <"$tmp/layer.tar" >"$tmp/layer.tar.gz"

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
diff_id=$(sha "$tmp/layer.tar")
case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
armv7l | armv6l) arch=arm ;;
i?86) arch=386 ;;
*) arch=$(uname -m) ;;
esac

printf '{"created":"%s","architecture":"%s","os":"linux","config":{"Env":["%s"],"Cmd":["sh"]},' \
	"$created" "$arch" "$path_env" >"$tmp/config.json"
printf '"rootfs":{"type":"layers","diff_ids":["sha256:%s"]},' "$diff_id" >>"$tmp/config.json"
printf '"history":[{"created":"%s","created_by":"rootfs-fixtures/build.sh"}]}' "$created" \
	>>"$tmp/config.json"
config_id=$(sha "$tmp/config.json")

# --- the OCI image layout ---
oci=$tmp/busybox.oci
mkdir -p "$oci/blobs/sha256"
printf '{"imageLayoutVersion":"1.0.0"}' >"$oci/oci-layout"
layer_gz=$(sha "$tmp/layer.tar.gz")
cp "$tmp/layer.tar.gz" "$oci/blobs/sha256/$layer_gz"
cp "$tmp/config.json" "$oci/blobs/sha256/$config_id"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",%s%s}' \
	"$(printf '"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},' \
		"$config_id" "$(size "$tmp/config.json")")" \
	"$(printf '"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%s}]' \
		"$layer_gz" "$(size "$tmp/layer.tar.gz")")" \
	>"$tmp/manifest.json"
manifest=$(sha "$tmp/manifest.json")
cp "$tmp/manifest.json" "$oci/blobs/sha256/$manifest"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[%s]}' \
	"$(printf '{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,%s}' \
		"$manifest" "$(size "$tmp/manifest.json")" \
		"$(printf '"platform":{"architecture":"%s","os":"linux"},"annotations":{"org.opencontainers.image.ref.name":"latest"}' "$arch")")" \
	>"$oci/index.json"
find "$oci" -exec touch -h -d "@$epoch" {} +

# --- the docker-save archive ---
save=$tmp/save
mkdir -p "$save/$diff_id"
cp "$tmp/layer.tar" "$save/$diff_id/layer.tar"
printf '1.0' >"$save/$diff_id/VERSION"
cp "$tmp/config.json" "$save/$config_id.json"
printf '[{"Config":"%s.json","RepoTags":["busybox:latest"],"Layers":["%s/layer.tar"]}]' \
	"$config_id" "$diff_id" >"$save/manifest.json"
printf '{"busybox":{"latest":"%s"}}' "$diff_id" >"$save/repositories"
find "$save" -exec touch -h -d "@$epoch" {} +
det_tar "$tmp/busybox.tar" "$save" manifest.json repositories "$config_id.json" "$diff_id"

# --- into place (each output replaced whole), stamp last ---
rm -f "$out/.stamp"
for name in busybox busybox.oci busybox.tar; do
	rm -rf "${out:?}/$name"
	mv "$tmp/$name" "$out/$name"
done
printf '%s\n' "$stamp" >"$out/.stamp"
