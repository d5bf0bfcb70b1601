//! gc removes exactly what has no live owner, and nothing else.

use std::fs;
use std::time::Duration;

use den_tests::{procs, wait_until};

use crate::support::{assert_no_processes, gc, img, published_map, run_killed_at, warmed_up};

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
    let leases = sb.leases("bridge");
    assert!(
        leases.values().any(|o| *o == id),
        "keep's lease is gone:\n{leases:?}"
    );
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

/// `kill -9` of a detached container's supervisor: its lifetime holder is gone, so the next
/// `den ps` ends the container (SIGKILL, Exited (137)) and removes its network objects.
#[test]
fn a_container_whose_supervisor_was_killed_is_ended_by_the_next_ps() {
    let (sb, before) = warmed_up();
    let id = sb
        .den(&[
            "run",
            "-d",
            "--name",
            "w",
            "-p",
            "8080:80",
            img(),
            "sleep",
            "60",
        ])
        .ok()
        .out()
        .to_string();
    let state = fs::read_to_string(sb.root().join(format!("containers/{id}/state.json"))).unwrap();
    let record: serde_json::Value = serde_json::from_str(&state).unwrap();
    let supervisor = record["supervisor"][0].as_u64().expect("a supervisor pid") as u32;
    let pid = sb.inspect("w").pid().unwrap();
    sb.kill_member(supervisor, den_tests::SIGKILL);
    wait_until(Duration::from_secs(10), "the supervisor to be gone", || {
        !sb.members().iter().any(|p| p.pid == supervisor as i32)
    });
    assert!(
        sb.members().iter().any(|p| p.pid == pid as i32),
        "the container died with its supervisor: nothing left to test"
    );
    let ps = sb.den(&["ps", "-a"]).ok();
    assert!(ps.stdout.contains("Exited (137)"), "{ps}");
    assert!(!published_map(&sb).contains("8080"), "the element stayed");
    assert_no_processes(&sb, "the container to be gone");
    sb.den(&["rm", "w"]).ok();
    sb.assert_footprint(&before, "supervisor killed, then den ps and den rm");
}
