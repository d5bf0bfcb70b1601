//! containerd 1.6 with its runc shim running den-runtime as the runc binary (`ctr run
//! --runc-binary`): run --rm, run -d, task exec, pause/resume, kill, delete, on the fixture
//! image `ctr images import`ed. containerd has its own root, state and sockets in the sandbox
//! (the shim's socket is in /run/containerd/s, where containerd 1.6 always puts it, removed when
//! the shim exits), and runs in the cgroup-namespace wrapper of the podman test.

use std::fs;
use std::time::Duration;

use den_tests::{den_runtime_bin, fixtures, wait_until, Sandbox};

use crate::podman::{which, wrapped_dirs, WRAP};

struct Containerd<'a> {
    sb: &'a Sandbox,
    ctr: String,
    cgroup: String,
}

impl Containerd<'_> {
    fn ctr(&self, args: &str) -> den_tests::Output {
        self.sb.host(&format!("{} {args}", self.ctr))
    }

    fn task_status(&self, id: &str) -> String {
        let out = self.ctr("task ls").ok();
        out.stdout
            .lines()
            .find_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                (f.first() == Some(&id)).then(|| f.last().copied().unwrap_or_default().to_owned())
            })
            .unwrap_or_default()
    }
}

impl Drop for Containerd<'_> {
    fn drop(&mut self) {
        // Best effort on a failed test: the sandbox kills containerd, its shims and containers.
        let _ = self.ctr("task kill -a -s SIGKILL bg");
        for d in wrapped_dirs(&self.cgroup) {
            let _ = fs::remove_dir(d);
        }
    }
}

#[test]
fn containerd_runs_execs_pauses_and_kills_tasks_on_den_runtime() {
    if ["containerd", "ctr", "containerd-shim-runc-v2"]
        .iter()
        .any(|c| which(c).is_none())
    {
        eprintln!("SKIP: containerd not installed (scripts/setup.sh installs it)");
        return;
    }
    let sb = Sandbox::new();
    let dir = sb.scratch().join("ct");
    fs::create_dir(&dir).expect("mkdir");
    let d = dir.display();
    let config = format!(
        "version = 2\nroot = \"{d}/root\"\nstate = \"{d}/state\"\n\
         disabled_plugins = [\"io.containerd.grpc.v1.cri\", \"io.containerd.internal.v1.tracing\", \
         \"io.containerd.snapshotter.v1.btrfs\", \"io.containerd.snapshotter.v1.zfs\", \
         \"io.containerd.snapshotter.v1.devmapper\", \"io.containerd.snapshotter.v1.aufs\"]\n\
         [grpc]\n  address = \"{d}/c.sock\"\n[ttrpc]\n  address = \"{d}/t.sock\"\n\
         [debug]\n  address = \"\"\n[plugins.\"io.containerd.internal.v1.opt\"]\n  path = \"{d}/opt\"\n"
    );
    fs::write(dir.join("config.toml"), config).expect("write config");
    fs::write(dir.join("wrap.sh"), WRAP).expect("write wrapper");
    let cgroup = format!("{}/containerd", den_tests::cgroups::parent(sb.name()));
    let daemon = sb.host_spawn(&format!(
        "exec sh {d}/wrap.sh {cgroup} -- containerd --config {d}/config.toml"
    ));
    let ct = Containerd {
        sb: &sb,
        ctr: format!("ctr --address {d}/c.sock"),
        cgroup,
    };
    wait_until(Duration::from_secs(20), "containerd's socket", || {
        dir.join("c.sock").exists() || daemon.try_exit().is_some()
    });
    assert!(
        daemon.try_exit().is_none(),
        "containerd exited: {}",
        daemon.stderr()
    );
    ct.ctr(&format!(
        "images import --index-name denfx {}",
        fixtures().tar_arg()
    ))
    .ok();
    let run = format!(
        "run --runc-binary {} --runc-root {d}/runc",
        den_runtime_bin().display()
    );

    let out = ct
        .ctr(&format!(
            "{run} --rm --cgroup den-ct1 denfx c1 sh -c 'echo hi; exit 0'"
        ))
        .ok();
    assert_eq!(out.stdout.trim(), "hi", "{out}");

    let script = "trap 'exit 5' TERM; while :; do sleep 0.05; done";
    ct.ctr(&format!(
        "{run} -d --cgroup den-ct2 denfx bg sh -c \"{script}\""
    ))
    .ok();
    assert_eq!(ct.task_status("bg"), "RUNNING");
    let ex = ct.ctr("task exec --exec-id e1 bg sh -c 'echo in; exit 3'");
    assert_eq!(ex.code(), 3, "{ex}");
    assert_eq!(ex.stdout.trim(), "in");
    ct.ctr("task pause bg").ok();
    assert_eq!(ct.task_status("bg"), "PAUSED");
    ct.ctr("task resume bg").ok();
    assert_eq!(ct.task_status("bg"), "RUNNING");
    ct.ctr("task kill bg").ok();
    wait_until(Duration::from_secs(20), "bg to stop", || {
        ct.task_status("bg") == "STOPPED"
    });
    ct.ctr("task delete bg").ok();
    ct.ctr("container delete bg").ok();
    let left = ct.ctr("container ls -q").ok();
    assert_eq!(left.stdout.trim(), "", "{left}");
    let states = fs::read_dir(dir.join("runc/default"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(states, 0, "den-runtime state left under --runc-root");
}
