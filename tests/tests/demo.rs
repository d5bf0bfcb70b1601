//! `den demo`: the seeds' journey in a sandbox it makes and removes itself; it exits 0, prints
//! each step with its commands, and leaves the machine's netns list, mounts and nft tables as
//! they were.

use std::process::Command;

use den_tests::{den_bin, fixtures, mounts_mentioning};

fn demo_netns() -> Vec<String> {
    let out = Command::new("ip")
        .args(["netns", "list"])
        .output()
        .expect("ip netns list");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("den-demo-"))
        .map(String::from)
        .collect()
}

fn root_nft_tables() -> String {
    let out = Command::new("nft")
        .args(["list", "tables"])
        .output()
        .expect("nft list tables");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn demo_replays_the_journey_and_leaves_nothing() {
    let (ns, nft, mounts, cgroups) = (
        demo_netns(),
        root_nft_tables(),
        mounts_mentioning("den-demo-"),
        den_cgroups(),
    );
    let out = Command::new(den_bin())
        .args(["demo", "--image", fixtures().dir_arg()])
        .output()
        .expect("run den demo");
    let text = String::from_utf8_lossy(&out.stdout);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "den demo failed: {}\n{text}\n{err}",
        out.status
    );
    for step in [
        "== --network none",
        "== --network host",
        "== --network bridge",
        "== PID 1 inside, another PID outside",
        "== Two containers on den0",
        "== MASQUERADE",
        "== DNAT",
        "== A real packet",
        "== The picture",
        "== Seed 001's host-only mode",
        "== Seed 001's bridged mode",
        "== Cleaning up",
    ] {
        assert!(text.contains(step), "no step {step:?}\n{text}");
    }
    // The commands are shown, and they did what the words say.
    assert!(text.contains("$ ip netns add den-demo-"), "{text}");
    assert!(
        text.contains("the outside saw: [::ffff:10.250.0.1]")
            || text.contains("the outside saw: 10.250.0.1"),
        "MASQUERADE\n{text}"
    );
    assert!(text.contains("hello from the container"), "DNAT\n{text}");
    assert!(
        text.contains("ct status dnat accept comment \"den: published ports\" -> accept"),
        "trace\n{text}"
    );
    assert!(
        text.contains("ip neigh") && text.contains("lladdr"),
        "ARP entries\n{text}"
    );
    assert_eq!(demo_netns(), ns, "den demo left a netns");
    assert_eq!(
        root_nft_tables(),
        nft,
        "den demo touched the machine's own nft tables"
    );
    assert_eq!(
        mounts_mentioning("den-demo-"),
        mounts,
        "den demo left a mount"
    );
    assert_eq!(den_cgroups(), cgroups, "den demo left cgroup dirs");
}

/// The den-looking cgroup dirs right below this test's own cgroup in each hierarchy.
fn den_cgroups() -> Vec<String> {
    let mut out: Vec<String> = den_tests::cgroups::own_dirs()
        .iter()
        .flat_map(|d| std::fs::read_dir(d).into_iter().flatten().flatten())
        .map(|e| e.path().display().to_string())
        .filter(|p| p.rsplit('/').next().is_some_and(|n| n.starts_with("den")))
        .collect();
    out.sort();
    out
}
