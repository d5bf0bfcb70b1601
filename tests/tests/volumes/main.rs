//! `-v`, `--mount`, `--tmpfs`, `--read-only`, `--volumes-from` and `den volume`, with the real
//! binary in a sandbox: what a container writes reaches the host (or is refused), volumes outlive
//! their containers and start with the image's content, and the host's mount table never changes.

mod lifecycle;
mod reject;
mod support;
mod traps;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use den_tests::Sandbox;
use support::{image_with, mounts_now, run, volume_names, xattr};

#[test]
fn a_bind_mount_is_writable_or_read_only_as_asked() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    let src = sb.scratch().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("in"), "from the host\n").unwrap();
    let before = mounts_now(&sb);
    let bind = format!("{}:/data", src.display());
    let out = run(
        &sb,
        &[
            "-v",
            &bind,
            img,
            "sh",
            "-c",
            "cat /data/in; echo made > /data/out",
        ],
    )
    .ok();
    assert_eq!(out.stdout, "from the host\n", "{out}");
    assert_eq!(fs::read_to_string(src.join("out")).unwrap(), "made\n");

    let ro = format!("{}:/data:ro", src.display());
    let out = run(&sb, &["-v", &ro, img, "sh", "-c", "echo x > /data/out2"]);
    assert_ne!(out.code(), 0, "a write to a :ro bind succeeded\n{out}");
    assert!(out.stderr.contains("Read-only file system"), "{out}");
    assert!(!src.join("out2").exists());
    // `--mount type=bind,readonly` is the same bind.
    let m = format!("type=bind,source={},target=/m,readonly", src.display());
    let out = run(
        &sb,
        &["--mount", &m, img, "sh", "-c", "cat /m/in; touch /m/x"],
    );
    assert!(
        out.stdout.contains("from the host") && out.code() != 0,
        "{out}"
    );
    assert_eq!(mounts_now(&sb), before, "the host's mount table changed");
}

#[test]
fn v_creates_a_missing_host_directory() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    let src = sb.scratch().join("new/deeper");
    let bind = format!("{}:/data", src.display());
    run(&sb, &["-v", &bind, img, "touch", "/data/f"]).ok();
    assert!(src.join("f").is_file(), "docker's -v creates the host dir");
}

#[test]
fn a_named_volume_outlives_its_container_and_is_seeded_from_the_image() {
    let sb = Sandbox::new();
    let img = image_with(&sb, "seeded", |root| {
        let data = root.join("data");
        fs::create_dir(&data).unwrap();
        fs::write(data.join("seed"), "from the image\n").unwrap();
        std::os::unix::fs::chown(data.join("seed"), Some(1234), Some(2345)).unwrap();
        fs::set_permissions(data.join("seed"), fs::Permissions::from_mode(0o640)).unwrap();
        support::set_xattr(&data.join("seed"), "user.den", b"kept");
        fs::hard_link(data.join("seed"), data.join("also")).unwrap();
        std::os::unix::fs::chown(&data, Some(1234), Some(2345)).unwrap();
        fs::set_permissions(&data, fs::Permissions::from_mode(0o750)).unwrap();
    });
    let before = mounts_now(&sb);
    let out = run(
        &sb,
        &[
            "-v",
            "store:/data",
            &img,
            "sh",
            "-c",
            "stat -c '%u:%g %a' /data /data/seed; cat /data/seed; echo second > /data/left",
        ],
    )
    .ok();
    assert_eq!(
        out.stdout, "1234:2345 750\n1234:2345 640\nfrom the image\n",
        "{out}"
    );
    let data = sb.root().join("volumes/store/_data");
    assert_eq!(
        xattr(&data.join("seed"), "user.den").as_deref(),
        Some(&b"kept"[..])
    );
    assert_eq!(fs::metadata(&data).unwrap().uid(), 1234);
    let (a, b) = (
        fs::metadata(data.join("seed")).unwrap(),
        fs::metadata(data.join("also")).unwrap(),
    );
    assert_eq!(
        (a.ino(), a.nlink()),
        (b.ino(), 2),
        "a hard link is seeded as a link"
    );
    // A second container (another image even) sees what the first left, and is not re-seeded.
    let plain = den_tests::fixtures().dir_arg();
    let out = run(
        &sb,
        &[
            "-v",
            "store:/elsewhere",
            plain,
            "cat",
            "/elsewhere/left",
            "/elsewhere/seed",
        ],
    )
    .ok();
    assert_eq!(out.stdout, "second\nfrom the image\n", "{out}");
    assert_eq!(volume_names(&sb), ["store"]);
    // nocopy: an empty volume stays empty.
    let out = run(&sb, &["-v", "bare:/data:nocopy", &img, "ls", "-A", "/data"]).ok();
    assert_eq!(out.stdout, "", "{out}");
    assert_eq!(mounts_now(&sb), before, "the host's mount table changed");
}

