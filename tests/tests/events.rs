//! `den events`: the journal every den process appends to (the detached supervisor included),
//! read back with --since/--until/--filter/--format, followed live, bounded by rotation, and
//! never with two writers' lines mixed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use den_tests::journal::{action, attr, unix_now};
use den_tests::{fixtures, Proc, Sandbox, EXIT_TIMEOUT};
use serde_json::Value;

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// The actions of container `name`'s events, in order.
fn actions_of(evs: &[Value], name: &str) -> Vec<String> {
    evs.iter()
        .filter(|e| e["Type"] == "container" && attr(e, "name") == name)
        .map(|e| action(e).to_string())
        .collect()
}

#[test]
fn a_run_rm_is_journaled_create_start_die_destroy_with_its_exit_code() {
    let sb = Sandbox::new();
    let t0 = unix_now();
    let args = ["run", "--rm", "--network", "none", "--name", "once", img()];
    sb.den(&[&args[..], &["sh", "-c", "exit 3"]].concat())
        .expect_code(3);
    let until = unix_now();
    let evs = sb.events(&["--since", &t0, "--until", &until]);
    // docker's other spelling.
    let system = sb.den(&[
        "system", "events", "--since", &t0, "--until", &until, "--format", "json",
    ]);
    assert_eq!(system.ok().stdout.lines().count(), evs.len());
    assert_eq!(
        actions_of(&evs, "once"),
        ["create", "start", "die", "destroy"],
        "{evs:?}"
    );
    let die = evs.iter().find(|e| action(e) == "die").unwrap();
    assert_eq!(attr(die, "exitCode"), "3");
    assert_eq!(attr(die, "image"), img());
    let id = die["Actor"]["ID"].as_str().unwrap();
    assert_eq!(id.len(), 64, "{die}");
    // docker's older fields and its shape.
    assert_eq!(die["status"], "die");
    assert_eq!(die["id"], id);
    assert_eq!(die["from"], img());
    assert_eq!(die["scope"], "local");
    let nanos = die["timeNano"].as_i64().unwrap();
    assert_eq!(die["time"].as_i64().unwrap(), nanos / 1_000_000_000);

    // docker's human line.
    let human = sb
        .den(&[
            "events",
            "--since",
            "10m",
            "--until",
            "0s",
            "-f",
            "event=die",
        ])
        .ok();
    let line = human.out();
    let want = format!(
        " container die {id} (exitCode=3, image={}, name=once)",
        img()
    );
    assert!(line.ends_with(&want), "{line:?}\nwant the end {want:?}");
    assert!(
        line.starts_with("20") && line[..30].ends_with('Z'),
        "{line:?}"
    );
}

#[test]
fn filters_and_templates_choose_and_shape_events() {
    let sb = Sandbox::new();
    let t0 = unix_now();
    // Names no id starts with: `container=` matches an id prefix too, as docker's.
    for name in ["one", "two"] {
        let args = [
            "run",
            "--rm",
            "--network",
            "none",
            "--name",
            name,
            img(),
            "true",
        ];
        sb.den(&args).ok();
    }
    sb.den(&[
        "create",
        "--name",
        "kept",
        "-l",
        "tier=front",
        img(),
        "true",
    ])
    .ok();
    let until = unix_now();
    let window = ["--since", &t0, "--until", &until];
    let only = |f: &[&str]| -> Vec<(String, String)> {
        let mut args = window.to_vec();
        for x in f {
            args.extend_from_slice(&["--filter", x]);
        }
        sb.events(&args)
            .iter()
            .map(|e| (attr(e, "name").to_string(), action(e).to_string()))
            .collect()
    };
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    };
    assert_eq!(
        only(&["container=one"]),
        pairs(&[
            ("one", "create"),
            ("one", "start"),
            ("one", "die"),
            ("one", "destroy")
        ])
    );
    // One key's values are alternatives; different keys must all match.
    assert_eq!(
        only(&["event=die", "event=create", "container=two"]),
        pairs(&[("two", "create"), ("two", "die")])
    );
    assert_eq!(only(&["label=tier=front"]), pairs(&[("kept", "create")]));
    assert_eq!(only(&["label=tier=back"]), pairs(&[]));
    assert_eq!(only(&["type=network"]), pairs(&[]));
    let image = format!("image={}", img());
    assert_eq!(
        only(&[&image, "event=create"]),
        pairs(&[("one", "create"), ("two", "create"), ("kept", "create")])
    );

    let t = sb
        .den(
            &[
                &["events"],
                &window[..],
                &[
                    "-f",
                    "event=create",
                    "--format",
                    "{{.Actor.Attributes.name}}:{{.Type}}",
                ],
            ]
            .concat(),
        )
        .ok();
    assert_eq!(t.out(), "one:container\ntwo:container\nkept:container");

    // Bad input: one line naming the culprit, den's own exit code.
    let bad = sb.den(&["events", "--until", "0s", "--filter", "colour=red"]);
    assert_eq!(bad.code(), 125, "{bad}");
    assert!(bad.stderr.contains("colour"), "{bad}");
    let bad = sb.den(&["events", "--since", "yesterday"]);
    assert_eq!(bad.code(), 125, "{bad}");
    assert!(bad.stderr.contains("yesterday"), "{bad}");
}

