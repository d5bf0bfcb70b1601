//! The commands a docker user types from habit, run against the real den binary in a sandbox,
//! checked against what docker prints and returns (docker's documented output: its ps/images/
//! network ls/volume ls/system df headers, its inspect template examples, its exit codes).

use den_tests::{fixtures, Output, Sandbox};

fn img() -> &'static str {
    fixtures().dir_arg()
}

fn lines(out: &Output) -> Vec<&str> {
    out.stdout.lines().collect()
}

fn is_hex(s: &str, n: usize) -> bool {
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
    let bad = sb.den(&["ps", "--filter", "colour=red"]);
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

#[test]
fn reports_and_listings_print_docker_headers() {
    let sb = Sandbox::new();
    let help = sb.den(&["--help"]).ok().stdout;
    let common = help.find("Common Commands:").expect("Common Commands");
    let mgmt = help
        .find("Management Commands:")
        .expect("Management Commands");
    assert!(
        common < mgmt && help[common..mgmt].contains("\n  run "),
        "{help}"
    );
    assert!(help[mgmt..].contains("\n  network "), "{help}");
    let run_help = sb.den(&["run", "--help"]).ok().stdout;
    for flag in [
        "--name <NAME>",
        "--user <USER>",
        "--entrypoint <ENTRYPOINT>",
    ] {
        let line = run_help
            .lines()
            .find(|l| l.contains(flag))
            .unwrap_or_default();
        assert!(
            line.trim().len() > flag.len() + 8,
            "{flag} has no help line\n{run_help}"
        );
    }
    assert!(
        run_help.contains("container:NAME"),
        "--network help: {run_help}"
    );

    let version = sb
        .den(&[
            "version",
            "--format",
            "{{.Client.Version}} {{.Server.Version}}",
        ])
        .ok();
    let v = env!("CARGO_PKG_VERSION");
    assert_eq!(version.stdout, format!("{v} {v}\n"));
    let info = sb
        .den(&[
            "info",
            "--format",
            "{{.CgroupVersion}} {{.Containers}} {{.OSType}}",
        ])
        .ok();
    let cg = if std::path::Path::new("/sys/fs/cgroup/cgroup.controllers").exists() {
        "2"
    } else {
        "1"
    };
    assert_eq!(info.stdout, format!("{cg} 0 linux\n"));
    let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap();
    assert!(sb
        .den(&["info"])
        .ok()
        .stdout
        .contains(&format!("Kernel Version: {}", kernel.trim())));

    let df = sb.den(&["system", "df"]).ok();
    assert_eq!(
        lines(&df)[0],
        "TYPE            TOTAL     ACTIVE    SIZE      RECLAIMABLE",
        "{df}"
    );
    let kinds: Vec<&str> = lines(&df)[1..]
        .iter()
        .map(|l| &l[..16])
        .map(str::trim)
        .collect();
    assert_eq!(
        kinds,
        ["Images", "Containers", "Local Volumes", "Build Cache"],
        "{df}"
    );

    let nets = sb.den(&["network", "ls"]).ok();
    assert_eq!(
        lines(&nets)[0],
        "NETWORK ID     NAME      DRIVER    SCOPE",
        "{nets}"
    );
    assert!(
        lines(&nets)
            .iter()
            .any(|l| l.split_whitespace().nth(1) == Some("bridge")),
        "{nets}"
    );
    let q = sb
        .den(&["network", "ls", "-q", "--filter", "name=bridge"])
        .ok();
    assert!(
        q.stdout.lines().all(|l| is_hex(l, 12)) && !q.stdout.is_empty(),
        "{q}"
    );
    let nf = sb
        .den(&[
            "network",
            "inspect",
            "-f",
            "{{.Name}} {{.Driver}}",
            "bridge",
        ])
        .ok();
    assert_eq!(nf.stdout, "bridge bridge\n");

    sb.den(&["volume", "create", "v1"]).ok();
    let vols = sb.den(&["volume", "ls"]).ok();
    assert_eq!(vols.stdout, "DRIVER    VOLUME NAME\nlocal     v1\n");
    assert_eq!(
        sb.den(&["volume", "ls", "-q", "-f", "name=v"]).ok().stdout,
        "v1\n"
    );
    assert_eq!(
        sb.den(&["volume", "ls", "-q", "-f", "name=zz"]).ok().stdout,
        ""
    );
    let mp = sb.den(&["inspect", "-f", "{{.Mountpoint}}", "v1"]).ok();
    assert!(mp.stdout.trim().ends_with("v1/_data"), "{mp}");

    sb.den(&["image", "load", "--name", "habits:1", fixtures().tar_arg()])
        .ok();
    let images = sb.den(&["images"]).ok();
    let head = lines(&images)[0];
    assert!(
        head.starts_with("REPOSITORY   TAG       IMAGE ID       CREATED"),
        "{images}"
    );
    assert!(head.ends_with("SIZE"), "{images}");
    let mine = sb
        .den(&[
            "images",
            "--filter",
            "reference=habits*",
            "--format",
            "{{.Repository}}:{{.Tag}}",
        ])
        .ok();
    assert_eq!(mine.stdout, "habits:1\n");
    let id = sb
        .den(&["images", "-q", "--filter", "reference=habits"])
        .ok();
    assert!(is_hex(id.out(), 12), "{id}");
    let it = sb
        .den(&["inspect", "--type", "image", "-f", "{{.Id}}", "habits:1"])
        .ok();
    assert!(
        it.out().starts_with("sha256:") && it.out()[7..].starts_with(id.out()),
        "{it}"
    );

    let bash = sb.den(&["completion", "bash"]).ok();
    assert!(
        bash.stdout.contains("_den()") && bash.stdout.contains("complete -F"),
        "bash completion"
    );
    let zsh = sb.den(&["completion", "zsh"]).ok();
    assert!(zsh.stdout.starts_with("#compdef den"));
    let man = sb.scratch().join("man");
    sb.den(&["man", man.to_str().unwrap()]).ok();
    for page in ["den.1", "den-run.1", "den-network-create.1"] {
        let text =
            std::fs::read_to_string(man.join(page)).unwrap_or_else(|e| panic!("{page}: {e}"));
        assert!(text.contains(".TH"), "{page} is not a man page");
    }
}

#[test]
fn published_ports_print_in_docker_shapes() {
    let sb = Sandbox::new();
    sb.den(&[
        "run",
        "-d",
        "--name",
        "pweb",
        "-p",
        "8080:80",
        img(),
        "sleep",
        "300",
    ])
    .ok();
    let tf = |t: &str| sb.den(&["inspect", "-f", t, "pweb"]).ok().stdout;
    assert_eq!(
        tf("{{json .NetworkSettings.Ports}}"),
        "{\"80/tcp\":[{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"8080\"}]}\n"
    );
    // docker's documentation: the ports and the address by template.
    assert_eq!(
        tf("{{range $p, $conf := .NetworkSettings.Ports}} {{$p}} -> {{(index $conf 0).HostPort}} {{end}}"),
        " 80/tcp -> 8080 \n"
    );
    let ip = tf("{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}");
    assert_eq!(ip, tf("{{.NetworkSettings.IPAddress}}"));
    assert!(ip.trim().parse::<std::net::Ipv4Addr>().is_ok(), "{ip}");
    assert_eq!(
        tf("{{.NetworkSettings.Networks.bridge.Gateway}}"),
        tf("{{.NetworkSettings.Gateway}}")
    );
    let net_id = tf("{{.NetworkSettings.Networks.bridge.NetworkID}}");
    let bridge_id = sb
        .den(&["network", "inspect", "-f", "{{.Id}}", "bridge"])
        .ok()
        .stdout;
    assert_eq!(net_id, bridge_id);
    assert_eq!(
        tf("{{json .HostConfig.PortBindings}}"),
        tf("{{json .NetworkSettings.Ports}}")
    );
    assert_eq!(tf("{{json .Config.ExposedPorts}}"), "{\"80/tcp\":{}}\n");
    let ps = sb.den(&["ps", "--format", "{{.Ports}}|{{.Networks}}"]).ok();
    assert_eq!(ps.stdout, "0.0.0.0:8080->80/tcp|bridge\n");
    let by_net = sb.den(&["ps", "-q", "--filter", "network=bridge"]).ok();
    assert_eq!(by_net.stdout.lines().count(), 1, "{by_net}");
    sb.den(&["rm", "-f", "pweb"]).ok();
}
