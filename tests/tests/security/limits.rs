//! Resource limits through the container's cgroup: memory (OOM kill: 137 and OOMKilled),
//! pids, CPU quota; the cgroup goes at teardown, and `den gc` removes the one a killed den left.

use std::fs;
use std::path::PathBuf;
use std::thread::sleep;
use std::time::{Duration, Instant};

use den_tests::{cgroups, Sandbox, SIGKILL};

use super::{img, run_sh};

/// The container's cgroup dir in the hierarchy whose mount name is `controller`.
fn cgroup_dir(sb: &Sandbox, controller: &str, id: &str) -> PathBuf {
    cgroups::parent_dirs(sb.name())
        .into_iter()
        .find(|d| d.starts_with(format!("/sys/fs/cgroup/{controller}")))
        .unwrap_or_else(|| panic!("no {controller} hierarchy"))
        .join(format!("den-{id}"))
}

#[test]
fn a_memory_hog_is_oom_killed_with_137_and_oomkilled() {
    let sb = Sandbox::new();
    run_sh(&sb, &[], img(), "true").ok();
    let before = sb.footprint();
    let out = sb.den(&[
        "run",
        "--network",
        "none",
        "--name",
        "hog",
        "--memory",
        "32m",
        img(),
        "sh",
        "-c",
        "tail /dev/zero",
    ]);
    assert_eq!(out.code(), 137, "{out}");
    let info = sb.inspect("hog");
    assert_eq!(
        info.get(&["State", "OOMKilled"]).and_then(|v| v.as_bool()),
        Some(true),
        "{:#}",
        info.0
    );
    assert_eq!(
        info.get(&["HostConfig", "Memory"]).and_then(|v| v.as_i64()),
        Some(32 << 20)
    );
    sb.den(&["rm", "hog"]).ok();
    sb.assert_footprint(&before, "an OOM-killed container");
}

#[test]
fn forks_fail_past_the_pids_limit() {
    let sb = Sandbox::new();
    let script = "for i in $(seq 30); do sleep 2 & done; echo all-forked";
    let out = run_sh(&sb, &["--pids-limit", "20"], img(), script);
    assert!(
        !out.stdout.contains("all-forked") && out.stderr.contains("can't fork"),
        "30 forks under --pids-limit 20\n{out}"
    );
    let out = run_sh(
        &sb,
        &["--pids-limit", "20"],
        img(),
        "for i in $(seq 10); do sleep 1 & done; echo ok",
    );
    assert!(out.stdout.contains("ok"), "10 forks failed under 20\n{out}");
}

#[test]
fn cpus_half_gets_at_most_sixty_percent_of_a_cpu() {
    let sb = Sandbox::new();
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "busy",
        "--cpus",
        "0.5",
        img(),
        "sh",
        "-c",
        "while :; do :; done",
    ]);
    let id = sb.wait_running(&den, "busy").id().expect("id");
    let usage = cgroup_dir(&sb, "cpuacct", &id).join("cpuacct.usage");
    let read = || -> u64 { fs::read_to_string(&usage).unwrap().trim().parse().unwrap() };
    sleep(Duration::from_millis(300));
    let (t0, u0) = (Instant::now(), read());
    sleep(Duration::from_secs(2));
    let (wall, used) = (t0.elapsed().as_secs_f64(), (read() - u0) as f64 / 1e9);
    sb.den(&["rm", "-f", "busy"]).ok();
    assert!(used / wall <= 0.6, "{used:.2} s of CPU in {wall:.2} s");
    assert!(
        used / wall >= 0.2,
        "the loop hardly ran: {used:.2} s in {wall:.2} s"
    );
}

#[test]
fn gc_removes_the_cgroup_of_a_container_whose_den_was_killed() {
    let sb = Sandbox::new();
    // gc's lock file, the image store and the seccomp cache are made on first use: warm them up.
    sb.den(&["gc"]).ok();
    run_sh(&sb, &[], img(), "true").ok();
    let before = sb.footprint();
    let den = sb.den_spawn(&[
        "run",
        "--network",
        "none",
        "--name",
        "k",
        img(),
        "sleep",
        "60",
    ]);
    let id = sb.wait_running(&den, "k").id().expect("id");
    let dir = cgroup_dir(&sb, "memory", &id);
    assert!(dir.exists(), "{} missing", dir.display());
    den.signal(SIGKILL);
    den.wait(Duration::from_secs(10));
    assert!(dir.exists(), "the cgroup went with den");
    let out = sb.den(&["gc"]).ok();
    assert!(out.stdout.contains("removed cgroup"), "{out}");
    assert!(!dir.exists(), "{} still there", dir.display());
    sb.den(&["rm", "k"]).ok();
    sb.assert_footprint(&before, "den killed, then den gc");
}

#[test]
fn pid_1_runs_in_its_own_cgroup_in_every_hierarchy_den_uses() {
    let sb = Sandbox::new();
    // The container's PID 1 moves itself in before it reports Ready (v1: "0" to `tasks`), so the
    // shell, exec'd after, finds itself there at once.
    let out = run_sh(&sb, &[], img(), "hostname; cat /proc/1/cgroup").ok();
    let mut lines = out.stdout.lines();
    let host = lines.next().expect("hostname").trim().to_string();
    let own = format!("/{}/den-{host}", cgroups::parent(sb.name()));
    // `N:CONTROLLERS:PATH`: the v1 hierarchies den puts containers in, or the unified one alone.
    const V1: [&str; 7] = [
        "memory", "pids", "cpu", "cpuacct", "cpuset", "devices", "blkio",
    ];
    let entries: Vec<(&str, &str)> = lines
        .filter_map(|l| l.split_once(':').and_then(|(_, r)| r.split_once(':')))
        .collect();
    let v1: Vec<_> = entries
        .iter()
        .filter(|(c, _)| c.split(',').any(|c| V1.contains(&c)))
        .collect();
    let used: Vec<_> = match v1.is_empty() {
        true => entries.iter().filter(|(c, _)| c.is_empty()).collect(),
        false => v1,
    };
    assert!(!used.is_empty(), "no cgroup lines\n{out}");
    for (controllers, path) in used {
        assert!(
            path.contains(&own),
            "{controllers}: PID 1 in {path}, not in {own}*\n{out}"
        );
    }
}
