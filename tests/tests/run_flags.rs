//! docker's `den run` flags for files, names and ports, end to end: `--dns*` in resolv.conf,
//! `--add-host` and `--network-alias` in /etc/hosts, `-P` with `--expose` reachable from outside,
//! `--mac-address` in `ip link`, `--cidfile`, `--env-file`, labels, `--net`; and their bad values
//! refused in one line with nothing left behind.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use den_tests::{
    addr, assert_rejected, fixtures, http_get, wait_ok, Footprint, Registry, Sandbox, HOST_ADDR,
    START_TIMEOUT,
};

const WEB: &str = "mkdir -p /var/www && echo hello-den > /var/www/index.html \
                   && exec httpd -f -p 80 -h /var/www";

fn img() -> &'static str {
    fixtures().dir_arg()
}

/// `den run --rm ARGS... IMG sh -c SCRIPT`, its stdout.
fn run(sb: &Sandbox, args: &[&str], script: &str) -> String {
    let all = [&["run", "--rm"][..], args, &[img(), "sh", "-c", script]].concat();
    sb.den(&all).ok().stdout
}

fn state_json(sb: &Sandbox, id: &str) -> serde_json::Value {
    let path = sb.root().join("containers").join(id).join("state.json");
    serde_json::from_slice(&fs::read(&path).unwrap()).unwrap()
}

#[test]
fn dns_flags_write_resolv_conf() {
    let sb = Sandbox::new();
    let conf = run(
        &sb,
        &[
            "--dns",
            "10.0.0.53",
            "--dns",
            "10.0.0.54",
            "--dns-search",
            "example.com",
            "--dns-option",
            "ndots:2",
        ],
        "cat /etc/resolv.conf",
    );
    let lines: Vec<&str> = conf.lines().filter(|l| !l.starts_with('#')).collect();
    assert!(
        lines.ends_with(&[
            "nameserver 10.0.0.53",
            "nameserver 10.0.0.54",
            "search example.com",
            "options ndots:2"
        ]),
        "{conf}"
    );
    assert_eq!(conf.matches("nameserver").count(), 2, "{conf}");
}

#[test]
fn add_host_and_network_alias_are_in_etc_hosts() {
    let sb = Sandbox::new();
    sb.den(&["network", "create", "--subnet", "10.77.0.0/24", "team"])
        .ok();
    sb.run_detached(&[
        "--name",
        "web",
        "--network",
        "team",
        "--network-alias",
        "www",
        img(),
        "sh",
        "-c",
        WEB,
    ]);
    let script = "cat /etc/hosts; wget -qO- http://www/";
    let out = run(
        &sb,
        &[
            "--network",
            "team",
            "--add-host",
            "db:10.9.8.7",
            "--add-host",
            "gw:host-gateway",
        ],
        script,
    );
    assert!(out.contains("10.9.8.7\tdb\n"), "{out}");
    assert!(out.contains("10.77.0.1\tgw\n"), "{out}");
    assert!(out.contains(" www\n"), "the alias is missing\n{out}");
    assert!(out.ends_with("hello-den\n"), "www did not answer\n{out}");
    sb.den(&["rm", "-f", "web"]).ok();
}

