//! `den exec` into a running container, and `--network container:NAME`.
//! Long-running containers are foreground `den run`s in the background (`den_spawn`).

use std::path::Path;
use std::time::Duration;

use den_tests::{
    assert_rejected, den_bin, fixtures, procs, wait_ok, Output, Proc, Sandbox, SIGTERM,
    START_TIMEOUT,
};

const EXIT_TIMEOUT: Duration = Duration::from_secs(20);

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// `den exec ARGS...`, to completion.
fn exec(sb: &Sandbox, args: &[&str]) -> Output {
    sb.den(&[&["exec"][..], args].concat())
}

/// A running container `name` (`--network none`, removed when it ends) running `cmd`; returns
/// den and the container's host pid.
fn start(sb: &Sandbox, name: &str, opts: &[&str], cmd: &[&str]) -> (Proc, u32) {
    let head = ["run", "--rm", "--network", "none", "--name", name];
    let den = sb.den_spawn(&[&head[..], opts, &[img()], cmd].concat());
    let pid = sb.wait_running(&den, name).pid().expect("pid");
    (den, pid)
}

/// `ps` output as (pid, command) rows.
fn ps_rows(ps: &str) -> Vec<(u32, String)> {
    ps.lines()
        .skip(1)
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            let pid = words.next()?.parse().ok()?;
            let cmd = words.skip(1).collect::<Vec<_>>().join(" ");
            Some((pid, cmd))
        })
        .collect()
}

#[test]
fn exec_joins_every_namespace_and_the_root_of_the_container() {
    let sb = Sandbox::new();
    let script = "echo from-the-container > /marker; exec sleep 300";
    let (_den, pid) = start(&sb, "box", &["--hostname", "box1"], &["sh", "-c", script]);
    wait_ok(START_TIMEOUT, "the marker file", || {
        let out = exec(&sb, &["box", "cat", "/marker"]);
        match out.out() {
            "from-the-container" => Ok(()),
            _ => Err(out),
        }
    });
    assert_eq!(exec(&sb, &["box", "hostname"]).ok().out(), "box1");

    // Each of the exec'd process's namespaces is the container's PID 1's.
    let script = "for n in mnt uts ipc net pid; do readlink /proc/self/ns/$n; done";
    let links = exec(&sb, &["box", "sh", "-c", script]).ok();
    let seen: Vec<&str> = links.stdout.lines().collect();
    for (kind, link) in ["mnt", "uts", "ipc", "net", "pid"].iter().zip(&seen) {
        let theirs = procs::ns_inode(Path::new(&format!("/proc/{pid}/ns/{kind}")))
            .unwrap_or_else(|| panic!("ns/{kind} of container pid {pid}"));
        assert_eq!(*link, format!("{kind}:[{theirs}]"), "{links}");
    }
    assert_eq!(seen.len(), 5, "{links}");

    // An exec'd process shows in the container's ps, with a PID of the container's namespace;
    // den exec forwards SIGTERM to it.
    let sleeper = sb.den_spawn(&["exec", "box", "sleep", "77"]);
    let rows = wait_ok(START_TIMEOUT, "the exec'd sleep in ps", || {
        let out = exec(&sb, &["box", "ps"]).ok();
        let rows = ps_rows(&out.stdout);
        match rows.iter().any(|(_, c)| c == "sleep 77") {
            true => Ok(rows),
            false => Err(out),
        }
    });
    assert!(rows.contains(&(1, "sleep 300".into())), "{rows:?}");
    for (p, cmd) in &rows {
        assert!(
            *p < 100,
            "{cmd} has pid {p}: not the container's numbering\n{rows:?}"
        );
    }
    assert!(rows.iter().any(|(_, c)| c == "ps"), "{rows:?}");
    sleeper.signal(SIGTERM);
    sleeper.wait(EXIT_TIMEOUT).expect_code(128 + SIGTERM);
}

#[test]
fn exec_runs_with_the_containers_privileges_env_and_workdir() {
    let sb = Sandbox::new();
    let (_den, _) = start(&sb, "box", &["-e", "RUNVAR=1"], &["sleep", "300"]);
    let status = exec(&sb, &["box", "cat", "/proc/self/status"]).ok();
    let line = |key: &str| {
        status
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
            .unwrap_or_else(|| panic!("no {key} in\n{status}"))
    };
    assert_eq!(line("CapEff:"), "00000000a80425fb");
    assert_eq!(line("CapBnd:"), "00000000a80425fb");
    assert_eq!(line("NoNewPrivs:"), "1");
    assert_eq!(line("Uid:"), "0\t0\t0\t0");

    let show = ["sh", "-c", "echo $RUNVAR $NEW; pwd"];
    let out = exec(&sb, &[&["box"][..], &show].concat()).ok();
    assert_eq!(out.out(), "1\n/", "the container's env and cwd");
    let opts = ["-e", "RUNVAR=2", "-e", "NEW=x", "-w", "/tmp", "box"];
    let out = exec(&sb, &[&opts[..], &show].concat()).ok();
    assert_eq!(out.out(), "2 x\n/tmp", "-e overrides, -w");
    let out = exec(&sb, &["-u", "nobody", "box", "id"]).ok();
    assert_eq!(out.out(), "uid=65534(nobody) gid=65534(nogroup)");

    exec(&sb, &["box", "true"]).ok();
    exec(&sb, &["box", "sh", "-c", "exit 7"]).expect_code(7);
    let missing = exec(&sb, &["box", "no-such-command"]).expect_code(127);
    assert_eq!(missing.stderr_lines().len(), 1, "{missing}");
    assert!(missing.stderr.contains("no-such-command"), "{missing}");
    exec(&sb, &["box", "/etc/passwd"]).expect_code(126);
}