/// A `den events` follower, killed by pid when the test ends (the sandbox's Drop).
struct Follower(Proc);

impl Follower {
    fn start(sb: &Sandbox, args: &[&str]) -> Follower {
        let mut all = vec![
            "events",
            "--format",
            "{{.Action}} {{.Actor.Attributes.name}}",
        ];
        all.extend_from_slice(args);
        Follower(sb.den_spawn(&all))
    }

    fn sees(&self, line: &str) -> String {
        self.0.wait_stdout(&format!("{line}\n"), EXIT_TIMEOUT)
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        if self.0.try_exit().is_none() {
            self.0.signal(den_tests::SIGKILL);
        }
    }
}

#[test]
fn a_follower_sees_a_detached_containers_start_then_its_die_from_the_supervisor() {
    let sb = Sandbox::new();
    let t0 = unix_now();
    sb.den(&["create", "--name", "mark", img(), "true"]).ok();
    let f = Follower::start(&sb, &["--since", &t0]);
    // The past is read: what comes next comes live.
    f.sees("create mark");
    // Its PID 1 ends on SIGTERM: one kill (docker's second, SIGKILL, only after the grace).
    let term = "trap 'exit 0' TERM; touch /tmp/ready; sleep 60 & wait";
    sb.run_detached(&[
        "--network",
        "none",
        "--name",
        "web",
        img(),
        "sh",
        "-c",
        term,
    ]);
    f.sees("start web");
    let pid = sb.inspect("web").pid().expect("web runs");
    den_tests::wait_for(EXIT_TIMEOUT, "its SIGTERM trap", || {
        sb.container_path(pid, "/tmp/ready").exists().then_some(())
    });
    sb.den(&["stop", "-t", "5", "web"]).ok();
    let out = f.sees("stop web");
    let web: Vec<&str> = out.lines().filter(|l| l.ends_with(" web")).collect();
    // docker's order: the stop's signal, the supervisor's die, then stop.
    assert_eq!(
        web,
        ["create web", "start web", "kill web", "die web", "stop web"],
        "{out}"
    );
    assert!(f.0.try_exit().is_none(), "the follower ended");

    // With an --until ahead, it follows until then, and ends.
    let until = format!(
        "{}",
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs()
            + 2
    );
    let ends = Follower::start(&sb, &["--until", &until]);
    let done = ends.0.wait(Duration::from_secs(10));
    assert!(done.success(), "{done}");
    assert!(done.stdout.contains("stop web"), "{done}");
    sb.den(&["rm", "web"]).ok();
}

#[test]
fn concurrent_writers_never_interleave_lines() {
    let sb = Sandbox::new();
    let t0 = unix_now();
    let runs: Vec<Proc> = (0..6)
        .map(|i| {
            let name = format!("c{i}");
            sb.den_spawn(&[
                "run",
                "--rm",
                "--network",
                "none",
                "--name",
                &name,
                img(),
                "true",
            ])
        })
        .collect();
    for r in &runs {
        assert!(r.wait(EXIT_TIMEOUT).success());
    }
    // Every line of the file itself is one whole event.
    let text = std::fs::read_to_string(sb.root().join("events.jsonl")).unwrap();
    for line in text.lines() {
        let e: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line:?}"));
        assert!(e["Type"].is_string() && e["Action"].is_string(), "{line}");
    }
    let evs = sb.events(&["--since", &t0, "--until", &unix_now()]);
    for i in 0..6 {
        let name = format!("c{i}");
        assert_eq!(
            actions_of(&evs, &name),
            ["create", "start", "die", "destroy"],
            "{name}"
        );
    }
}