#[test]
fn an_anonymous_volume_goes_with_rm_and_with_rm_v() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    let out = run(
        &sb,
        &["-v", "/scratch", img, "sh", "-c", "echo x > /scratch/f"],
    )
    .ok();
    assert!(
        volume_names(&sb).is_empty(),
        "--rm left its anonymous volume\n{out}"
    );
    sb.den(&[
        "run",
        "--network",
        "none",
        "--name",
        "keep",
        "-v",
        "/scratch",
        "-v",
        "named:/n",
        img,
        "true",
    ])
    .ok();
    let names = volume_names(&sb);
    assert_eq!(names.len(), 2, "{names:?}");
    let anon = names.iter().find(|n| *n != "named").unwrap().clone();
    assert!(
        anon.len() == 64 && anon.bytes().all(|b| b.is_ascii_hexdigit()),
        "{anon}"
    );
    let i = sb.inspect("keep");
    assert_eq!(
        i.get(&["Config", "Volumes", "/scratch"]),
        Some(&serde_json::json!({}))
    );
    sb.den(&["rm", "-v", "keep"]).ok();
    assert_eq!(
        volume_names(&sb),
        ["named"],
        "rm -v keeps named volumes only"
    );
}

#[test]
fn a_tmpfs_has_its_size_and_read_only_leaves_only_it_writable() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    let out = run(
        &sb,
        &[
            "--tmpfs",
            "/t:size=1m",
            img,
            "sh",
            "-c",
            "dd if=/dev/zero of=/t/big bs=1024 count=2048 2>&1; echo rc=$?",
        ],
    );
    assert!(
        out.stdout.contains("No space left on device") && out.stdout.contains("rc=1"),
        "{out}"
    );
    let out = run(&sb, &["--read-only", "--tmpfs", "/tmp", img, "sh", "-c",
        "echo ok > /tmp/f && cat /tmp/f; for p in /f /etc/f /bin/f; do touch $p 2>/dev/null && echo wrote $p; done; true"]).ok();
    assert_eq!(
        out.stdout, "ok\n",
        "only /tmp is writable under --read-only\n{out}"
    );
    sb.den(&[
        "run",
        "--network",
        "none",
        "--name",
        "ro",
        "--read-only",
        img,
        "true",
    ])
    .ok();
    assert_eq!(
        sb.inspect("ro").get(&["HostConfig", "ReadonlyRootfs"]),
        Some(&serde_json::json!(true))
    );
}

#[test]
fn volumes_from_shares_the_other_containers_mounts() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    let src = sb.scratch().join("src");
    fs::create_dir(&src).unwrap();
    let bind = format!("{}:/b", src.display());
    sb.den(&[
        "run",
        "--network",
        "none",
        "--name",
        "data",
        "-v",
        "/anon",
        "-v",
        &bind,
        img,
        "sh",
        "-c",
        "echo a > /anon/f; echo b > /b/f",
    ])
    .ok();
    let out = run(
        &sb,
        &[
            "--volumes-from",
            "data",
            img,
            "sh",
            "-c",
            "cat /anon/f /b/f; echo c > /anon/g",
        ],
    )
    .ok();
    assert_eq!(out.stdout, "a\nb\n", "{out}");
    let out = run(
        &sb,
        &[
            "--volumes-from",
            "data:ro",
            img,
            "sh",
            "-c",
            "cat /anon/g; echo d > /anon/h",
        ],
    );
    assert!(
        out.stdout == "c\n" && out.stderr.contains("Read-only file system"),
        "{out}"
    );
    // The anonymous volume belongs to `data`: the --rm runs above did not take it.
    assert_eq!(volume_names(&sb).len(), 1);
}

#[test]
fn inspect_shows_mounts_and_binds_in_dockers_shape() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    let src = sb.scratch().join("src");
    fs::create_dir(&src).unwrap();
    let bind = format!("{}:/b:ro", src.display());
    sb.den(&[
        "run",
        "--network",
        "none",
        "--name",
        "c",
        "-v",
        &bind,
        "-v",
        "vol:/v",
        "--tmpfs",
        "/t:size=1m",
        img,
        "true",
    ])
    .ok();
    let i = sb.inspect("c");
    let binds = i.get(&["HostConfig", "Binds"]).unwrap();
    assert_eq!(binds, &serde_json::json!([bind, "vol:/v"]));
    assert_eq!(
        i.get(&["HostConfig", "Tmpfs", "/t"]),
        Some(&serde_json::json!("size=1m"))
    );
    let mounts = i.get(&["Mounts"]).unwrap().as_array().unwrap().clone();
    assert_eq!(mounts.len(), 2, "{mounts:?}");
    let b = &mounts[0];
    assert_eq!(
        (b["Type"].as_str(), b["Source"].as_str()),
        (Some("bind"), src.to_str())
    );
    assert_eq!(
        (b["Destination"].as_str(), b["Mode"].as_str()),
        (Some("/b"), Some("ro"))
    );
    assert_eq!(
        (b["RW"].as_bool(), b["Propagation"].as_str()),
        (Some(false), Some("rprivate"))
    );
    let v = &mounts[1];
    let data = sb.root().join("volumes/vol/_data");
    assert_eq!(
        (v["Type"].as_str(), v["Name"].as_str()),
        (Some("volume"), Some("vol"))
    );
    assert_eq!(
        (v["Source"].as_str(), v["RW"].as_bool()),
        (data.to_str(), Some(true))
    );
    assert_eq!(
        (v["Driver"].as_str(), v["Propagation"].as_str()),
        (Some("local"), Some(""))
    );
}
