//! The spec's fields as the container sees them: a read-only root, lowered rlimits, a user with
//! additional groups, hostname, domainname, env, cwd, oomScoreAdj, no_new_privs, capabilities, a sysctl,
//! masked and read-only paths, tmpfs and bind mounts, a network namespace given by path, and the
//! terminal's consoleSize through a console socket.

use std::fs;

use den_tests::{Sandbox, HOST_IF};
use serde_json::json;

/// `key=value` lines of the container's report.
fn field<'a>(out: &'a str, key: &str) -> &'a str {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("{key}=")))
        .unwrap_or_else(|| panic!("no {key}= in\n{out}"))
}

#[test]
fn the_container_sees_what_its_spec_asks_for() {
    let sb = Sandbox::new();
    let shared = sb.scratch().join("shared");
    fs::create_dir(&shared).expect("mkdir");
    fs::write(shared.join("note"), "from the host").expect("write");
    let script = "echo uid=$(id -u); echo groups=$(id -G); echo host=$(hostname); \
        echo cwd=$(pwd); echo foo=$FOO; echo nofile=$(ulimit -n):$(ulimit -Hn); \
        echo oom=$(cat /proc/self/oom_score_adj); \
        echo nnp=$(grep NoNewPrivs /proc/self/status | tr -d ' \t' | cut -d: -f2); \
        echo capbnd=$(grep CapBnd /proc/self/status | cut -f2); \
        echo domain=$(cat /proc/sys/kernel/domainname); \
        echo msgmax=$(cat /proc/sys/kernel/msgmax); \
        echo keys=$(grep -c ' /proc/keys ' /proc/mounts); \
        echo procsys=$(grep ' /proc/sys ' /proc/mounts | cut -d' ' -f4 | cut -d, -f1); \
        echo root=$(touch /written 2>/dev/null && echo rw || echo ro); \
        echo scratch=$(touch /scratch/x && grep ' /scratch ' /proc/mounts | cut -d' ' -f3); \
        echo note=$(cat /shared/note); \
        echo shared=$(touch /shared/x 2>/dev/null && echo rw || echo ro); \
        echo links=$(ls /sys/class/net | tr '\\n' ' ')";
    let mut b = sb.oci_bundle("fields", &["sh", "-c", script]);
    let mut mounts = b.config["mounts"].as_array().cloned().unwrap_or_default();
    mounts.push(
        json!({"destination": "/scratch", "type": "tmpfs", "source": "tmpfs",
                       "options": ["nosuid", "size=1m"]}),
    );
    mounts.push(json!({"destination": "/shared", "type": "bind",
                       "source": shared.to_str().expect("UTF-8"), "options": ["rbind", "ro"]}));
    let mut namespaces = vec![json!({"type": "network", "path": sb.host_ns_path()})];
    namespaces.extend(["pid", "ipc", "uts", "mount"].map(|t| json!({"type": t})));
    b.set("/root/readonly", json!(true))
        .set(
            "/process/user",
            json!({"uid": 1000, "gid": 1000, "additionalGids": [10, 20]}),
        )
        .set("/process/cwd", json!("/tmp"))
        .set("/process/env", json!(["PATH=/bin", "FOO=bar"]))
        .set(
            "/process/rlimits",
            json!([{"type": "RLIMIT_NOFILE", "soft": 100, "hard": 200}]),
        )
        .set("/process/oomScoreAdj", json!(500))
        .set("/process/noNewPrivileges", json!(true))
        .set("/hostname", json!("oci-fields"))
        .set("/mounts", json!(mounts))
        .set("/linux/namespaces", json!(namespaces))
        .set("/domainname", json!("oci.test"))
        .set("/linux/sysctl", json!({"kernel.msgmax": "12345"}));
    b.save();
    let out = sb.oci(&["run", "--bundle", b.arg(), "fields"]).ok();
    let o = out.stdout.as_str();
    assert_eq!(field(o, "uid"), "1000");
    assert_eq!(field(o, "groups"), "1000 10 20");
    assert_eq!(field(o, "host"), "oci-fields");
    assert_eq!(field(o, "cwd"), "/tmp");
    assert_eq!(field(o, "foo"), "bar");
    assert_eq!(field(o, "nofile"), "100:200");
    assert_eq!(field(o, "oom"), "500");
    assert_eq!(field(o, "nnp"), "1");
    assert_eq!(
        field(o, "capbnd"),
        "0000000020000420",
        "the default spec's three caps"
    );
    assert_eq!(field(o, "domain"), "oci.test");
    assert_eq!(field(o, "msgmax"), "12345");
    assert_eq!(field(o, "keys"), "1", "masked: a mount over it");
    assert_eq!(field(o, "procsys"), "ro");
    assert_eq!(field(o, "root"), "ro");
    assert_eq!(field(o, "scratch"), "tmpfs");
    assert_eq!(field(o, "note"), "from the host");
    assert_eq!(field(o, "shared"), "ro");
    let links = field(o, "links");
    assert!(
        links.contains(HOST_IF),
        "the sandbox's netns joined by path: {links}"
    );
    assert!(!b.dir.join("rootfs/written").exists());
}

/// A console socket as conmon's: receives the pty master, copies what the container writes to
/// it into a file until the container closes its side.
const CONSOLE: &str = r#"
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1] + ".tmp"); s.listen(1); os.rename(sys.argv[1] + ".tmp", sys.argv[1])
c, _ = s.accept()
_, fds, _, _ = socket.recv_fds(c, 1024, 1)
data = b""
while True:
    try:
        b = os.read(fds[0], 4096)
    except OSError:
        break
    if not b:
        break
    data += b
open(sys.argv[2], "wb").write(data)
"#;

#[test]
fn the_terminal_has_the_specs_console_size() {
    let sb = Sandbox::new();
    let (sock, out) = (
        sb.scratch().join("console.sock"),
        sb.scratch().join("console.out"),
    );
    let mut b = sb.oci_bundle("tty", &["sh", "-c", "stty size; tty"]);
    b.set("/process/terminal", json!(true))
        .set("/process/consoleSize", json!({"height": 33, "width": 77}));
    b.save();
    let mut console = std::process::Command::new("python3")
        .args(["-c", CONSOLE])
        .arg(&sock)
        .arg(&out)
        .spawn()
        .expect("run python3");
    den_tests::wait_until(super::EXIT_TIMEOUT, "the console socket", || sock.exists());
    let run = sb.oci(&[
        "run",
        "--console-socket",
        sock.to_str().expect("UTF-8"),
        "--bundle",
        b.arg(),
        "tty",
    ]);
    if run.code() != 0 {
        // It never connected: the receiver would wait forever.
        let _ = console.kill();
    }
    let done = console.wait().expect("wait for python3");
    run.ok();
    assert!(done.success(), "console receiver: {done}");
    let text = fs::read_to_string(&out).expect("console output");
    assert!(
        text.starts_with("33 77"),
        "stty size in the container: {text:?}"
    );
}
