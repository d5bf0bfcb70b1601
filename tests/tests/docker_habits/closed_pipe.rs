//! A listing whose reader has gone (`den ps | head -1` after head exits) ends quietly, killed by
//! SIGPIPE as docker or ls would be: no panic, no backtrace on stderr.

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};

use den_tests::{den_bin, Sandbox};

use super::img;

#[test]
fn a_listing_into_a_closed_pipe_ends_by_sigpipe_without_a_panic() {
    let sb = Sandbox::new();
    sb.run_detached(&[
        "--name",
        "piped",
        "--network",
        "none",
        img(),
        "sleep",
        "300",
    ]);
    for args in [&["ps", "-a"][..], &["inspect", "piped"], &["images"]] {
        // A pipe whose reader is closed before den starts: den's first write fails.
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        let out = Command::new("nsenter")
            .arg(format!("--net={}", sb.host_ns_path().display()))
            .arg("--")
            .env("DEN_CGROUP_PARENT", den_tests::cgroups::parent(sb.name()))
            .arg(den_bin())
            .arg("--root")
            .arg(sb.root())
            .args(args)
            .stdout(Stdio::from(writer))
            .stderr(Stdio::piped())
            .output()
            .expect("run den");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.signal(),
            Some(libc::SIGPIPE),
            "{args:?}: {:?}\n{stderr}",
            out.status
        );
        assert!(stderr.is_empty(), "{args:?}: {stderr}");
    }
    sb.den(&["rm", "-f", "piped"]).ok();
}
