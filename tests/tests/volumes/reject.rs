//! Bad volume input: exit 125, one `den: ` line in docker's words, nothing created (no container,
//! volume, host directory, file or mount).

use std::fs;

use den_tests::{assert_rejected, Sandbox};

use crate::support::{mounts_now, run, volume_names};

fn assert_refused(sb: &Sandbox, args: &[&str], culprit: &str) {
    let img = den_tests::fixtures().dir_arg();
    let before = sb.footprint();
    let mounts = mounts_now(sb);
    let full = [
        &["run", "--rm", "--network", "none"][..],
        args,
        &[img, "true"],
    ]
    .concat();
    let out = sb.den(&full);
    assert_rejected(&out, &[culprit]);
    sb.assert_footprint(&before, &full.join(" "));
    assert_eq!(mounts_now(sb), mounts, "den {}", full.join(" "));
}

#[test]
fn bad_volume_flags_are_refused_in_dockers_words() {
    let sb = Sandbox::new();
    let a = sb.scratch().join("a");
    fs::create_dir(&a).unwrap();
    let a = a.to_str().unwrap();
    run(&sb, &[den_tests::fixtures().dir_arg(), "true"]).ok();
    assert_refused(
        &sb,
        &["-v", "relative/path:/x"],
        "\"relative/path\" includes invalid characters for a local volume name",
    );
    assert_refused(
        &sb,
        &["-v", &format!("{a}:relative")],
        "invalid mount path: 'relative' mount path must be absolute",
    );
    assert_refused(&sb, &["-v", &format!("{a}:/")], "destination can't be '/'");
    assert_refused(
        &sb,
        &["-v", &format!("{a}:/x:bogus")],
        "invalid mode: bogus",
    );
    assert_refused(
        &sb,
        &["--mount", &format!("type=bind,source={a}")],
        "target is required",
    );
    let missing = sb.scratch().join("missing");
    assert_refused(
        &sb,
        &[
            "--mount",
            &format!("type=bind,source={},target=/x", missing.display()),
        ],
        "bind source path does not exist",
    );
    assert!(!missing.exists());
    assert_refused(&sb, &["--tmpfs", "/x:size=abc"], "size=abc");
    assert_refused(
        &sb,
        &["-v", &format!("{a}:/x"), "--tmpfs", "/x"],
        "Duplicate mount point: /x",
    );
    assert_refused(&sb, &["--volumes-from", "nobody"], "nobody");
    // A later failure (a missing command) undoes the named volume and -v's host directory.
    let made = sb.scratch().join("made");
    let bind = format!("{}:/m", made.display());
    let before = sb.footprint();
    let img = den_tests::fixtures().dir_arg();
    let out = run(
        &sb,
        &["-v", "fresh:/f", "-v", &bind, img, "/no/such/command"],
    );
    assert_eq!(out.code(), 127, "{out}");
    assert!(
        volume_names(&sb).is_empty() && !made.exists(),
        "a failed start left its volume or dir"
    );
    sb.assert_footprint(&before, "a start that failed at exec");
}

#[test]
fn a_volume_in_use_is_not_removed() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    sb.den(&[
        "run",
        "--network",
        "none",
        "--name",
        "user",
        "-v",
        "kept:/k",
        img,
        "true",
    ])
    .ok();
    let out = sb.den(&["volume", "rm", "kept"]);
    assert_rejected(&out, &["remove kept: volume is in use"]);
    let out = sb.den(&["volume", "rm", "-f", "kept"]);
    assert_rejected(&out, &["volume is in use"]);
    assert_eq!(volume_names(&sb), ["kept"]);
    assert!(sb.den(&["volume", "prune", "-a"]).ok().stdout.is_empty());
    sb.den(&["rm", "user"]).ok();
    sb.den(&["volume", "rm", "kept"]).ok();
    assert!(volume_names(&sb).is_empty());
    sb.den(&["volume", "create", "loose"]).ok();
    let out = sb.den(&["volume", "inspect", "loose"]).ok();
    assert!(
        out.stdout.contains("\"Mountpoint\"") && out.stdout.contains("_data"),
        "{out}"
    );
    // prune without -a keeps named volumes (docker 23+); -a takes them.
    sb.den(&["volume", "prune"]).ok();
    assert_eq!(volume_names(&sb), ["loose"]);
    sb.den(&["volume", "prune", "-a"]).ok();
    assert!(volume_names(&sb).is_empty());
}

#[test]
fn a_mount_that_fails_in_the_child_undoes_the_whole_start() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    run(&sb, &[img, "true"]).ok();
    let before = sb.footprint();
    let mounts = mounts_now(&sb);
    // /bin/sh is a file: nothing can be mounted below it.
    let out = run(&sb, &["-v", "made:/ok", "-v", "bad:/bin/sh/x", img, "true"]);
    assert_rejected(&out, &["/bin/sh/x"]);
    assert!(
        volume_names(&sb).is_empty(),
        "the failed start left its volumes"
    );
    sb.assert_footprint(&before, "a start whose mount failed");
    assert_eq!(mounts_now(&sb), mounts);
}
