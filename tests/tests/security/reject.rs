//! Bad security and resource flags: one `den: ` line naming the culprit, exit 125, and nothing
//! created — no container, file or cgroup.

use den_tests::{assert_rejected, Sandbox};

use super::img;

#[test]
fn bad_flags_are_rejected_before_anything_is_made() {
    let sb = Sandbox::new();
    sb.den(&["run", "--rm", "--network", "none", img(), "true"])
        .ok();
    let before = sb.footprint();
    let not_json = sb.scratch().join("bad.json");
    std::fs::write(&not_json, "{not json").unwrap();
    let bad_action = sb.scratch().join("action.json");
    std::fs::write(
        &bad_action,
        r#"{"defaultAction":"SCMP_ACT_NOPE","syscalls":[]}"#,
    )
    .unwrap();
    let not_json = format!("seccomp={}", not_json.display());
    let bad_action = format!("seccomp={}", bad_action.display());
    let cases: [(&[&str], &str); 15] = [
        (&["--memory", "10x"], "10x"),
        (&["--memory", "1k"], "6MB"),
        (&["--cpus", "-1"], "-1"),
        (&["--cpus", "1000"], "1000"),
        (&["--pids-limit", "abc"], "abc"),
        (&["--cap-add", "NOPE"], "NOPE"),
        (&["--device", "/nonexistent"], "/nonexistent"),
        (&["--security-opt", &not_json], "bad.json"),
        (&["--security-opt", &bad_action], "action.json"),
        (&["--security-opt", "apparmor=x"], "apparmor=x"),
        (&["--cpuset-cpus", "0-99"], "0-99"),
        (&["--sysctl", "kernel.panic=1"], "kernel.panic"),
        (&["--ulimit", "nofile=abc"], "nofile=abc"),
        (&["--memory-swap", "1g"], "1g"),
        (
            &["--network", "host", "--sysctl", "net.ipv4.ip_forward=1"],
            "net.ipv4.ip_forward",
        ),
    ];
    for (flags, culprit) in cases {
        let net: &[&str] = match flags.contains(&"--network") {
            true => &[],
            false => &["--network", "none"],
        };
        let args = [&["run", "--rm"][..], net, flags, &[img(), "true"]].concat();
        let out = sb.den(&args);
        assert_rejected(&out, &[culprit]);
        sb.assert_footprint(&before, &format!("den {}", args.join(" ")));
    }
}
