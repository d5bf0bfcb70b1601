//! Volumes across `den start` and a detached `--rm` (the supervisor's teardown).

use std::time::Duration;

use den_tests::{wait_until, Sandbox};

use crate::support::volume_names;

#[test]
fn start_mounts_the_same_volumes_again() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    let script = "echo run >> /named/log; ls /anon | wc -l; touch /anon/seen";
    sb.den(&[
        "run",
        "--network",
        "none",
        "--name",
        "again",
        "-v",
        "named:/named",
        "-v",
        "/anon",
        img,
        "sh",
        "-c",
        script,
    ])
    .ok();
    assert_eq!(volume_names(&sb).len(), 2);
    sb.den(&["start", "again"]).ok();
    wait_until(Duration::from_secs(20), "the second run to end", || {
        sb.inspect("again").status().as_deref() == Some("exited")
    });
    // The log keeps both runs' output (as docker's): the first saw an empty /anon.
    let logs = sb.den(&["logs", "again"]).ok().stdout;
    assert_eq!(
        logs.lines().collect::<Vec<_>>(),
        ["0", "1"],
        "the second run sees the first one's anonymous volume"
    );
    let log = std::fs::read_to_string(sb.root().join("volumes/named/_data/log")).unwrap();
    assert_eq!(log, "run\nrun\n");
    assert_eq!(volume_names(&sb).len(), 2, "start made no new volume");
}

#[test]
fn a_detached_rm_container_takes_its_anonymous_volume() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    sb.den(&[
        "run",
        "-d",
        "--rm",
        "--network",
        "none",
        "--name",
        "d",
        "-v",
        "/anon",
        "-v",
        "kept:/k",
        img,
        "sleep",
        "1",
    ])
    .ok();
    assert_eq!(volume_names(&sb).len(), 2);
    // The supervisor removes the anonymous volume, then the container's record.
    wait_until(
        Duration::from_secs(20),
        "the container to be removed",
        || sb.den(&["ps", "-a"]).ok().stdout.lines().count() == 1,
    );
    assert_eq!(volume_names(&sb), ["kept"]);
}

#[test]
fn gc_removes_the_anonymous_volume_a_killed_rm_run_left() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    let den = format!(
        "{} --root {}",
        den_tests::den_bin().display(),
        sb.root().display()
    );
    let out = sb.host(&format!(
        "DEN_FAULT=after-start {den} run --rm --network none -v /anon -v named:/n {img} sleep 30"
    ));
    assert_ne!(out.code(), 0, "den was to kill itself\n{out}");
    assert_eq!(volume_names(&sb).len(), 2);
    sb.den(&["gc"]).ok();
    assert_eq!(
        volume_names(&sb),
        ["named"],
        "gc left the --rm container's anonymous volume"
    );
}

/// The OCI fixture with `"Volumes": {"/data": {}, "/etc": {}}` in its config (digests redone).
fn image_with_volumes(sb: &Sandbox) -> String {
    let dir = sb.scratch().join("vols.oci");
    let script = r#"set -e
cp -a "$1" "$2"; cd "$2"
# Replace blob $1 by file $2 in descriptor file $3: new digest and size.
swap() {
  d=$(sha256sum "$2" | cut -d' ' -f1); n=$(stat -c %s "$2"); mv "$2" blobs/sha256/$d
  sed -i "s/sha256:$1\",\"size\":[0-9]*/sha256:$d\",\"size\":$n/" "$3"; echo $d
}
m=$(sed 's/.*"digest":"sha256:\([0-9a-f]*\)".*/\1/' index.json)
c=$(sed 's/.*"config":{[^}]*"digest":"sha256:\([0-9a-f]*\)".*/\1/' blobs/sha256/$m)
sed 's/"Cmd":\["sh"\]/"Cmd":["sh"],"Volumes":{"\/data":{},"\/etc":{}}/' blobs/sha256/$c > cfg
cp blobs/sha256/$m man
swap $c cfg man >/dev/null
swap $m man index.json >/dev/null
"#;
    let st = std::process::Command::new("sh")
        .args([
            "-c",
            script,
            "sh",
            den_tests::fixtures().oci_arg(),
            dir.to_str().unwrap(),
        ])
        .status()
        .unwrap();
    assert!(st.success(), "making the image with volumes failed");
    dir.to_str().unwrap().to_string()
}

#[test]
fn the_images_volume_paths_get_anonymous_volumes() {
    let sb = Sandbox::new();
    let img = image_with_volumes(&sb);
    sb.den(&[
        "run",
        "--network",
        "none",
        "--name",
        "v",
        "-v",
        "mine:/data",
        &img,
        "sh",
        "-c",
        "cat /etc/passwd > /data/copy",
    ])
    .ok();
    let names = volume_names(&sb);
    assert_eq!(
        names.len(),
        2,
        "one anonymous volume for /etc, -v's for /data: {names:?}"
    );
    let anon = names.iter().find(|n| *n != "mine").unwrap();
    let etc = sb.root().join("volumes").join(anon).join("_data/passwd");
    let image_passwd =
        std::fs::read(std::path::Path::new(den_tests::fixtures().dir_arg()).join("etc/passwd"))
            .unwrap();
    assert_eq!(
        std::fs::read(etc).unwrap(),
        image_passwd,
        "seeded from the image"
    );
    assert_eq!(
        std::fs::read(sb.root().join("volumes/mine/_data/copy")).unwrap(),
        image_passwd
    );
    sb.den(&["rm", "-v", "v"]).ok();
    assert_eq!(volume_names(&sb), ["mine"]);
}
