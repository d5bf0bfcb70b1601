//! `den logs` of a detached container: docker's json-file lines kept by its supervisor, with their
//! times (`-t`, `--since`, `--until`) and rotation (`--log-opt max-size=…,max-file=…`).

use std::fs;

use den_tests::{assert_rejected, fixtures, Sandbox};

fn img() -> &'static str {
    fixtures().dir_arg()
}

#[test]
fn timestamps_since_and_until_pick_lines_by_time() {
    let sb = Sandbox::new();
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "clock",
        img(),
        "sh",
        "-c",
        "echo a; echo err >&2; sleep 1.2; echo b",
    ]);
    sb.wait_exited("clock", 0);
    let out = sb.den(&["logs", "-t", "clock"]).ok();
    let lines: Vec<(&str, &str)> = out
        .stdout
        .lines()
        .map(|l| l.split_once(' ').expect("a time, then the line"))
        .collect();
    assert_eq!(
        lines.iter().map(|l| l.1).collect::<Vec<_>>(),
        ["a", "b"],
        "{out}"
    );
    for (time, _) in &lines {
        assert!(
            time.ends_with('Z') && time.len() == 30,
            "not RFC 3339 with ns: {time}"
        );
    }
    assert!(out.stderr.ends_with(" err\n"), "{out}");
    let (ta, tb) = (lines[0].0, lines[1].0);
    assert_eq!(sb.den(&["logs", "--since", tb, "clock"]).ok().stdout, "b\n");
    // err came after a, on the other stream.
    let until = sb.den(&["logs", "--until", ta, "clock"]).ok();
    assert_eq!((until.stdout.as_str(), until.stderr.as_str()), ("a\n", ""));
    // A duration counts back from now: everything was written in the last minute.
    assert_eq!(
        sb.den(&["logs", "--since", "1m", "clock"]).ok().stdout,
        "a\nb\n"
    );
    assert_eq!(sb.den(&["logs", "--until", "1m", "clock"]).ok().stdout, "");
    assert_rejected(
        &sb.den(&["logs", "--since", "yesterday", "clock"]),
        &["yesterday"],
    );
    sb.den(&["rm", "clock"]).ok();
}

#[test]
fn the_supervisor_rotates_the_log_past_max_size() {
    let sb = Sandbox::new();
    let id = sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "chatty",
        "--log-opt",
        "max-size=1k",
        "--log-opt",
        "max-file=2",
        img(),
        "sh",
        "-c",
        "i=1; while [ $i -le 200 ]; do echo line $i; i=$((i+1)); done",
    ]);
    sb.wait_exited("chatty", 0);
    let dir = sb.root().join("containers").join(&id);
    let size = |name: &str| fs::metadata(dir.join(name)).map(|m| m.len());
    assert!(size("container.log").unwrap() < 1024, "not rotated");
    assert!(size("container.log.1").unwrap() >= 1024, "no rotated file");
    assert!(
        size("container.log.2").is_err(),
        "kept more than max-file=2 files"
    );
    let shown = sb.den(&["logs", "chatty"]).ok().stdout;
    let numbers: Vec<u32> = shown
        .lines()
        .map(|l| l.trim_start_matches("line ").parse().unwrap())
        .collect();
    assert_eq!(numbers.last(), Some(&200), "{shown}");
    assert!(numbers[0] > 1, "nothing was dropped: {shown}");
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "lines lost: {shown}"
    );
    assert_rejected(
        &sb.den(&["run", "-d", "--log-opt", "max-file=0", img(), "true"]),
        &["max-file=0"],
    );
    sb.den(&["rm", "chatty"]).ok();
}
