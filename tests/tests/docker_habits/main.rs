//! The commands a docker user types from habit, run against the real den binary in a sandbox,
//! checked against what docker prints and returns (docker's documented output: its ps/images/
//! network ls/volume ls/system df headers, its inspect template examples, its exit codes).

mod closed_pipe;
mod filters;
mod groups;
mod network_gone;
mod old_image;
mod reports;

use den_tests::{fixtures, Output, Sandbox};

pub fn img() -> &'static str {
    fixtures().dir_arg()
}

pub fn lines(out: &Output) -> Vec<&str> {
    out.stdout.lines().collect()
}

pub fn is_hex(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[test]
fn ps_and_inspect_answer_as_docker_does() {
    let sb = Sandbox::new();
    let id = sb
        .den(&[
            "run",
            "-d",
            "--name",
            "web",
            "--network",
            "none",
            img(),
            "sleep",
            "300",
        ])
        .ok()
        .out()
        .to_string();
    assert!(is_hex(&id, 64), "run -d prints the full id: {id:?}");
    sb.den(&[
        "run",
        "--name",
        "done3",
        "--network",
        "none",
        img(),
        "sh",
        "-c",
        "exit 3",
    ])
    .expect_code(3);

    // docker's columns, in docker's order, as Go's tabwriter spaces them.
    let ps = sb.den(&["ps"]).ok();
    let head = lines(&ps)[0];
    let cols = [
        "CONTAINER ID",
        "IMAGE",
        "COMMAND",
        "CREATED",
        "STATUS",
        "PORTS",
        "NAMES",
    ];
    let mut at = 0;
    for c in cols {
        let i = head[at..]
            .find(c)
            .unwrap_or_else(|| panic!("{c} missing or out of order\n{ps}"));
        at += i + c.len();
    }
    assert!(head.starts_with("CONTAINER ID   IMAGE"), "{ps}");
    assert!(head.ends_with("PORTS     NAMES"), "{ps}");
    let row = lines(&ps)[1];
    assert!(row.starts_with(&id[..12]) && row.ends_with("web"), "{ps}");
    assert!(row.contains("\"sleep 300\"") && row.contains("Up "), "{ps}");
    assert_eq!(
        lines(&ps).len(),
        2,
        "ps lists only running containers\n{ps}"
    );

    // -q, -a, --no-trunc, -l, -n, --filter.
    assert_eq!(
        sb.den(&["ps", "-q"]).ok().stdout,
        format!("{}\n", &id[..12])
    );
    assert_eq!(
        sb.den(&["ps", "-q", "--no-trunc"]).ok().stdout,
        format!("{id}\n")
    );
    assert_eq!(sb.den(&["ps", "-aq"]).ok().stdout.lines().count(), 2);
    let latest = sb.den(&["ps", "-l", "--format", "{{.Names}}"]).ok();
    assert_eq!(latest.stdout, "done3\n", "-l is the latest created");
    assert_eq!(
        sb.den(&["ps", "-n", "2", "-q"]).ok().stdout.lines().count(),
        2
    );
    let f = |filter: &str| {
        sb.den(&["ps", "-a", "--filter", filter, "--format", "{{.Names}}"])
            .ok()
            .stdout
    };
    assert_eq!(f("status=exited"), "done3\n");
    assert_eq!(f("exited=3"), "done3\n");
    assert_eq!(f("exited=0"), "");
    assert_eq!(f("name=we"), "web\n");
    assert_eq!(f(&format!("id={}", &id[..6])), "web\n");
    assert_eq!(
        f("label=nobody"),
        "",
        "no labels: a label filter matches none"
    );
    assert_eq!(f("network=none").lines().count(), 2);
    // Without -a, a status filter still finds exited containers (docker).
    let st = sb.den(&["ps", "--filter", "status=exited", "-q"]).ok();
    assert_eq!(st.stdout.lines().count(), 1, "{st}");
    let size = sb.den(&["ps", "-s", "--format", "{{.Size}}"]).ok();
    assert!(
        size.stdout.contains("B (virtual ") && size.stdout.ends_with(")\n"),
        "{size}"
    );
    // A bad filter: docker's daemon refuses it, exit 1.
    let bad = sb.den(&["ps", "--filter", "colour=red"]);
    assert_eq!(bad.code(), 1, "{bad}");
    assert!(
        !bad.success() && bad.stderr.contains("invalid filter 'colour'"),
        "{bad}"
    );

    // --format: a bare template (no header, tabs kept), a table, json.
    let raw = sb.den(&["ps", "--format", "{{.Names}}\\t{{.State}}"]).ok();
    assert_eq!(raw.stdout, "web\trunning\n");
    let table = sb
        .den(&["ps", "--format", "table {{.Names}}\\t{{.State}}"])
        .ok();
    assert_eq!(table.stdout, "NAMES     STATE\nweb       running\n");
    let json = sb.den(&["ps", "--format", "json"]).ok();
    let v: serde_json::Value = serde_json::from_str(json.out()).unwrap();
    assert_eq!(v["Names"], "web");
    assert_eq!(v["ID"], &id[..12]);

    // inspect -f: docker's shape and its documentation's templates.
    let tf = |t: &str| sb.den(&["inspect", "-f", t, "web"]).ok().stdout;
    assert_eq!(tf("{{.Name}}"), "/web\n");
    assert_eq!(tf("{{.Id}}"), format!("{id}\n"));
    assert_eq!(
        tf("{{.State.Status}} {{.State.Running}} {{.State.Paused}}"),
        "running true false\n"
    );
    assert_eq!(tf("{{.Path}} {{json .Args}}"), "sleep [\"300\"]\n");
    assert_eq!(tf("{{json .Config.Cmd}}"), "[\"sleep\",\"300\"]\n");
    assert!(tf("{{.Image}}").starts_with("sha256:"));
    assert_eq!(tf("{{.HostConfig.NetworkMode}}"), "none\n");
    assert_eq!(tf("{{.HostConfig.RestartPolicy.Name}}"), "no\n");
    assert!(
        tf("{{.LogPath}}").trim_end().ends_with(".log") || !tf("{{.LogPath}}").trim().is_empty()
    );
    assert!(tf("{{range .Config.Env}}{{.}} {{end}}").contains("PATH="));
    assert_eq!(tf("{{upper .State.Status}}"), "RUNNING\n");
    assert_eq!(
        tf("{{join .Args \",\"}}|{{index .Args 0}}|{{len .Args}}"),
        "300|300|1\n"
    );
    let pid = tf("{{.State.Pid}}");
    assert!(pid.trim().parse::<u32>().is_ok_and(|p| p > 1), "{pid}");
    // The whole document: docker's array of objects.
    let whole: serde_json::Value =
        serde_json::from_str(&sb.den(&["inspect", "web"]).ok().stdout).unwrap();
    for key in [
        "Id",
        "Created",
        "Path",
        "Args",
        "State",
        "Image",
        "Name",
        "HostConfig",
        "Config",
        "NetworkSettings",
        "Mounts",
        "LogPath",
        "RestartCount",
    ] {
        assert!(whole[0].get(key).is_some(), "inspect lacks {key}");
    }
    assert_eq!(whole[0]["State"]["FinishedAt"], "0001-01-01T00:00:00Z");
    // --type, and objects that are not there.
    let missing = sb.den(&["inspect", "nope"]);
    assert_eq!(missing.code(), 1, "{missing}");
    assert_eq!(missing.stderr.trim(), "Error: No such object: nope");
    let typed = sb.den(&["inspect", "--type", "container", "nope"]);
    assert_eq!(typed.code(), 1);
    assert_eq!(typed.stderr.trim(), "Error: No such container: nope");
    assert_eq!(
        sb.den(&["inspect", "--type", "network", "-f", "{{.Name}}", "web"])
            .code(),
        1
    );

    let stats = sb
        .den(&["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}"])
        .ok();
    assert_eq!(stats.stdout, "web 1\n", "{stats}");

    // stop twice, start twice: all 0 (docker's).
    sb.den(&["stop", "-t", "1", "web"]).ok();
    let again = sb.den(&["stop", "web"]).ok();
    assert_eq!(again.stdout, "web\n");
    assert_eq!(tf("{{.State.Status}}"), "exited\n");
    sb.den(&["start", "web"]).ok();
    sb.den(&["start", "web"]).ok();
    assert_eq!(tf("{{.State.Running}}"), "true\n");
    // The habit: rm -f $(ps -aq).
    let all: Vec<String> = sb
        .den(&["ps", "-aq"])
        .ok()
        .stdout
        .lines()
        .map(String::from)
        .collect();
    let rm = sb
        .den(
            &[
                &["rm", "-f"][..],
                &all.iter().map(String::as_str).collect::<Vec<_>>(),
            ]
            .concat(),
        )
        .ok();
    assert_eq!(rm.stdout.lines().count(), 2, "{rm}");
    assert_eq!(sb.den(&["ps", "-aq"]).ok().stdout, "");
}

#[test]
fn errors_exit_as_docker_does() {
    let sb = Sandbox::new();
    // An unknown verb: docker's two lines, exit 1.
    let verb = sb.den(&["bogus"]);
    assert_eq!(verb.code(), 1, "{verb}");
    assert_eq!(
        verb.stderr,
        "den: 'bogus' is not a den command.\nSee 'den --help'\n"
    );
    // A missing argument is named; exit 1.
    let stop = sb.den(&["stop"]);
    assert_eq!(stop.code(), 1, "{stop}");
    assert!(
        stop.stderr
            .contains("\"den stop\" requires at least 1 argument: CONTAINER"),
        "{stop}"
    );
    // A bad flag: one line, 125.
    let flag = sb.den(&["ps", "--bogus"]);
    assert_eq!(flag.code(), 125, "{flag}");
    assert_eq!(flag.stderr.lines().count(), 1, "{flag}");
    // stop, kill, rm, start of a missing container: docker's words, exit 1.
    for verb in ["stop", "kill", "rm", "start"] {
        let out = sb.den(&[verb, "ghost"]);
        assert_eq!(out.code(), 1, "{verb}: {out}");
        assert_eq!(
            out.stderr.trim(),
            "Error: No such container: ghost",
            "{verb}: {out}"
        );
    }
    // `den network` alone: the group's help, exit 0 (docker's).
    let group = sb.den(&["network"]);
    assert_eq!(group.code(), 0, "{group}");
    assert!(group.stdout.contains("create"), "{group}");
}
