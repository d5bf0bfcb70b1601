//! Issue 4, crash safety: `den run` SIGKILLed at each step of its setup (the `DEN_FAULT` test
//! hook), then `den gc` leaves the sandbox exactly as it was: no veth, nft element, lease, state
//! dir, name, mount or process of the dead run. Also: a dead lock holder blocks nobody, the next
//! `den run` and `den ps` collect by themselves, and gc touches nothing that is still owned.

use std::fs;
use std::time::{Duration, Instant};

use den_tests::{den_bin, fixtures, procs, wait_until, Footprint, Output, Sandbox};

/// The setup steps `den run` can be killed after, in order.
const POINTS: [&str; 6] = [
    "after-state",
    "after-clone",
    "after-lease",
    "after-veth",
    "after-firewall",
    "after-start",
];

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// The state of a sandbox after one successful bridge run with a published port: den0, den's
/// table and the lease file exist (they are shared infrastructure, kept by design).
fn warmed_up() -> (Sandbox, Footprint) {
    let sb = Sandbox::new();
    sb.den(&["run", "--rm", "-p", "8080:80", img(), "true"])
        .ok();
    let before = sb.footprint();
    (sb, before)
}

/// `DEN_FAULT=POINT den run --name NAME [ARGS] -p 8080:80 IMG sleep 30`: den kills itself at
/// POINT. Returns the run's output (exit 137).
fn run_killed_at(sb: &Sandbox, point: &str, name: &str, args: &str) -> Output {
    let script = format!(
        "DEN_FAULT={point} exec {den} --root {root} run --name {name} {args} -p 8080:80 {img} sleep 30",
        den = den_bin().display(),
        root = sb.root().display(),
        img = img(),
    );
    sb.host(&script).expect_code(137)
}

