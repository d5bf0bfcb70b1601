//! What `--rm`, `den ps`, `den rm` and the image commands leave, and the three
//! image forms. `--network none` throughout.

use std::fs;
use std::path::Path;
use std::time::Duration;

use den_tests::{assert_rejected, fixtures, wait_until, Output, Sandbox, START_TIMEOUT};

const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// `den run --rm --network none ARGS...`, to completion.
fn run(sb: &Sandbox, args: &[&str]) -> Output {
    sb.den(&[&["run", "--rm", "--network", "none"][..], args].concat())
}

fn paths_under(dir: &Path, needle: &str, found: &mut Vec<String>) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.file_name()
            .is_some_and(|n| n.to_string_lossy().contains(needle))
        {
            found.push(p.display().to_string());
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            paths_under(&p, needle, found);
        }
    }
}

/// Paths under the state dir naming `needle` or the file the container wrote.
fn traces(sb: &Sandbox, needle: &str) -> Vec<String> {
    let mut found = Vec::new();
    paths_under(sb.root(), "written-by-den-test", &mut found);
    paths_under(sb.root(), needle, &mut found);
    found
}

#[test]
fn rm_removes_the_containers_files_and_state() {
    let sb = Sandbox::new();
    let script = "echo data > /written-by-den-test; echo ready; \
                  while [ ! -e /go ]; do sleep 0.05; done";
    let args = [
        "run",
        "--rm",
        "--network",
        "none",
        "--name",
        "gone",
        img(),
        "sh",
        "-c",
        script,
    ];
    let den = sb.den_spawn(&args);
    den.wait_stdout("ready", START_TIMEOUT);
    let info = sb.inspect("gone");
    let (pid, id) = (info.pid().unwrap(), info.id().unwrap());
    assert!(
        !traces(&sb, &id).is_empty(),
        "no state or upper dir for {id} under the root"
    );
    sb.write_in_container(pid, "/go", "");
    den.wait(EXIT_TIMEOUT).ok();

    // At once: nothing of it where den looks (its dir and name); its files, renamed into the
    // trash, are removed by den's helper process off the terminal's time.
    let outside_trash = |sb: &Sandbox| -> Vec<String> {
        traces(sb, &id)
            .into_iter()
            .filter(|p| !p.contains("/trash/"))
            .collect()
    };
    let left = outside_trash(&sb);
    assert!(left.is_empty(), "--rm left: {left:?}");
    wait_until(Duration::from_secs(10), "the trash to be emptied", || {
        traces(&sb, &id).is_empty()
    });
    assert!(
        sb.try_inspect("gone").is_none(),
        "den still knows the removed container"
    );
    let ps = sb.den(&["ps", "-a"]).ok();
    assert!(!ps.stdout.split_whitespace().any(|w| w == "gone"), "{ps}");
    // A new container from the same image does not see the file.
    run(&sb, &[img(), "test", "-e", "/written-by-den-test"]).expect_code(1);
}

#[test]
fn exited_container_is_listed_until_removed() {
    let sb = Sandbox::new();
    let args = [
        "run",
        "--network",
        "none",
        "--name",
        "kept1",
        img(),
        "sh",
        "-c",
        "exit 3",
    ];
    sb.den(&args).expect_code(3);
    let listed = |args: &[&str]| {
        let out = sb.den(args).ok();
        out.stdout.split_whitespace().any(|w| w == "kept1")
    };
    assert!(!listed(&["ps"]), "den ps lists an exited container");
    assert!(
        listed(&["ps", "-a"]),
        "den ps -a does not list the exited container"
    );
    let info = sb.inspect("kept1");
    assert_eq!(info.status().as_deref(), Some("exited"), "{:#}", info.0);
    assert_eq!(info.exit_code(), Some(3), "{:#}", info.0);
    sb.den(&["rm", "kept1"]).ok();
    assert!(
        !listed(&["ps", "-a"]),
        "den rm did not remove the container"
    );
    assert!(sb.try_inspect("kept1").is_none());
}

#[test]
fn the_three_image_forms_give_the_same_tree() {
    let sb = Sandbox::new();
    let fx = fixtures();
    let ls = |image: &str| run(&sb, &[image, "ls", "-R", "/bin"]).ok().stdout;
    let from_dir = ls(fx.dir_arg());
    assert!(from_dir.contains("busybox"), "{from_dir}");
    assert_eq!(
        ls(fx.oci_arg()),
        from_dir,
        "OCI layout differs from the rootfs dir"
    );
    assert_eq!(
        ls(fx.tar_arg()),
        from_dir,
        "tar differs from the rootfs dir"
    );
}

#[test]
fn loaded_image_runs_by_name_until_removed() {
    let sb = Sandbox::new();
    let has = |name: &str| {
        let out = sb.den(&["image", "ls"]).ok();
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().next() == Some(name))
    };
    let load = ["image", "load", fixtures().tar_arg(), "--name", "bbox"];
    sb.den(&load).ok();
    assert!(has("bbox"), "den image ls does not list the loaded image");
    run(&sb, &["bbox", "true"]).ok();
    sb.den(&["image", "rm", "bbox"]).ok();
    assert!(!has("bbox"), "den image rm did not remove the image");
    assert_rejected(&run(&sb, &["--pull", "never", "bbox", "true"]), &["bbox"]);
}
