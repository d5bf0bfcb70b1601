//! docker's `container` group, `image pull|push|tag`, top-level `load`/`save`, and docker's run
//! flags den lacks refused with why: `den container ls|inspect|rm` answer
//! as `den ps|inspect|rm` do, `den save -o` and `den load -i` round-trip an image.

use den_tests::{fixtures, Sandbox};

use super::img;

#[test]
fn the_container_group_and_load_save_answer_as_the_top_level_verbs() {
    let sb = Sandbox::new();
    sb.run_detached(&["--name", "grp", "--network", "none", img(), "sleep", "300"]);
    let ps = sb.den(&["ps", "--format", "{{.Names}} {{.State}}"]).ok();
    let ls = sb
        .den(&["container", "ls", "--format", "{{.Names}} {{.State}}"])
        .ok();
    assert_eq!(ls.out(), ps.out());
    assert_eq!(ls.out(), "grp running", "{ls}");
    let name = sb
        .den(&["container", "inspect", "-f", "{{.Name}}", "grp"])
        .ok();
    assert_eq!(name.out(), "/grp");
    assert_eq!(sb.den(&["container", "rm", "-f", "grp"]).ok().out(), "grp");
    assert_eq!(sb.den(&["container", "ps", "-aq"]).ok().out(), "");

    // A docker run flag den lacks: one line saying why, docker's 125, nothing made.
    for verb in [&["run"][..], &["container", "create"]] {
        let args = [verb, &["--ipc=host", img(), "true"]].concat();
        let out = sb.den(&args).expect_code(125);
        assert_eq!(
            out.stderr_lines(),
            ["den: --ipc is not supported: every den container has its own IPC namespace"],
            "{out}"
        );
    }
    assert_eq!(sb.den(&["ps", "-aq"]).ok().out(), "");

    sb.den(&["load", "-i", fixtures().oci_arg(), "--name", "grp/bb:1"])
        .ok();
    let file = sb.scratch().join("saved.tar");
    let file = file.to_str().unwrap();
    let loaded = sb
        .den(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok();
    let first = loaded.out().lines().next().unwrap().to_string();
    sb.den(&["save", "-o", file, &first]).ok();
    sb.den(&["rmi", &first]).ok();
    let again = sb.den(&["load", "-i", file]).ok();
    assert!(again.out().contains("Loaded image:"), "{again}");
    let images = sb
        .den(&["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .ok();
    assert!(images.out().lines().any(|l| l == first), "{images}");
}
