//! Crash safety: `den run` SIGKILLed at each step of its setup (the `DEN_FAULT` test hook), then
//! `den gc` leaves the sandbox exactly as it was: no veth, nft element, lease, state dir, name,
//! mount or process of the dead run. Also: a `den network create` killed half-way, a dead lock
//! holder blocks nobody, the next `den run` and `den ps` collect by themselves, and gc touches
//! nothing that is still owned.

mod ownership;
mod support;

use std::time::{Duration, Instant};

use den_tests::den_bin;
use support::{
    assert_left_behind, assert_no_processes, gc, img, published_map, reserved_ports, run_killed_at,
    warmed_up,
};

fn killed_at_then_gc(point: &str, detached: bool) {
    let (sb, before) = warmed_up();
    run_killed_at(&sb, point, "x", if detached { "-d" } else { "" });
    let id = assert_left_behind(&sb, point);
    let out = gc(&sb);
    assert!(
        out.contains(&id[..12]),
        "{point}: den gc names nothing of {id}:\n{out}"
    );
    assert!(
        !reserved_ports(&sb).contains(&id),
        "{point}: the host port stayed reserved"
    );
    if point == "after-start" {
        assert!(out.contains("killed container x"), "{point}:\n{out}");
        // It ran: kept as Exited (137) like any container that ended, until `den rm`.
        let info = sb.inspect("x");
        assert_eq!(info.status().as_deref(), Some("exited"), "{:#}", info.0);
        assert_eq!(info.exit_code(), Some(137), "{:#}", info.0);
        assert_no_processes(&sb, "the container to be gone");
        sb.den(&["rm", "x"]).ok();
    } else {
        assert!(out.contains("removed container x"), "{point}:\n{out}");
    }
    assert_no_processes(
        &sb,
        &format!("{point}: the container's processes to be gone"),
    );
    sb.assert_footprint(&before, &format!("den killed {point}, then den gc"));
}

#[test]
fn killed_after_state() {
    killed_at_then_gc("after-state", false);
}

#[test]
fn supervisor_killed_after_state() {
    killed_at_then_gc("after-state", true);
}

#[test]
fn killed_after_clone() {
    killed_at_then_gc("after-clone", false);
}

#[test]
fn supervisor_killed_after_clone() {
    killed_at_then_gc("after-clone", true);
}

#[test]
fn killed_after_lease() {
    killed_at_then_gc("after-lease", false);
}

#[test]
fn supervisor_killed_after_lease() {
    killed_at_then_gc("after-lease", true);
}

#[test]
fn killed_after_veth() {
    killed_at_then_gc("after-veth", false);
}

#[test]
fn supervisor_killed_after_veth() {
    killed_at_then_gc("after-veth", true);
}

#[test]
fn killed_after_firewall() {
    killed_at_then_gc("after-firewall", false);
}

#[test]
fn supervisor_killed_after_firewall() {
    killed_at_then_gc("after-firewall", true);
}

#[test]
fn killed_after_start() {
    killed_at_then_gc("after-start", false);
}

#[test]
fn supervisor_killed_after_start() {
    killed_at_then_gc("after-start", true);
}

#[test]
fn an_rm_container_killed_after_start_is_removed() {
    let (sb, before) = warmed_up();
    run_killed_at(&sb, "after-start", "x", "--rm");
    let pid = sb.inspect("x").pid().expect("the container runs on");
    assert!(
        sb.members().iter().any(|p| p.pid == pid as i32),
        "the container died with den"
    );
    let out = gc(&sb);
    assert!(out.contains("killed container x"), "{out}");
    assert!(out.contains("removed container x"), "{out}");
    assert!(out.contains("removed nft element"), "{out}");
    assert!(out.contains("released lease"), "{out}");
    assert_no_processes(&sb, "the container to be gone");
    sb.assert_footprint(&before, "--rm container killed after start, then den gc");
}

/// den killed while holding the network lock (after-lease and after-firewall are under it):
/// the next `den run` neither waits for the dead holder nor finds the name or port taken,
/// because it collects first.
#[test]
fn the_next_run_is_not_blocked_by_a_dead_lock_holder() {
    let (sb, before) = warmed_up();
    for point in ["after-lease", "after-firewall"] {
        run_killed_at(&sb, point, "x", "");
        let started = Instant::now();
        sb.den(&["run", "--rm", "--name", "x", "-p", "8080:80", img(), "true"])
            .ok();
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{point}: den run took {:?}",
            started.elapsed()
        );
        assert_no_processes(&sb, "the containers to be gone");
        sb.assert_footprint(&before, &format!("killed {point}, then den run"));
    }
}

#[test]
fn den_ps_collects_a_container_whose_den_run_died() {
    let (sb, _) = warmed_up();
    run_killed_at(&sb, "after-start", "x", "");
    let ps = sb.den(&["ps"]).ok();
    assert!(
        !ps.stdout.contains(" x "),
        "den ps lists x as running\n{ps}"
    );
    let all = sb.den(&["ps", "-a"]).ok();
    assert!(all.stdout.contains("Exited (137)"), "{all}");
    assert_no_processes(&sb, "the container to be gone");
    assert!(!published_map(&sb).contains("8080"), "the element stayed");
}

/// `den network create` killed after making the network's directory and before `network.json`
/// exists: `network rm` cannot find it; `den gc` removes the directory, and the name is free again.
#[test]
fn a_network_create_killed_half_way_is_collected() {
    let (sb, before) = warmed_up();
    let script = format!(
        "DEN_FAULT=network-before-rename exec {den} --root {root} network create half",
        den = den_bin().display(),
        root = sb.root().display(),
    );
    sb.host(&script).expect_code(137);
    let dir = sb.root().join("networks/half");
    assert!(
        dir.is_dir(),
        "the killed create left no directory to collect"
    );
    assert!(!dir.join("network.json").exists());
    let out = gc(&sb);
    assert!(out.contains("removed half-created network"), "{out}");
    assert!(!dir.exists(), "gc left {}", dir.display());
    sb.assert_footprint(&before, "network create killed half-way, then den gc");
    sb.den(&["network", "create", "half"]).ok();
    sb.den(&["network", "rm", "half"]).ok();
}