#[test]
fn publish_all_maps_exposed_ports_to_random_host_ports() {
    let sb = Sandbox::new();
    sb.run_detached(&[
        "--name",
        "web",
        "-P",
        "--expose",
        "80",
        "--expose",
        "7000/udp",
        img(),
        "sh",
        "-c",
        WEB,
    ]);
    let out = sb.den(&["port", "web"]).ok().stdout;
    let port_of = |spec: &str| -> u16 {
        let line = out
            .lines()
            .find(|l| l.starts_with(spec))
            .unwrap_or_else(|| panic!("no {spec} in\n{out}"));
        line.rsplit(':').next().unwrap().trim().parse().unwrap()
    };
    let (tcp, udp) = (
        port_of("80/tcp -> 0.0.0.0:"),
        port_of("7000/udp -> 0.0.0.0:"),
    );
    let local = sb
        .host("cat /proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .stdout;
    let (lo, hi): (u16, u16) = {
        let mut w = local.split_whitespace().map(|w| w.parse().unwrap());
        (w.next().unwrap(), w.next().unwrap())
    };
    for p in [tcp, udp] {
        assert!((lo..=hi).contains(&p), "{p} outside {lo}-{hi}");
    }
    let to = addr(&format!("{HOST_ADDR}:{tcp}"));
    let page = wait_ok(START_TIMEOUT, "the -P port", || {
        http_get(&sb.out_ns_path(), to)
    });
    assert_eq!(page, "hello-den\n");
    sb.den(&["rm", "-f", "web"]).ok();
}

/// Writes `body` as a blob of the OCI layout at `layout`; returns its digest.
fn put_blob(layout: &Path, body: &[u8]) -> String {
    let hex = format!("{:x}", Sha256::digest(body));
    fs::write(layout.join("blobs/sha256").join(&hex), body).unwrap();
    format!("sha256:{hex}")
}

fn blob_json(layout: &Path, digest: &str) -> serde_json::Value {
    let path = layout.join("blobs").join(digest.replace(':', "/"));
    serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
}

/// A copy of the fixture's OCI layout whose image config EXPOSEs `ports`.
fn image_exposing(sb: &Sandbox, ports: &[&str]) -> PathBuf {
    let layout = sb.scratch().join("exposing.oci");
    let cp = std::process::Command::new("cp")
        .arg("-a")
        .arg(&fixtures().oci)
        .arg(&layout)
        .status()
        .unwrap();
    assert!(cp.success());
    let mut index: serde_json::Value =
        serde_json::from_slice(&fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mut manifest = blob_json(&layout, index["manifests"][0]["digest"].as_str().unwrap());
    let mut config = blob_json(&layout, manifest["config"]["digest"].as_str().unwrap());
    let exposed: serde_json::Map<String, serde_json::Value> = ports
        .iter()
        .map(|p| (p.to_string(), serde_json::json!({})))
        .collect();
    config["config"]["ExposedPorts"] = exposed.into();
    let body = serde_json::to_vec(&config).unwrap();
    manifest["config"]["digest"] = put_blob(&layout, &body).into();
    manifest["config"]["size"] = body.len().into();
    let body = serde_json::to_vec(&manifest).unwrap();
    index["manifests"][0]["digest"] = put_blob(&layout, &body).into();
    index["manifests"][0]["size"] = body.len().into();
    fs::write(
        layout.join("index.json"),
        serde_json::to_vec(&index).unwrap(),
    )
    .unwrap();
    layout
}

#[test]
fn publish_all_publishes_the_images_exposed_ports() {
    let sb = Sandbox::new();
    let layout = image_exposing(&sb, &["80/tcp"]);
    let id = sb.run_detached(&["-P", layout.to_str().unwrap(), "sh", "-c", WEB]);
    let out = sb.den(&["port", &id[..12]]).ok().stdout;
    let port: u16 = out
        .lines()
        .find_map(|l| l.strip_prefix("80/tcp -> 0.0.0.0:"))
        .unwrap_or_else(|| panic!("80/tcp is not published:\n{out}"))
        .trim()
        .parse()
        .unwrap();
    let to = addr(&format!("{HOST_ADDR}:{port}"));
    let page = wait_ok(START_TIMEOUT, "the image's port", || {
        http_get(&sb.out_ns_path(), to)
    });
    assert_eq!(page, "hello-den\n");
    // Without -P, EXPOSE publishes nothing.
    let id = sb.run_detached(&[layout.to_str().unwrap(), "sleep", "60"]);
    assert_eq!(sb.den(&["port", &id[..12]]).ok().stdout, "");
    sb.den(&["rm", "-f", &id[..12]]).ok();
}

#[test]
fn quiet_run_pulls_without_a_word() {
    let sb = Sandbox::new();
    let reg = Registry::http(&sb, 5000);
    reg.push_fixture(&sb, "busybox:latest").ok();
    let image = format!("{}/busybox:latest", reg.addr);
    let out = sb
        .den(&[
            "run",
            "--rm",
            "-q",
            "--network",
            "none",
            &image,
            "echo",
            "hi",
        ])
        .ok();
    assert_eq!(
        (out.stdout.as_str(), out.stderr.as_str()),
        ("hi\n", ""),
        "{out}"
    );
    sb.den(&["rmi", &image]).ok();
    let out = sb
        .den(&["run", "--rm", "--network", "none", &image, "echo", "hi"])
        .ok();
    assert!(out.stderr.contains("Unable to find image"), "{out}");
}

#[test]
fn mac_address_is_the_interfaces() {
    let sb = Sandbox::new();
    let out = run(
        &sb,
        &["--mac-address", "02:42:ac:11:00:99"],
        "ip link show eth0",
    );
    assert!(out.contains("link/ether 02:42:ac:11:00:99 "), "{out}");
}

#[test]
fn cidfile_env_file_labels_and_net() {
    let sb = Sandbox::new();
    let cid = sb.scratch().join("web.cid");
    let env = sb.scratch().join("app.env");
    fs::write(
        &env,
        "# settings\nGREETING=hello world\n\n  PATH\nUNSET_IN_DEN_XYZ\n",
    )
    .unwrap();
    let labels = sb.scratch().join("labels");
    fs::write(&labels, "tier=web\nteam=a\n").unwrap();
    let id = sb.run_detached(&[
        "--name",
        "web",
        "--cidfile",
        cid.to_str().unwrap(),
        "--env-file",
        env.to_str().unwrap(),
        "-e",
        "GREETING=overridden?no",
        "--label-file",
        labels.to_str().unwrap(),
        "-l",
        "team=b",
        "--label",
        "solo",
        "--net",
        "none",
        img(),
        "sleep",
        "60",
    ]);
    assert_eq!(fs::read_to_string(&cid).unwrap(), id);
    let record = state_json(&sb, &id);
    assert_eq!(
        record["labels"],
        serde_json::json!({"tier": "web", "team": "b", "solo": ""})
    );
    let env_list: Vec<&str> = record["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(env_list.contains(&"GREETING=overridden?no"), "{env_list:?}");
    assert!(env_list.iter().any(|e| e.starts_with("PATH=")));
    assert!(!env_list.iter().any(|e| e.starts_with("UNSET_IN_DEN_XYZ")));
    assert_eq!(record["network_mode"], "none");
    // docker refuses an existing cidfile, and makes nothing.
    let before = sb.footprint();
    let again = sb.den(&[
        "run",
        "-d",
        "--cidfile",
        cid.to_str().unwrap(),
        img(),
        "true",
    ]);
    assert_rejected(&again, &["container ID file found"]);
    sb.assert_footprint(&before, "an existing --cidfile");
    sb.den(&["rm", "-f", "web"]).ok();
    // A relative --cidfile is the caller's, also for -d (whose supervisor works from /).
    let out = sb
        .host(&format!(
            "cd {} && {} --root {} run -d --cidfile rel.cid --network none {} true",
            sb.scratch().display(),
            den_tests::den_bin().display(),
            sb.root().display(),
            img()
        ))
        .ok();
    assert_eq!(
        fs::read_to_string(sb.scratch().join("rel.cid")).unwrap(),
        out.stdout.trim()
    );
    // Without -e the file's value is what the container gets.
    let out = run(
        &sb,
        &["--env-file", env.to_str().unwrap(), "--network", "none"],
        "echo \"$GREETING\"",
    );
    assert_eq!(out, "hello world\n");
}

/// A sandbox where den has run one bridged container (so lazily made state exists), and its
/// footprint.
fn warmed_up() -> (Sandbox, Footprint) {
    let sb = Sandbox::new();
    sb.den(&["run", "--rm", img(), "true"]).ok();
    let fp = sb.footprint();
    (sb, fp)
}

#[test]
fn bad_values_are_refused_in_one_line_leaving_nothing() {
    let (sb, before) = warmed_up();
    let missing = sb.scratch().join("no.env");
    let bad_env = sb.scratch().join("bad.env");
    fs::write(&bad_env, "GOOD=1\nBAD NAME=2\n").unwrap();
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["--dns", "1.2.3.x"], "1.2.3.x"),
        (vec!["--dns-search", "bad domain"], "bad domain"),
        (vec!["--add-host", "nohost"], "nohost"),
        (vec!["--add-host", "h:1.2.3"], "1.2.3"),
        (vec!["--mac-address", "zz:zz"], "zz:zz"),
        (vec!["--mac-address", "01:00:5e:00:00:01"], "multicast"),
        (vec!["--expose", "80-x"], "80-x"),
        (vec!["--network-alias", "x"], "user defined networks"),
        (
            vec!["--network", "host", "--mac-address", "02:42:ac:11:00:99"],
            "mac-address",
        ),
        (vec!["--env-file", missing.to_str().unwrap()], "no.env"),
        (vec!["--env-file", bad_env.to_str().unwrap()], "BAD NAME"),
        (vec!["--label", "=v"], "=v"),
    ];
    for (flags, culprit) in cases {
        let args = [&["run", "--rm"][..], &flags, &[img(), "true"]].concat();
        let out = sb.den(&args);
        assert_rejected(&out, &[culprit]);
        sb.assert_footprint(&before, &format!("den {}", args.join(" ")));
    }
}
