//! `den cp` both ways, on running and stopped containers, as files and as tar streams: modes
//! always kept, owners with `-a`, and no symlink in the container (or in an archive) ever leads a
//! read or a write out of the container's root (CVE-2019-14271, CVE-2018-15664).

use std::fs;
use std::os::unix::fs::{chown, MetadataExt, PermissionsExt};
use std::path::Path;

use den_tests::{assert_rejected, den_bin, fixtures, Sandbox};

/// `src/sub/f` (0640, 1234:2345) and `src/g` (0755) in the sandbox's scratch dir.
fn host_tree(sb: &Sandbox) -> std::path::PathBuf {
    let src = sb.scratch().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("sub/f"), "eff\n").unwrap();
    fs::set_permissions(src.join("sub/f"), fs::Permissions::from_mode(0o640)).unwrap();
    chown(src.join("sub/f"), Some(1234), Some(2345)).unwrap();
    fs::write(src.join("g"), "#!/bin/sh\n").unwrap();
    fs::set_permissions(src.join("g"), fs::Permissions::from_mode(0o755)).unwrap();
    src
}

fn owner_mode(p: &Path) -> (u32, u32, u32) {
    let m = fs::symlink_metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    (m.uid(), m.gid(), m.mode() & 0o7777)
}

/// The same copies to and from container `c`, running or not.
fn both_ways(sb: &Sandbox, c: &str, look: impl Fn(&str) -> String) {
    let src = host_tree(sb);
    let s = src.to_str().unwrap();
    sb.den(&["cp", "-a", s, &format!("{c}:/dst")]).ok();
    assert_eq!(look("/dst/sub/f /dst/g"), "1234:2345 640\n0:0 755\n");
    sb.den(&["cp", s, &format!("{c}:/plain")]).ok();
    assert_eq!(
        look("/plain/sub/f"),
        "0:0 640\n",
        "without -a the container's root owns it"
    );
    // Into an existing directory, under its own name.
    sb.den(&["cp", &format!("{s}/g"), &format!("{c}:/tmp")])
        .ok();
    assert_eq!(look("/tmp/g"), "0:0 755\n");
    let back = sb.scratch().join(format!("back-{c}"));
    sb.den(&["cp", "-a", &format!("{c}:/dst"), back.to_str().unwrap()])
        .ok();
    assert_eq!(owner_mode(&back.join("sub/f")), (1234, 2345, 0o640));
    assert_eq!(fs::read_to_string(back.join("sub/f")).unwrap(), "eff\n");
    let plain = sb.scratch().join(format!("plain-{c}"));
    sb.den(&["cp", &format!("{c}:/dst/sub/f"), plain.to_str().unwrap()])
        .ok();
    assert_eq!(
        owner_mode(&plain),
        (0, 0, 0o640),
        "without -a the invoking user owns it"
    );
}

fn stat_in(sb: &Sandbox, c: &str, paths: &str) -> String {
    sb.den(&[
        "exec",
        c,
        "sh",
        "-c",
        &format!("stat -c '%u:%g %a' {paths}"),
    ])
    .ok()
    .stdout
}

#[test]
fn cp_to_and_from_a_running_container() {
    let sb = Sandbox::new();
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "r",
        fixtures().dir_arg(),
        "sleep",
        "60",
    ]);
    sb.wait_running(&den, "r");
    both_ways(&sb, "r", |p| stat_in(&sb, "r", p));
    sb.den(&["rm", "-f", "r"]).ok();
}

