//! podman 4.3 driving den-runtime (`podman --runtime`): run --rm, run -d, exec, stop, rm, and -t
//! (the console socket), on an image `podman import`ed from the fixture rootfs, `--network none`
//! in the sandbox's netns.
//!
//! podman with cgroupfs puts conmon and the containers below `/libpod_parent` from the root of
//! every hierarchy. To keep them under the test's own cgroup, podman runs in a private cgroup
//! namespace whose root is a cgroup made below the sandbox's parent, with fresh cgroup mounts
//! (v1 controllers; on v2 the unified one) in a private mount namespace.

use std::fs;
use std::path::{Path, PathBuf};

use den_tests::{den_runtime_bin, fixtures, Sandbox};

/// `wrap CGROUP -- CMD...`: into CGROUP (relative to its own) in every hierarchy, then CMD in
/// new cgroup and mount namespaces that see that cgroup as their root.
pub const WRAP: &str = r#"#!/bin/sh
set -eu
rel=$1; shift 2
v2=0; [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ] && v2=1
while IFS=: read -r _ ctrls path; do
  case "$v2:$ctrls" in 1:) base=/sys/fs/cgroup ;; 0:|0:name=*|1:*) continue ;; *) base=/sys/fs/cgroup/$ctrls ;; esac
  [ -d "$base" ] || continue
  cur=$base$path
  for part in $(echo "$rel" | tr / ' '); do
    parent=$cur; cur=$cur/$part
    mkdir -p "$cur"
    if [ -f "$parent/cpuset.cpus" ] && [ -z "$(cat "$cur/cpuset.cpus")" ]; then
      cat "$parent/cpuset.cpus" > "$cur/cpuset.cpus"; cat "$parent/cpuset.mems" > "$cur/cpuset.mems"
    fi
  done
  echo $$ > "$cur/cgroup.procs"
done < /proc/self/cgroup
exec unshare -m -C --propagation private sh -c '
  set -e
  if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
    mount -t cgroup2 cgroup2 /sys/fs/cgroup
  else
    mount -t tmpfs -o mode=755 cgroup_root /sys/fs/cgroup
    for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
      grep -qw "$c" /proc/cgroups || continue
      mkdir /sys/fs/cgroup/$c; mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c
    done
  fi
  exec "$@"' sh "$@"
"#;

struct Podman<'a> {
    sb: &'a Sandbox,
    cmd: String,
    cgroup: String,
}

impl Podman<'_> {
    fn new(sb: &Sandbox) -> Podman<'_> {
        let s = sb.scratch();
        let wrap = s.join("podman-wrap.sh");
        fs::write(&wrap, WRAP).expect("write wrapper");
        let cgroup = format!("{}/podman", den_tests::cgroups::parent(sb.name()));
        let conf = s.join("containers.conf");
        fs::write(&conf, "[containers]\n[engine]\n").expect("write containers.conf");
        let cmd = format!(
            "CONTAINERS_CONF={conf} sh {wrap} {cgroup} -- podman --root {s}/pm-root \
             --runroot {s}/pm-run --tmpdir {s}/pm-tmp --storage-driver vfs \
             --cgroup-manager cgroupfs --events-backend file --runtime {rt} \
             --runtime-flag root={s}/pm-oci",
            conf = conf.display(),
            wrap = wrap.display(),
            s = s.display(),
            rt = den_runtime_bin().display(),
        );
        Podman { sb, cmd, cgroup }
    }

    /// A podman with the fixture rootfs imported as `denfx`; `None` (the test skipped, said on
    /// stderr) where podman or conmon is not installed.
    fn with_fixture(sb: &Sandbox) -> Option<Podman<'_>> {
        if which("podman").is_none() || which("conmon").is_none() {
            eprintln!("SKIP: podman or conmon not installed (scripts/setup.sh installs them)");
            return None;
        }
        let pm = Podman::new(sb);
        let rootfs = fixtures().dir_arg();
        sb.host(&format!("tar -C {rootfs} -c . | {} import - denfx", pm.cmd))
            .ok();
        Some(pm)
    }

    fn run(&self, args: &str) -> den_tests::Output {
        self.sb.host(&format!("{} {args}", self.cmd))
    }

    fn dirs(&self) -> Vec<PathBuf> {
        wrapped_dirs(&self.cgroup)
    }
}

