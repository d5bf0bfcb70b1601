//! Symlinks in the image never take a mount (or a seed) outside the container's root, and
//! `rshared` binds see mounts made on the host under their source.

use std::fs;
use std::os::unix::fs::symlink;
use std::process::Command;

use den_tests::{Sandbox, START_TIMEOUT};

use crate::support::{image_with, mounts_now, run};

#[test]
fn a_volume_at_a_symlink_to_etc_lands_on_the_containers_own_etc() {
    let sb = Sandbox::new();
    let img = image_with(&sb, "trap", |root| {
        symlink("/etc", root.join("data")).unwrap();
        symlink("../../../../../../etc", root.join("up")).unwrap();
    });
    let host_passwd = fs::read("/etc/passwd").unwrap();
    let image_passwd = fs::read(format!("{img}/etc/passwd")).unwrap();
    assert_ne!(
        host_passwd, image_passwd,
        "the test needs the image's passwd to differ"
    );
    let before = mounts_now(&sb);
    // Seeded from the image's own /etc (the symlink resolved inside the image), not the host's.
    let out = run(
        &sb,
        &["-v", "v:/data", &img, "sh", "-c", "echo mine > /etc/mark"],
    )
    .ok();
    let data = sb.root().join("volumes/v/_data");
    assert_eq!(
        fs::read(data.join("passwd")).unwrap(),
        image_passwd,
        "{out}"
    );
    assert_eq!(fs::read_to_string(data.join("mark")).unwrap(), "mine\n");
    assert!(
        !std::path::Path::new("/etc/mark").exists(),
        "the host's /etc was written"
    );
    // A bind at a symlink climbing out of the root is mounted at the container's /etc too.
    let src = sb.scratch().join("src");
    fs::create_dir(&src).unwrap();
    fs::write(src.join("in"), "bound\n").unwrap();
    let bind = format!("{}:/up", src.display());
    let out = run(&sb, &["-v", &bind, &img, "cat", "/etc/in"]).ok();
    assert_eq!(out.stdout, "bound\n", "{out}");
    assert_eq!(fs::read("/etc/passwd").unwrap(), host_passwd);
    assert_eq!(mounts_now(&sb), before, "the host's mount table changed");
}

/// A shared tmpfs in the sandbox's scratch dir, lazily unmounted (with what is under it) on drop.
struct SharedMount(std::path::PathBuf);

impl SharedMount {
    fn new(at: std::path::PathBuf) -> SharedMount {
        fs::create_dir_all(&at).unwrap();
        let m = SharedMount(at);
        sh(&format!(
            "mount -t tmpfs -o size=1m den-test {0} && mount --make-shared {0}",
            m.0.display()
        ));
        m
    }
}

impl Drop for SharedMount {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-R")
            .arg("-l")
            .arg(&self.0)
            .status();
    }
}

fn sh(script: &str) {
    let st = Command::new("sh")
        .arg("-c")
        .arg(script)
        .status()
        .expect("sh");
    assert!(st.success(), "{script}");
}

#[test]
fn rshared_shows_a_mount_made_on_the_host_under_the_source() {
    let sb = Sandbox::new();
    let img = den_tests::fixtures().dir_arg();
    let before = mounts_now(&sb);
    let plain = sb.scratch().join("plain");
    fs::create_dir(&plain).unwrap();
    // docker's rule: the source must be on a shared mount.
    let out = run(
        &sb,
        &[
            "-v",
            &format!("{}:/data:rshared", plain.display()),
            img,
            "true",
        ],
    );
    den_tests::assert_rejected(&out, &["is not a shared mount"]);
    {
        let shared = SharedMount::new(sb.scratch().join("shared"));
        fs::create_dir(shared.0.join("sub")).unwrap();
        let bind = format!("{}:/data:rshared", shared.0.display());
        let den = sb.den_spawn(&[
            "run",
            "--rm",
            "--network",
            "none",
            "--name",
            "p",
            "-v",
            &bind,
            img,
            "sleep",
            "60",
        ]);
        sb.wait_running(&den, "p");
        sh(&format!(
            "mount -t tmpfs -o size=1m den-test-sub {0}/sub && echo late > {0}/sub/x",
            shared.0.display()
        ));
        den_tests::wait_until(START_TIMEOUT, "the host's new mount inside", || {
            sb.den(&["exec", "p", "cat", "/data/sub/x"]).stdout == "late\n"
        });
        // Without a propagation mode the bind still brings what is mounted below its source.
        let private = format!("{}:/data", shared.0.display());
        let out = sb
            .den(&[
                "run",
                "--rm",
                "--network",
                "none",
                "-v",
                &private,
                img,
                "ls",
                "/data/sub",
            ])
            .ok();
        assert_eq!(
            out.stdout, "x\n",
            "a bind's submounts come along (rbind)\n{out}"
        );
        sb.den(&["rm", "-f", "p"]).ok();
        den.wait(START_TIMEOUT);
    }
    assert_eq!(mounts_now(&sb), before, "the host's mount table changed");
}
