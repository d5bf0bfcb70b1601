//! The spec's `cgroup` mount at /sys/fs/cgroup shows the container its own cgroup (its limits,
//! its tasks) and no other, with a cgroup namespace (whose root it is) and without one.

use den_tests::Sandbox;
use serde_json::json;

const LIMIT: u64 = 64 << 20;

fn report(sb: &Sandbox, name: &str, cgroupns: bool) -> String {
    let memory = "/sys/fs/cgroup/memory";
    let script = format!(
        "echo limit=$(cat {memory}/memory.limit_in_bytes); \
         echo subdirs=$(find {memory}/ -mindepth 1 -type d | wc -l); \
         echo tasks=$(tr '\\n' ' ' < {memory}/tasks); \
         echo hierarchies=$(ls /sys/fs/cgroup | wc -l); \
         echo self=$(grep ':memory:' /proc/self/cgroup | cut -d: -f3)"
    );
    let mut b = sb.oci_bundle(name, &["sh", "-c", &script]);
    let mut namespaces = vec![json!({"type": "mount"})];
    namespaces.extend(["pid", "network", "ipc", "uts"].map(|t| json!({"type": t})));
    if cgroupns {
        namespaces.push(json!({"type": "cgroup"}));
    }
    b.set("/linux/namespaces", json!(namespaces))
        .set("/linux/resources/memory", json!({"limit": LIMIT}));
    b.save();
    sb.oci(&["run", "--bundle", b.arg(), name]).ok().stdout
}

fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in\n{out}"))
}

#[test]
fn the_cgroup_mount_shows_the_containers_own_cgroup_only() {
    if !std::path::Path::new("/sys/fs/cgroup/memory").is_dir() {
        eprintln!(
            "SKIP: no v1 memory hierarchy on this host (the v2 mount is checked by podman's runs)"
        );
        return;
    }
    let sb = Sandbox::new();
    let host = std::fs::read_dir("/sys/fs/cgroup").expect("ls").count();
    for (name, cgroupns) in [("cgns", true), ("nocgns", false)] {
        let o = report(&sb, name, cgroupns);
        assert_eq!(field(&o, "limit"), LIMIT.to_string(), "{name}: {o}");
        assert_eq!(
            field(&o, "subdirs"),
            "0",
            "{name}: no sibling or parent: {o}"
        );
        let tasks: Vec<&str> = field(&o, "tasks").split_whitespace().collect();
        assert!(tasks.contains(&"1"), "{name}: its PID 1 is in it: {o}");
        assert_eq!(field(&o, "hierarchies"), host.to_string(), "{name}: {o}");
        let own = field(&o, "self");
        match cgroupns {
            true => assert_eq!(own, "/", "{name}: the root of its cgroup namespace: {o}"),
            false => assert!(own.ends_with(&format!("/{name}")), "{name}: {o}"),
        }
    }
}

#[test]
fn exec_joins_the_containers_cgroup_namespace() {
    if !std::path::Path::new("/sys/fs/cgroup/memory").is_dir() {
        eprintln!("SKIP: no v1 memory hierarchy on this host");
        return;
    }
    let sb = Sandbox::new();
    let mut b = sb.oci_bundle("cgexec", &["sleep", "30"]);
    let mut namespaces = vec![json!({"type": "mount"})];
    namespaces.extend(["pid", "network", "ipc", "uts", "cgroup"].map(|t| json!({"type": t})));
    b.set("/linux/namespaces", json!(namespaces));
    b.save();
    let _shim = sb.oci_create(&b, "cgexec");
    assert_eq!(
        super::created(&sb, "cgexec"),
        0,
        "{:?}",
        sb.oci_status("cgexec")
    );
    sb.oci(&["start", "cgexec"]).ok();
    super::wait_status(&sb, "cgexec", "running");
    let ex = sb
        .oci(&[
            "exec",
            "cgexec",
            "sh",
            "-c",
            "grep ':memory:' /proc/self/cgroup | cut -d: -f3",
        ])
        .ok();
    assert_eq!(
        ex.stdout.trim(),
        "/",
        "the exec'd process sees the container's root: {ex}"
    );
    sb.oci(&["delete", "--force", "cgexec"]).ok();
}
