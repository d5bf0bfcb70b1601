# shellcheck shell=bash
# A minimal busybox rootfs for the peers (sourced by bench/run.sh), from Debian's busybox-static.
# Used for docker/podman `import`, runc's bundle, and for den when the project's fixture image is missing.

# make_busybox_rootfs DIR: /bin/busybox plus a symlink per applet, /var/www/index.html for httpd.
make_busybox_rootfs() {
  local d=$1 a
  mkdir -p "$d"/{bin,etc,proc,sys,dev,tmp,root,var/www}
  cp /bin/busybox "$d/bin/busybox"
  for a in $(/bin/busybox --list); do
    [ "$a" = busybox ] || ln -sf busybox "$d/bin/$a"
  done
  chmod 1777 "$d/tmp"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$d/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$d/etc/group"
  echo 'hello from the benchmark' >"$d/var/www/index.html"
}
