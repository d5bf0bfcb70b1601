//! `ps --filter` health=, volume=, publish=, expose=; `network prune --filter`; `inspect -f` over a
//! list or a map field: what docker prints and how it refuses (moby's filter messages, exit 1).

use std::time::Duration;

use den_tests::{wait_for, Sandbox};

use super::img;

/// The NAMES of `den ps ARGS` (after the header), sorted.
fn ps_names(sb: &Sandbox, args: &[&str]) -> Vec<String> {
    let out = sb
        .den(&[&["ps", "--format", "{{.Names}}"][..], args].concat())
        .ok();
    let mut names: Vec<String> = out.stdout.lines().map(str::to_string).collect();
    names.sort();
    names
}

#[test]
fn ps_filters_by_health_volume_published_and_exposed_ports() {
    let sb = Sandbox::new();
    sb.run_detached(&[
        "--name",
        "web",
        "-p",
        "18080:80",
        "--expose",
        "7000",
        "-v",
        "webdata:/data",
        img(),
        "sleep",
        "300",
    ]);
    sb.run_detached(&[
        "--name",
        "checked",
        "--network",
        "none",
        "--health-cmd",
        "true",
        "--health-interval",
        "1s",
        img(),
        "sleep",
        "300",
    ]);
    let web = || vec!["web".to_string()];
    assert_eq!(ps_names(&sb, &["--filter", "volume=webdata"]), web());
    assert_eq!(ps_names(&sb, &["--filter", "volume=/data"]), web());
    assert!(ps_names(&sb, &["--filter", "volume=other"]).is_empty());
    assert_eq!(ps_names(&sb, &["--filter", "publish=18080"]), web());
    assert_eq!(
        ps_names(&sb, &["--filter", "publish=18000-18100/tcp"]),
        web()
    );
    assert!(ps_names(&sb, &["--filter", "publish=18080/udp"]).is_empty());
    assert!(ps_names(&sb, &["--filter", "publish=80"]).is_empty());
    assert_eq!(ps_names(&sb, &["--filter", "expose=80"]), web());
    assert_eq!(ps_names(&sb, &["--filter", "expose=7000/tcp"]), web());
    // publish= and expose= are alternatives of each other (moby), other keys must all match.
    assert_eq!(
        ps_names(&sb, &["--filter", "publish=1", "--filter", "expose=7000"]),
        web()
    );
    assert!(ps_names(
        &sb,
        &["--filter", "expose=7000", "--filter", "name=checked"]
    )
    .is_empty());
    assert_eq!(ps_names(&sb, &["--filter", "health=none"]), web());
    // name= is a regular expression, as docker's.
    assert_eq!(
        ps_names(&sb, &["--filter", "name=^(web|checked)$"]),
        ["checked", "web"]
    );
    assert_eq!(ps_names(&sb, &["--filter", "name=^w.b$"]), web());
    wait_for(Duration::from_secs(30), "checked to be healthy", || {
        (ps_names(&sb, &["--filter", "health=healthy"]) == vec!["checked".to_string()])
            .then_some(())
    });
    assert!(ps_names(&sb, &["--filter", "health=unhealthy"]).is_empty());

    // One line, moby's wording, docker's exit 1 for what the daemon refuses.
    for (spec, msg) in [
        (
            "health=bogus",
            "Unrecognised filter value for health: bogus",
        ),
        (
            "publish=80:80",
            "filter for 'publish' should not contain ':': 80:80",
        ),
        ("expose=http", "error while looking up for expose http"),
        ("colour=red", "invalid filter 'colour'"),
    ] {
        let out = sb.den(&["ps", "--filter", spec]).expect_code(1);
        assert_eq!(out.stderr_lines().len(), 1, "{out}");
        assert!(out.stderr.contains(msg), "{spec}: {out}");
    }
    // volume ls --filter dangling=: mounted by no container.
    sb.den(&["volume", "create", "lonely"]).ok();
    let vols = |f: &str| {
        sb.den(&["volume", "ls", "-q", "--filter", f])
            .ok()
            .out()
            .to_string()
    };
    assert_eq!(vols("dangling=true"), "lonely");
    assert_eq!(vols("dangling=false"), "webdata");
    let out = sb
        .den(&["network", "ls", "--filter", "dangling=true"])
        .expect_code(1);
    assert!(out.stderr.contains("invalid filter 'dangling'"), "{out}");
    sb.den(&["rm", "-f", "web", "checked"]).ok();
}

#[test]
fn inspect_templates_print_lists_and_maps_as_go_does() {
    let sb = Sandbox::new();
    sb.run_detached(&[
        "--name",
        "tmpl",
        "-p",
        "18081:80",
        "-l",
        "zeta=1",
        "-l",
        "alpha=2",
        "-e",
        "B=2",
        img(),
        "sleep",
        "300",
    ]);
    let f = |t: &str| sb.den(&["inspect", "-f", t, "tmpl"]).ok().out().to_string();
    assert_eq!(f("{{.Config.Cmd}}"), "[sleep 300]");
    assert_eq!(f("{{.Config.Labels}}"), "map[alpha:2 zeta:1]");
    assert_eq!(
        f("{{range $k, $v := .Config.Labels}}{{$k}}={{$v}},{{end}}"),
        "alpha=2,zeta=1,"
    );
    assert_eq!(
        f("{{.NetworkSettings.Ports}}"),
        "map[80/tcp:[{0.0.0.0 18081}]]"
    );
    assert_eq!(f("{{.Config.ExposedPorts}}"), "map[80/tcp:{}]");
    assert_eq!(f("{{.State.Running}} {{.RestartCount}}"), "true 0");
    assert!(f("{{.State.Pid}}").parse::<u32>().is_ok());
    assert!(f("{{.Config.Env}}").starts_with('[') && f("{{.Config.Env}}").contains("B=2"));
    assert_eq!(f("{{json .Config.Labels}}"), r#"{"alpha":"2","zeta":"1"}"#);
    let ps = sb.den(&["ps", "--format", "{{.Names}} {{.Labels}}"]).ok();
    assert_eq!(ps.out(), "tmpl alpha=2,zeta=1");
    sb.den(&["rm", "-f", "tmpl"]).ok();
}

#[test]
fn network_prune_takes_until_and_label_filters() {
    let sb = Sandbox::new();
    sb.den(&["network", "create", "keepme"]).ok();
    let prune = |f: &str| sb.den(&["network", "prune", "-f", "--filter", f]);
    // Made just now: not older than an hour ago, and no network of den's has labels.
    assert_eq!(prune("until=1h").ok().out(), "");
    assert_eq!(prune("label=team").ok().out(), "");
    let ls = sb.den(&["network", "ls", "--format", "{{.Name}}"]).ok();
    assert!(ls.stdout.lines().any(|l| l == "keepme"), "{ls}");
    let out = prune("colour=red").expect_code(1);
    assert!(out.stderr.contains("invalid filter 'colour'"), "{out}");
    let out = prune("until=soon").expect_code(1);
    assert!(
        out.stderr
            .contains("failed to parse value as time or duration"),
        "{out}"
    );
    // A time after it was made: pruned.
    let later = (std::time::SystemTime::now() + Duration::from_secs(60))
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        .to_string();
    assert_eq!(
        prune(&format!("until={later}")).ok().out(),
        "Deleted Networks:\nkeepme"
    );
}
