//! Every hook at its point of the lifecycle, with the state on stdin, its own environment, and
//! the namespaces the spec names (createContainer and startContainer in the container's).

use std::fs;

use den_tests::Sandbox;
use serde_json::{json, Value};

use crate::{created, exited};

/// A hook that appends `KIND STATUS ID HOOKVAR=.. LEAK=.. MNT HOSTNAME` to `log` (a path in the
/// namespace it runs in): LEAK is a variable of the runtime's environment (it must not reach the
/// hook), MNT whether the container's bind of /hooklog below its rootfs is visible (its mount
/// namespace before pivot_root).
fn hook(kind: &str, log: &str) -> Value {
    let script = format!(
        "s=$(cat); st=${{s#*\\\"status\\\":\\\"}}; id=${{s#*\\\"id\\\":\\\"}}; \
         echo {kind} ${{st%%\\\"*}} ${{id%%\\\"*}} HOOKVAR=$HOOKVAR LEAK=${{CARGO_MANIFEST_DIR:-unset}} \
         $(grep -c rootfs/hooklog /proc/self/mountinfo) $(hostname) >> {log}"
    );
    json!({"path": "/bin/sh", "args": ["sh", "-c", script], "env": [format!("HOOKVAR={kind}-env")]})
}

#[test]
fn hooks_run_in_order_with_the_state_and_their_env() {
    let sb = Sandbox::new();
    let mut b = sb.oci_bundle("hooked", &["sh", "-c", "echo process >> /hooklog/log"]);
    let logdir = sb.scratch().join("hooklog");
    fs::create_dir(&logdir).expect("mkdir");
    let host_log = logdir.join("log");
    let host = host_log.to_str().expect("UTF-8");
    let mut mounts = b.config["mounts"].as_array().cloned().unwrap_or_default();
    mounts.push(json!({"destination": "/hooklog", "type": "bind",
                       "source": logdir.to_str().expect("UTF-8"), "options": ["rbind"]}));
    b.set("/mounts", json!(mounts))
        .set("/hostname", json!("in-container"))
        .set(
            "/hooks",
            json!({
                "prestart": [hook("prestart", host)],
                "createRuntime": [hook("createRuntime", host)],
                // Before pivot_root, in the container's mount namespace: host paths still resolve.
                "createContainer": [hook("createContainer", host)],
                // After pivot_root: the container's paths.
                "startContainer": [hook("startContainer", "/hooklog/log")],
                "poststart": [hook("poststart", host)],
                "poststop": [hook("poststop", host)],
            }),
        );
    b.save();
    let _shim = sb.oci_create(&b, "hooked");
    assert_eq!(created(&sb, "hooked"), 0, "{:?}", sb.oci_status("hooked"));
    sb.oci(&["start", "hooked"]).ok();
    assert_eq!(exited(&sb, "hooked"), 0);
    sb.oci(&["delete", "hooked"]).ok();
    let log = fs::read_to_string(&host_log).expect("hook log");
    let runtime_host = sb.host("hostname").ok().stdout.trim().to_owned();
    assert!(
        std::env::var_os("CARGO_MANIFEST_DIR").is_some(),
        "cargo sets it"
    );
    let line = |kind: &str, status: &str, mnt: u8, host: &str| {
        format!("{kind} {status} hooked HOOKVAR={kind}-env LEAK=unset {mnt} {host}")
    };
    // The hostname is set after pivot_root: createContainer still sees the copied one.
    let expect = [
        line("prestart", "creating", 0, &runtime_host),
        line("createRuntime", "creating", 0, &runtime_host),
        line("createContainer", "creating", 1, &runtime_host),
        line("startContainer", "created", 0, "in-container"),
    ];
    let lines: Vec<&str> = log.lines().collect();
    assert!(lines.len() == 7, "seven lines expected:\n{log}");
    assert_eq!(
        lines[..4],
        expect.iter().map(String::as_str).collect::<Vec<_>>()[..],
        "\n{log}"
    );
    // poststart runs once start released the process: the two may come in either order.
    let middle = [lines[4], lines[5]];
    assert!(middle.contains(&"process"), "\n{log}");
    let poststart = line("poststart", "running", 0, &runtime_host);
    assert!(middle.contains(&poststart.as_str()), "\n{log}");
    assert_eq!(lines[6], line("poststop", "stopped", 0, &runtime_host));
}
