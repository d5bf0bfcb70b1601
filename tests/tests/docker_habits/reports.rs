//! `den --help`, version, info, system df, the listings of networks, volumes and images, shell
//! completion and man pages, and published ports in inspect and ps, as docker prints them.

use den_tests::{fixtures, Sandbox};

use super::{img, is_hex, lines};

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
        // clap puts the help beside the flag, or (when the widest is too wide) on the next line.
        let lines: Vec<&str> = run_help.lines().collect();
        let at = lines.iter().position(|l| l.contains(flag));
        let line = at.map(|i| lines[i].trim()).unwrap_or_default();
        let next = at.and_then(|i| lines.get(i + 1)).map_or("", |l| l.trim());
        let next_is_help = line.len() <= flag.len() + 5 && !next.starts_with('-') && next.len() > 8;
        assert!(
            line.len() > flag.len() + 8 || next_is_help,
            "{flag} has no help line\n{run_help}"
        );
    }
    assert!(
        run_help.contains("container:NAME"),
        "--network help: {run_help}"
    );

    // Every flag and argument of every verb has a help line (`logs` is another helper's).
    for verb in [
        "run",
        "ps",
        "exec",
        "rm",
        "stop",
        "kill",
        "start",
        "top",
        "stats",
        "inspect",
        "port",
        "pull",
        "login",
        "logout",
        "tag",
        "images",
        "rmi",
        "cp",
        "version",
        "info",
        "completion",
        "man",
        "image load",
        "image rm",
        "network create",
        "network ls",
        "network inspect",
        "volume create",
        "volume ls",
        "volume inspect",
        "volume rm",
        "volume prune",
        "system df",
    ] {
        let args: Vec<&str> = verb.split(' ').chain(["--help"]).collect();
        let help = sb.den(&args).ok().stdout;
        let lines: Vec<&str> = help.lines().map(str::trim).collect();
        for (i, line) in lines.iter().enumerate() {
            let flag = line.starts_with('-') || line.starts_with('<') || line.starts_with('[');
            let parts = line.split("  ").filter(|p| !p.trim().is_empty()).count();
            // clap's two layouts: the help beside the flag, or on the next line (wide flags).
            let next = lines.get(i + 1).copied().unwrap_or_default();
            let below = !next.is_empty() && !next.starts_with('-') && !next.starts_with('<');
            assert!(
                !flag || parts >= 2 || below,
                "den {verb}: {line:?} has no help line"
            );
        }
    }
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
    // PortBindings keep the address as asked (none: ""), as docker's do.
    assert_eq!(
        tf("{{json .HostConfig.PortBindings}}"),
        "{\"80/tcp\":[{\"HostIp\":\"\",\"HostPort\":\"8080\"}]}\n"
    );
    assert_eq!(tf("{{json .Config.ExposedPorts}}"), "{\"80/tcp\":{}}\n");
    let ps = sb.den(&["ps", "--format", "{{.Ports}}|{{.Networks}}"]).ok();
    assert_eq!(ps.stdout, "0.0.0.0:8080->80/tcp|bridge\n");
    let by_net = sb.den(&["ps", "-q", "--filter", "network=bridge"]).ok();
    assert_eq!(by_net.stdout.lines().count(), 1, "{by_net}");
    sb.den(&["rm", "-f", "pweb"]).ok();
}