#[test]
fn the_journal_survives_rotation_and_a_follower_reads_across_it() {
    let sb = Sandbox::new();
    let t0 = unix_now();
    let f = Follower::start(&sb, &["--since", &t0]);
    let journal = sb.root().join("events.jsonl");
    // A size that the fifth of these eight events passes: then five are in events.1.jsonl.
    sb.den(&["create", "--name", "r0", img(), "true"]).ok();
    let line = std::fs::metadata(&journal).unwrap().len();
    let max = (line * 9 / 2).to_string();
    let small = [("DEN_EVENTS_MAX_SIZE", max.as_str())];
    for i in 0..4 {
        let name = format!("r{i}");
        if i > 0 {
            sb.den_with_env(&small, &["create", "--name", &name, img(), "true"])
                .ok();
        }
        sb.den_with_env(&small, &["rm", &name]).ok();
    }
    let rotated = sb.root().join("events.1.jsonl");
    let old = std::fs::read_to_string(&rotated).expect("the journal was rotated");
    assert_eq!(old.lines().count(), 5, "{old}");
    let current = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(current.lines().count(), 3, "{current}");
    let evs = sb.events(&["--since", &t0, "--until", &unix_now()]);
    let names: Vec<String> = evs
        .iter()
        .map(|e| format!("{} {}", action(e), attr(e, "name")))
        .collect();
    let want: Vec<String> = (0..4)
        .flat_map(|i| [format!("create r{i}"), format!("destroy r{i}")])
        .collect();
    assert_eq!(names, want);
    let out = f.sees("destroy r3");
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
}

#[test]
fn a_journal_that_cannot_be_written_fails_no_verb_and_is_said_once() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.root().join("events.jsonl")).unwrap();
    let args = [
        "run",
        "--rm",
        "--network",
        "none",
        img(),
        "sh",
        "-c",
        "exit 4",
    ];
    let out = sb.den(&args).expect_code(4);
    let said: Vec<&str> = out
        .stderr_lines()
        .into_iter()
        .filter(|l| l.contains("events journal"))
        .collect();
    assert_eq!(said.len(), 1, "{out}");
    assert!(
        said[0].starts_with("den: warning: appending to the events journal "),
        "{out}"
    );
    // A detached container's supervisor, without a stderr, says it in its supervisor.log.
    let id = sb.run_detached(&["--network", "none", "--name", "quiet", img(), "sleep", "60"]);
    sb.den(&["kill", "quiet"]).ok();
    sb.wait_exited("quiet", 137);
    let log = std::fs::read_to_string(
        sb.root()
            .join("containers")
            .join(id.trim())
            .join("supervisor.log"),
    )
    .unwrap_or_default();
    assert!(
        log.contains("event die not recorded: appending to the events journal"),
        "{log}"
    );
    sb.den(&["rm", "quiet"]).ok();
}

#[test]
fn the_supervisor_journals_health_changes_and_execs_their_own_events() {
    let sb = Sandbox::new();
    let t0 = unix_now();
    let f = Follower::start(&sb, &["--since", &t0]);
    let check = ["--health-cmd", "cat /tmp/ok", "--health-interval", "200ms"];
    let run = [
        "--network",
        "none",
        "--name",
        "doc",
        "--health-retries",
        "1",
    ];
    let cmd = [img(), "sh", "-c", "touch /tmp/ok; exec sleep 1000"];
    sb.run_detached(&[&run[..], &check[..], &cmd[..]].concat());
    f.sees("health_status: healthy doc");
    sb.den(&["exec", "doc", "rm", "/tmp/ok"]).ok();
    let out = f.sees("health_status: unhealthy doc");
    // Each check is an exec, journaled as docker's are.
    assert!(
        out.contains("exec_create: /bin/sh -c cat /tmp/ok doc\n"),
        "{out}"
    );
    assert!(out.contains("exec_start: rm /tmp/ok doc\n"), "{out}");
    let evs = sb.events(&[
        "--since",
        &t0,
        "--until",
        &unix_now(),
        "-f",
        "event=exec_die",
    ]);
    let codes: Vec<&str> = evs.iter().map(|e| attr(e, "exitCode")).collect();
    assert!(codes.contains(&"0") && codes.contains(&"1"), "{codes:?}");
    assert!(evs.iter().all(|e| attr(e, "execID").len() == 64), "{evs:?}");
    sb.den(&["rm", "-f", "doc"]).ok();
}