/// The cgroup dirs a [`WRAP`] for cgroup `rel` made, deepest first.
pub fn wrapped_dirs(rel: &str) -> Vec<PathBuf> {
    {
        fn walk(d: &Path, out: &mut Vec<PathBuf>) {
            for e in fs::read_dir(d).into_iter().flatten().flatten() {
                if e.file_type().is_ok_and(|t| t.is_dir()) {
                    walk(&e.path(), out);
                }
            }
            out.push(d.to_path_buf());
        }
        let mut out = Vec::new();
        for own in den_tests::cgroups::own_dirs() {
            let top = own.join(rel);
            if top.exists() {
                walk(&top, &mut out);
            }
        }
        out
    }
}

impl Drop for Podman<'_> {
    fn drop(&mut self) {
        // Best effort on a failed test; the sandbox then kills what is left in its netns.
        let _ = self.run("rm -af -t 0");
        for d in self.dirs() {
            let _ = fs::remove_dir(d);
        }
    }
}

const LIMITS: &str = "--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024";

#[test]
fn podman_runs_execs_stops_and_removes_containers_on_den_runtime() {
    let sb = Sandbox::new();
    let Some(pm) = Podman::with_fixture(&sb) else {
        return;
    };

    let out = pm
        .run(&format!(
            "run --rm {LIMITS} denfx sh -c 'echo hi from $(hostname)'"
        ))
        .ok();
    assert!(out.stdout.starts_with("hi from "), "{out}");

    let script = "trap 'exit 0' TERM; while :; do sleep 0.05; done";
    pm.run(&format!(
        "run -d --name bg {LIMITS} denfx sh -c \"{script}\""
    ))
    .ok();
    let ps = pm.run("ps --format '{{.Names}} {{.Status}}'").ok();
    assert!(ps.stdout.contains("bg Up"), "{ps}");
    let ex = pm
        .run("exec bg sh -c 'echo exec $$; cat /proc/1/cmdline | tr \"\\0\" \" \"'")
        .ok();
    assert!(ex.stdout.contains("exec "), "{ex}");
    assert!(
        ex.stdout.contains("sh -c trap"),
        "exec'd in the container's PID namespace: {ex}"
    );
    let code = pm.run("exec bg sh -c 'exit 3'");
    assert_eq!(code.code(), 3, "{code}");
    pm.run("stop -t 10 bg").ok();
    let ps = pm.run("ps -a --format '{{.Names}} {{.Status}}'").ok();
    assert!(
        ps.stdout.contains("bg Exited (0)"),
        "SIGTERM reached the trap: {ps}"
    );
    pm.run("rm bg").ok();

    let tty = pm
        .run(&format!(
            "run --rm -t {LIMITS} denfx sh -c 'tty && echo tty-ok' < /dev/null"
        ))
        .ok();
    assert!(tty.stdout.contains("tty-ok"), "{tty}");
    assert!(!tty.stdout.contains("not a tty"), "{tty}");

    let ps = pm.run("ps -aq").ok();
    assert_eq!(ps.stdout.trim(), "", "containers left: {ps}");
    let left = fs::read_dir(sb.scratch().join("pm-run"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(left > 0, "podman used its private runroot");
}

#[test]
fn podman_uidmap_runs_the_container_as_the_mapped_root() {
    let sb = Sandbox::new();
    let Some(pm) = Podman::with_fixture(&sb) else {
        return;
    };
    let maps = "--uidmap 0:100000:65536 --gidmap 0:100000:65536";
    let out = pm
        .run(&format!(
            "run --rm {maps} {LIMITS} denfx sh -c 'id -u; cat /proc/self/uid_map'"
        ))
        .ok();
    let words: Vec<&str> = out.stdout.split_whitespace().collect();
    assert_eq!(words, ["0", "0", "100000", "65536"], "{out}");
    pm.run(&format!(
        "run -d --name mapped {maps} {LIMITS} denfx sleep 30"
    ))
    .ok();
    let pid = pm.run("inspect --format '{{.State.Pid}}' mapped").ok();
    let status = fs::read_to_string(format!("/proc/{}/status", pid.stdout.trim()))
        .expect("the container's status");
    let uid = status.lines().find(|l| l.starts_with("Uid:")).unwrap_or("");
    assert_eq!(
        uid.split_whitespace().nth(1),
        Some("100000"),
        "the host sees the mapped uid: {status}"
    );
    pm.run("rm -f -t 0 mapped").ok();
}

pub fn which(cmd: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(cmd))
            .find(|f| f.is_file())
    })
}
