//! A user namespace from `linux.uidMappings`/`gidMappings`: root inside is the mapped host id
//! outside (a file it makes in a bind mount belongs to that id on the host), with its own network
//! namespace or one joined by path; `exec` enters it too; bad maps are refused in one line.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use den_tests::{OciBundle, Sandbox, HOST_IF};
use serde_json::{json, Value};

const HOST_ID: u32 = 100_000;

fn maps() -> Value {
    json!([{"containerID": 0, "hostID": HOST_ID, "size": 65536}])
}

/// The mapped root reaches the bundle's rootfs and `shared` through the sandbox's dirs, and
/// owns the rootfs.
fn open_up(sb: &Sandbox, shared: &Path) {
    fs::create_dir_all(shared).expect("mkdir shared");
    let top = sb.scratch().parent().expect("the sandbox's dir");
    let mut dir = Some(shared);
    while let Some(d) = dir.filter(|d| d.starts_with(top)) {
        fs::set_permissions(d, fs::Permissions::from_mode(0o755)).expect("chmod");
        dir = d.parent();
    }
    fs::set_permissions(shared, fs::Permissions::from_mode(0o777)).expect("chmod shared");
}

fn userns_bundle(sb: &Sandbox, name: &str, script: &str, netns: Option<&Path>) -> OciBundle {
    let shared = sb.scratch().join(format!("shared-{name}"));
    open_up(sb, &shared);
    let mut b = sb.oci_bundle(name, &["sh", "-c", script]);
    // The engine's part (podman's --uidmap chowns its copy of the image the same way).
    let ids = format!("{HOST_ID}:{HOST_ID}");
    let chown = std::process::Command::new("chown")
        .args(["-R", &ids])
        .arg(b.dir.join("rootfs"))
        .status()
        .expect("run chown");
    assert!(chown.success(), "chown of the rootfs");
    let mut mounts = b.config["mounts"].as_array().cloned().unwrap_or_default();
    mounts.push(json!({"destination": "/shared", "type": "bind",
                       "source": shared.to_str().expect("UTF-8"), "options": ["rbind"]}));
    let mut namespaces = vec![match netns {
        Some(p) => json!({"type": "network", "path": p}),
        None => json!({"type": "network"}),
    }];
    namespaces.extend(["user", "pid", "ipc", "uts", "mount"].map(|t| json!({"type": t})));
    b.set("/mounts", json!(mounts))
        .set("/root/readonly", json!(true))
        .set("/linux/namespaces", json!(namespaces))
        .set("/linux/uidMappings", maps())
        .set("/linux/gidMappings", maps());
    b.save();
    b
}

fn words(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn root_in_a_user_namespace_is_the_mapped_id_outside() {
    let sb = Sandbox::new();
    let script = "echo uidmap=$(cat /proc/self/uid_map); echo gidmap=$(cat /proc/self/gid_map); \
        echo id=$(id -u):$(id -g); touch /shared/made; \
        echo links=$(tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' '); \
        echo sys=$(grep ' /sys ' /proc/mounts | cut -d' ' -f3)";
    let b = userns_bundle(&sb, "userns", script, None);
    let out = sb.oci(&["run", "--bundle", b.arg(), "userns"]).ok();
    let o = out.stdout.as_str();
    let field = |k: &str| {
        o.lines()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap_or_else(|| panic!("no {k}= in\n{o}"))
            .to_owned()
    };
    assert_eq!(words(&field("uidmap")), "0 100000 65536", "{o}");
    assert_eq!(words(&field("gidmap")), "0 100000 65536", "{o}");
    assert_eq!(field("id"), "0:0", "root inside");
    let made = fs::metadata(sb.scratch().join("shared-userns/made")).expect("made");
    assert_eq!(
        (made.uid(), made.gid()),
        (HOST_ID, HOST_ID),
        "the host sees the mapped ids"
    );
    assert!(!field("links").contains(HOST_IF), "its own netns");

    // A network namespace given by path (the engine's, owned by the host's user namespace).
    let joined = userns_bundle(&sb, "joined", script, Some(&sb.host_ns_path()));
    let out = sb.oci(&["run", "--bundle", joined.arg(), "joined"]).ok();
    assert!(
        words(&out.stdout).contains("uidmap= 0 100000 65536"),
        "{out}"
    );
    assert!(
        out.stdout.contains(HOST_IF),
        "the netns joined by path: {out}"
    );
    // sysfs is refused where the user namespace does not own the netns: the host's is bound.
    assert!(out.stdout.contains("sys=sysfs"), "{out}");
}

#[test]
fn exec_enters_the_containers_user_namespace_and_status_shows_the_host_id() {
    let sb = Sandbox::new();
    let b = userns_bundle(&sb, "userexec", "exec sleep 30", None);
    let _shim = sb.oci_create(&b, "userexec");
    assert_eq!(
        super::created(&sb, "userexec"),
        0,
        "{:?}",
        sb.oci_status("userexec")
    );
    let pid = sb.oci_state("userexec")["pid"].as_i64().expect("pid");
    sb.oci(&["start", "userexec"]).ok();
    super::wait_status(&sb, "userexec", "running");
    let status = fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let uid = status.lines().find(|l| l.starts_with("Uid:")).expect("Uid");
    assert_eq!(words(uid), "Uid: 100000 100000 100000 100000", "{status}");
    let ex = sb
        .oci(&[
            "exec",
            "userexec",
            "sh",
            "-c",
            "id -u; cat /proc/self/uid_map",
        ])
        .ok();
    assert_eq!(words(&ex.stdout), "0 0 100000 65536", "{ex}");
    sb.oci(&["delete", "--force", "userexec"]).ok();
}

#[test]
fn bad_id_maps_are_refused_in_one_line() {
    let sb = Sandbox::new();
    let overlap = json!([{"containerID": 0, "hostID": HOST_ID, "size": 100},
                         {"containerID": 50, "hostID": 300000, "size": 100}]);
    let many: Vec<Value> = (0..341)
        .map(|i| json!({"containerID": i, "hostID": HOST_ID + i, "size": 1}))
        .collect();
    let cases = [
        ("overlap", Some(overlap), true, "overlaps"),
        ("many", Some(json!(many)), true, "over the kernel's 340"),
        ("nouserns", None, false, "no new user namespace"),
    ];
    for (name, uid, userns, want) in cases {
        let mut b = userns_bundle(&sb, name, "true", None);
        if let Some(uid) = uid {
            b.set("/linux/uidMappings", uid);
        }
        if !userns {
            let ns = ["network", "pid", "ipc", "uts", "mount"].map(|t| json!({"type": t}));
            b.set("/linux/namespaces", json!(ns));
        }
        b.save();
        let out = sb.oci(&["run", "--bundle", b.arg(), name]);
        assert_eq!(out.code(), 1, "{out}");
        assert_eq!(out.stderr.trim().lines().count(), 1, "{out}");
        assert!(out.stderr.contains(want), "{name}: {out}");
        assert!(!sb.oci_root().join(name).exists(), "{name}: nothing left");
    }
}