#[test]
fn exec_with_a_terminal_and_with_stdin() {
    let sb = Sandbox::new();
    let (_den, _) = start(&sb, "box", &[], &["sleep", "300"]);
    // The pty comes from the container's own devpts, so the process finds its name there.
    let out = exec(&sb, &["-t", "box", "sh", "-c", "tty; echo $TERM"]).ok();
    let lines: Vec<&str> = out.stdout.lines().map(str::trim).collect();
    assert!(
        lines.first().is_some_and(|l| l.starts_with("/dev/pts/")),
        "{out}"
    );
    assert_eq!(lines.get(1), Some(&"xterm"), "{out}");
    exec(&sb, &["box", "tty"]).expect_code(1);

    let den = den_bin();
    let script = format!(
        "printf 'line one\\nline two\\n' | {} --root {} exec -i box sh -c 'cat; exit 3'",
        den.display(),
        sb.root().display()
    );
    let out = sb.host(&script).expect_code(3);
    assert_eq!(out.out(), "line one\nline two");
}

#[test]
fn exec_on_an_unknown_or_exited_container_is_rejected() {
    let sb = Sandbox::new();
    assert_rejected(&exec(&sb, &["ghost", "true"]), &["ghost"]);
    let args = ["run", "--network", "none", "--name", "done", img(), "true"];
    sb.den(&args).ok();
    assert_rejected(&exec(&sb, &["done", "true"]), &["done"]);
    sb.den(&["rm", "done"]).ok();
}

#[test]
fn container_network_shares_eth0_and_lo_but_not_pid_1() {
    let sb = Sandbox::new();
    let web = ["httpd", "-f", "-p", "127.0.0.1:8000", "-h", "/var/www"];
    let head = ["run", "--rm", "--name", "web", img()];
    let den = sb.den_spawn(&[&head[..], &web].concat());
    let info = sb.wait_running(&den, "web");
    let ip = info.ip().expect("web has an address");

    let script = "ip -4 -o addr show eth0; hostname; ps; \
                  timeout 10 wget -q -O - http://127.0.0.1:8000/";
    let args = [
        "run",
        "--rm",
        "--network",
        "container:web",
        img(),
        "sh",
        "-c",
    ];
    let out = wait_ok(
        START_TIMEOUT,
        "the joined container to reach web's lo",
        || {
            let out = sb.den(&[&args[..], &[script]].concat());
            match out.success() {
                true => Ok(out),
                false => Err(out),
            }
        },
    );
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].contains(&format!("inet {ip}/")),
        "not web's eth0\n{out}"
    );
    let own_hostname = exec(&sb, &["web", "hostname"]).ok();
    assert_eq!(
        lines[1],
        own_hostname.out(),
        "docker: the hostname is web's"
    );
    let rows = ps_rows(&lines[2..].join("\n"));
    assert!(
        rows.iter().any(|(p, c)| *p == 1 && c.starts_with("sh -c")),
        "its own PID 1\n{out}"
    );
    assert!(!rows.iter().any(|(_, c)| c.contains("httpd")), "{out}");
    assert_eq!(lines.last(), Some(&"hello from den"), "{out}");

    // The same /etc files as web's, and web's own view is unchanged.
    let hosts = exec(&sb, &["web", "cat", "/etc/hosts"]).ok();
    assert!(hosts.stdout.contains(&ip), "{hosts}");
    let args = [
        "run",
        "--rm",
        "--network",
        "container:web",
        img(),
        "cat",
        "/etc/hosts",
    ];
    assert_eq!(sb.den(&args).ok().stdout, hosts.stdout);
    let web_ps = ps_rows(&exec(&sb, &["web", "ps"]).ok().stdout);
    assert!(web_ps
        .iter()
        .any(|(p, c)| *p == 1 && c.starts_with("httpd")));
}

#[test]
fn container_network_of_a_stopped_or_unknown_container_is_rejected() {
    let sb = Sandbox::new();
    let args = ["run", "--network", "none", "--name", "gone", img(), "true"];
    sb.den(&args).ok();
    let before = sb.footprint();
    let join = |net: &str, extra: &[&str]| {
        let head = ["run", "--rm", "--network", net];
        sb.den(&[&head[..], extra, &[img(), "true"]].concat())
    };
    assert_rejected(&join("container:gone", &[]), &["gone"]);
    assert_rejected(&join("container:ghost", &[]), &["ghost"]);
    sb.assert_footprint(&before, "container: of a stopped or unknown container");

    let (_den, _) = start(&sb, "up", &[], &["sleep", "300"]);
    let before = sb.footprint();
    assert_rejected(
        &join("container:up", &["-p", "8080:80"]),
        &["port publishing"],
    );
    assert_rejected(&join("container:up", &["--hostname", "h"]), &["hostname"]);
    sb.assert_footprint(&before, "container: with conflicting options");
}
