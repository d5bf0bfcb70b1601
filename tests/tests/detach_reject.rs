//! Bad input to `den run -d` and the verbs on containers: one `den: ` line, a non-zero
//! exit, nothing created.

use den_tests::{assert_rejected, fixtures, Output, Sandbox};

fn img() -> &'static str {
    fixtures().dir_arg()
}

#[test]
fn run_d_failures_are_reported_and_leave_nothing() {
    let sb = Sandbox::new();
    sb.run_detached(&["--name", "owner", "-p", "8080:80", img(), "sleep", "60"]);
    let before = sb.footprint();
    let fail = |args: &[&str]| -> Output { sb.den(&[&["run", "-d"][..], args].concat()) };
    let never = ["--pull", "never", "no-such-image", "true"];
    assert_rejected(&fail(&never), &["no-such-image"]);
    let missing = fail(&["--network", "none", img(), "no-such-command"]);
    assert_eq!(missing.code(), 127, "{missing}");
    assert_eq!(missing.stderr_lines().len(), 1, "{missing}");
    assert!(missing.stderr.contains("no-such-command"), "{missing}");
    assert_rejected(&fail(&["-p", "8080:80", img(), "true"]), &["8080"]);
    assert_rejected(&fail(&["--name", "owner", img(), "true"]), &["owner"]);
    assert_rejected(&fail(&["-t", img(), "sh"]), &["-t", "-d"]);
    sb.assert_footprint(&before, "failed den run -d");
    sb.den(&["rm", "-f", "owner"]).ok();
}

#[test]
fn verbs_reject_unknown_and_exited_containers() {
    let sb = Sandbox::new();
    for verb in [
        &["logs"][..],
        &["stop"],
        &["kill"],
        &["start"],
        &["top"],
        &["rm"],
    ] {
        let out = sb.den(&[verb, &["ghost"]].concat());
        assert_ne!(out.code(), 0, "{out}");
        assert_eq!(out.stderr_lines().len(), 1, "{out}");
        // docker's words where docker's user types them from habit (stop, kill, start, rm).
        let docker = ["stop", "kill", "start", "rm"].contains(&verb[0]);
        let expected = if docker {
            "Error: No such container: ghost"
        } else {
            "den: "
        };
        assert!(
            out.stderr.starts_with(expected) && out.stderr.contains("ghost"),
            "{out}"
        );
    }
    sb.run_detached(&["--network", "none", "--name", "done", img(), "true"]);
    sb.wait_exited("done", 0);
    for verb in ["kill", "top"] {
        let out = sb.den(&[verb, "done"]);
        assert_ne!(out.code(), 0, "{out}");
        assert_eq!(
            out.stderr_lines(),
            ["den: container done is not running"],
            "{out}"
        );
    }
    // Stopping a stopped container succeeds, as docker's does.
    assert_eq!(sb.den(&["stop", "done"]).ok().stdout, "done\n");
    let bad = sb.den(&["kill", "-s", "NOPE", "done"]);
    assert_rejected(&bad, &["NOPE"]);
}

/// A name that happens to be a prefix of another container's id (`c64…`) is a free name: only
/// names are names (`den inspect` may resolve id prefixes, a new name may not collide with them).
#[test]
fn a_name_that_looks_like_an_id_prefix_is_free() {
    let sb = Sandbox::new();
    let id = sb.run_detached(&["--network", "none", img(), "sleep", "60"]);
    let name = &id[..6];
    let again = sb.run_detached(&["--network", "none", "--name", name, img(), "sleep", "60"]);
    assert_ne!(again, id);
    sb.den(&["rm", "-f", &id, name]).ok();
}