fn container_dirs(sb: &Sandbox) -> Vec<String> {
    fs::read_dir(sb.root().join("containers"))
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn published_map(sb: &Sandbox) -> String {
    sb.host("nft list map ip den published").ok().stdout
}

/// Proves the run left something (so the test can fail), without running `den ps` (which
/// would collect). Returns the container id.
fn assert_left_behind(sb: &Sandbox, point: &str) -> String {
    let dirs = container_dirs(sb);
    assert_eq!(
        dirs.len(),
        1,
        "{point}: expected one container dir: {dirs:?}"
    );
    let id = dirs[0].clone();
    let link = fs::symlink_metadata(sb.root().join("names/x"));
    assert!(link.is_ok(), "{point}: no name link");
    let at = POINTS.iter().position(|p| *p == point).unwrap();
    let leases = fs::read_to_string(sb.leases_path()).unwrap_or_default();
    assert_eq!(
        leases.contains(&id),
        at >= 2,
        "{point}: lease of {id}:\n{leases}"
    );
    let map = published_map(sb);
    assert_eq!(
        map.contains(&id[..12]),
        at >= 4,
        "{point}: element of {id}:\n{map}"
    );
    id
}

/// `den gc`, then a second one that must find nothing left.
fn gc(sb: &Sandbox) -> String {
    let first = sb.den(&["gc"]).ok();
    let again = sb.den(&["gc"]).ok();
    assert_eq!(again.out(), "", "a second den gc still found work\n{again}");
    first.stdout
}

fn assert_no_processes(sb: &Sandbox, context: &str) {
    wait_until(Duration::from_secs(10), context, || sb.members().is_empty());
}

fn killed_at_then_gc(point: &str) {
    let (sb, before) = warmed_up();
    run_killed_at(&sb, point, "x", "");
    let id = assert_left_behind(&sb, point);
    let out = gc(&sb);
    assert!(
        out.contains(&id[..12]),
        "{point}: den gc names nothing of {id}:\n{out}"
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
    killed_at_then_gc("after-state");
}

#[test]
fn killed_after_clone() {
    killed_at_then_gc("after-clone");
}

#[test]
fn killed_after_lease() {
    killed_at_then_gc("after-lease");
}

#[test]
fn killed_after_veth() {
    killed_at_then_gc("after-veth");
}

#[test]
fn killed_after_firewall() {
    killed_at_then_gc("after-firewall");
}

#[test]
fn killed_after_start() {
    killed_at_then_gc("after-start");
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

/// gc removes what dead runs left and nothing else: a running container (its den run alive),
/// a veth not named by den on den0, a den-named veth on no bridge, and a den-named veth on den0
/// whose owner is no container of this state root (another root's) all stay.
#[test]
fn gc_leaves_live_containers_and_foreign_objects_alone() {
    let (sb, _) = warmed_up();
    let keep = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        "keep",
        "-p",
        "9090:80",
        img(),
        "sleep",
        "60",
    ]);
    let info = sb.wait_running(&keep, "keep");
    let veth = info.host_veth().expect("keep has a host veth");
    sb.host(
        "ip link add vethforeign type veth peer name vethforeign2 && ip link set vethforeign master den0 \
         && ip link add veth0123456789a type veth peer name veth0123456789b \
         && ip link add vethdeadbeef000 type veth peer name vethdeadbeef001 \
         && ip link set vethdeadbeef000 master den0",
    )
    .ok();
    run_killed_at(&sb, "after-firewall", "x", "");
    let links_before = sb.host("ip -o link").ok().stdout;
    let out = gc(&sb);
    assert!(out.contains("removed container x"), "{out}");
    assert!(
        !out.contains("keep"),
        "gc touched the live container:\n{out}"
    );
    let links = sb.host("ip -o link").ok().stdout;
    for name in [
        veth.as_str(),
        "vethforeign",
        "veth0123456789a",
        "vethdeadbeef000",
    ] {
        assert!(
            links.contains(name),
            "{name} is gone:\n{links}\nbefore gc:\n{links_before}"
        );
    }
    let info = sb.inspect("keep");
    assert_eq!(info.status().as_deref(), Some("running"));
    assert!(
        published_map(&sb).contains("9090"),
        "keep's element is gone"
    );
    let id = info.id().unwrap();
    let leases = fs::read_to_string(sb.leases_path()).unwrap();
    assert!(leases.contains(&id), "keep's lease is gone:\n{leases}");
    assert!(
        procs::ProcId::of(info.pid().unwrap() as i32).is_some(),
        "keep's process is gone"
    );
    sb.host("ip link del vethforeign && ip link del veth0123456789a")
        .ok();
}

/// A dead container's netns kept alive by another process (as a `container:` peer or an
/// `nsenter` would): its veth outlives the container, and gc removes it by its name.
#[test]
fn a_veth_outliving_its_container_is_removed() {
    let (sb, before) = warmed_up();
    run_killed_at(&sb, "after-start", "x", "--rm");
    let info = sb.inspect("x");
    let (pid, veth) = (info.pid().unwrap(), info.host_veth().unwrap());
    let holder = sb.host_spawn(&format!("exec nsenter --net=/proc/{pid}/ns/net sleep 60"));
    wait_until(
        Duration::from_secs(10),
        "the holder to enter the netns",
        || {
            procs::ProcId::of(holder.pid() as i32).is_some_and(|p| {
                procs::ns_inode(std::path::Path::new(&format!("/proc/{}/ns/net", p.pid)))
                    == procs::ns_inode(std::path::Path::new(&format!("/proc/{pid}/ns/net")))
            })
        },
    );
    let out = gc(&sb);
    assert!(
        out.contains(&format!("removed veth {veth} on den0")),
        "{out}"
    );
    holder.signal(den_tests::SIGKILL);
    holder.wait(Duration::from_secs(10));
    assert_no_processes(&sb, "the container and the holder to be gone");
    sb.assert_footprint(&before, "veth outliving its container, then den gc");
}

/// What a den run killed between reserving the name and writing its record leaves: a name and a
/// dir without `state.json`. gc removes them once they are older than a live run could be, and
/// leaves young ones (a run in that step right now) alone.
#[test]
fn debris_of_a_run_killed_before_its_record_is_removed_once_old() {
    let (sb, before) = warmed_up();
    let root = sb.root().display().to_string();
    let id = "0b".repeat(32);
    let young = "0c".repeat(32);
    sb.host(&format!(
        "mkdir -p {root}/containers/{id}/upper {root}/containers/{young}/upper \
         && ln -s {id} {root}/names/old && ln -s {young} {root}/names/young \
         && ln -s {gone} {root}/names/gone \
         && touch -d '-1 hour' {root}/containers/{id} && touch -h -d '-1 hour' {root}/names/old {root}/names/gone",
        gone = "0d".repeat(32)
    ))
    .ok();
    let out = sb.den(&["gc"]).ok().stdout;
    for removed in [
        format!("containers/{id}"),
        "names/old".into(),
        "names/gone".into(),
    ] {
        assert!(out.contains(&removed), "{removed} not removed:\n{out}");
    }
    assert!(
        !out.contains(&young) && !out.contains("names/young"),
        "{out}"
    );
    sb.host(&format!(
        "rm -r {root}/containers/{young} {root}/names/young"
    ))
    .ok();
    sb.assert_footprint(&before, "debris removed");
}