#[test]
fn cp_to_and_from_a_stopped_container_and_its_volume() {
    let sb = Sandbox::new();
    let before = sb.footprint();
    sb.den(&[
        "run",
        "--network",
        "none",
        "--name",
        "s",
        "-v",
        "vol:/vol",
        fixtures().dir_arg(),
        "true",
    ])
    .ok();
    // A stopped container's files are its upper dir's.
    let dir = fs::read_dir(sb.root().join("containers"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let look = |paths: &str| -> String {
        paths
            .split(' ')
            .map(|p| {
                let (u, g, m) = owner_mode(&dir.join("upper").join(p.trim_start_matches('/')));
                format!("{u}:{g} {m:o}\n")
            })
            .collect()
    };
    both_ways(&sb, "s", look);
    // Into the stopped container's volume: the file is in the volume.
    let f = sb.scratch().join("src/g");
    sb.den(&["cp", f.to_str().unwrap(), "s:/vol/"]).ok();
    assert!(sb.root().join("volumes/vol/_data/g").is_file());
    sb.den(&["rm", "s"]).ok();
    sb.den(&["volume", "rm", "vol"]).ok();
    sb.assert_footprint(&before, "cp to a stopped container");
}

#[test]
fn cp_streams_tar_on_stdout_and_stdin() {
    let sb = Sandbox::new();
    sb.den(&[
        "run",
        "--network",
        "none",
        "--name",
        "t",
        fixtures().dir_arg(),
        "true",
    ])
    .ok();
    let den = format!("{} --root {}", den_bin().display(), sb.root().display());
    let out = sb.host(&format!("{den} cp t:/etc - | tar -t")).ok();
    assert!(out.stdout.lines().any(|l| l == "etc/passwd"), "{out}");
    let src = host_tree(&sb);
    sb.host(&format!(
        "tar -C {} -c . | {den} cp -a - t:/",
        src.display()
    ))
    .ok();
    let upper = fs::read_dir(sb.root().join("containers"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("upper");
    assert_eq!(owner_mode(&upper.join("sub/f")), (1234, 2345, 0o640));
}

#[test]
fn cp_never_follows_a_container_symlink_out_of_its_root() {
    let sb = Sandbox::new();
    let img = fixtures().dir_arg();
    sb.den(&[
        "run",
        "--network",
        "none",
        "--name",
        "evil",
        img,
        "sh",
        "-c",
        "ln -s /etc /data && ln -s ../../../../../etc /up && mkdir /drop",
    ])
    .ok();
    let host_passwd = fs::read("/etc/passwd").unwrap();
    let image_passwd = fs::read(Path::new(img).join("etc/passwd")).unwrap();
    assert_ne!(host_passwd, image_passwd);
    // Reading through the symlinks gets the container's own /etc.
    for p in ["evil:/data/passwd", "evil:/up/passwd"] {
        let out = sb.scratch().join("out");
        sb.den(&["cp", p, out.to_str().unwrap()]).ok();
        assert_eq!(fs::read(&out).unwrap(), image_passwd, "{p}");
        fs::remove_file(&out).unwrap();
    }
    // Writing through them lands in the container's /etc (its upper dir), never the host's.
    let f = sb.scratch().join("den-cp-trap");
    fs::write(&f, "x").unwrap();
    sb.den(&["cp", f.to_str().unwrap(), "evil:/up/"]).ok();
    let upper = fs::read_dir(sb.root().join("containers"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path()
        .join("upper");
    assert!(upper.join("etc/den-cp-trap").is_file());
    assert!(!Path::new("/etc/den-cp-trap").exists());
    // An archive that plants a symlink and then writes through it stays inside too.
    let den = format!("{} --root {}", den_bin().display(), sb.root().display());
    let t = sb.scratch().join("t");
    fs::create_dir(&t).unwrap();
    std::os::unix::fs::symlink("/etc", t.join("link")).unwrap();
    sb.host(&format!(
        "cd {} && tar -cf ../a.tar link && mkdir -p x/link && echo y > x/link/den-cp-trap2 \
        && tar -C x -rf ../a.tar link/den-cp-trap2 && {den} cp - evil:/drop < ../a.tar",
        t.display()
    ))
    .ok();
    assert!(
        !Path::new("/etc/den-cp-trap2").exists(),
        "a tar entry wrote through a symlink to the host"
    );
    assert!(
        upper.join("etc/den-cp-trap2").is_file(),
        "the entry lands in the container's /etc"
    );
    assert_eq!(fs::read("/etc/passwd").unwrap(), host_passwd);
}

#[test]
fn cp_refuses_a_missing_container_or_path() {
    let sb = Sandbox::new();
    sb.den(&[
        "run",
        "--network",
        "none",
        "--name",
        "c",
        fixtures().dir_arg(),
        "true",
    ])
    .ok();
    let dest = sb.scratch().join("never");
    let before = sb.footprint();
    let out = sb.den(&["cp", "nope:/etc/passwd", dest.to_str().unwrap()]);
    assert_rejected(&out, &["No such container: nope"]);
    let out = sb.den(&["cp", dest.to_str().unwrap(), "nope:/x"]);
    assert_rejected(&out, &["No such container: nope"]);
    let out = sb.den(&["cp", "c:/no/such", dest.to_str().unwrap()]);
    assert_rejected(&out, &["Could not find the file /no/such in container c"]);
    assert!(!dest.exists());
    sb.assert_footprint(&before, "rejected den cp");
}
