//! `den trace`: real packets' walk through hooks, chains and rules, from the kernel's nftrace
//! events; the trace table is removed on exit, on SIGINT, and by `den gc` after a SIGKILL.

use std::time::Duration;

use den_tests::{
    addr, assert_rejected, fixtures, http_get, wait_ok, wait_until, Proc, Sandbox, HOST_ADDR,
    SIGINT, SIGKILL, START_TIMEOUT,
};

const WEB: &str =
    "mkdir -p /w && echo hi > /w/index.html && echo ready && exec httpd -f -p 80 -h /w";
const END: Duration = Duration::from_secs(30);

fn web(sb: &Sandbox) -> Proc {
    let den = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        "web",
        "-p",
        "8080:80",
        fixtures().dir_arg(),
        "sh",
        "-c",
        WEB,
    ]);
    sb.wait_running(&den, "web");
    den.wait_stdout("ready", START_TIMEOUT);
    den
}

fn handle(sb: &Sandbox, chain: &str, comment: &str) -> String {
    let out = sb.host(&format!("nft -a list chain ip den {chain}")).ok();
    let line = out
        .stdout
        .lines()
        .find(|l| l.contains(&format!("comment \"{comment}\"")))
        .unwrap_or_else(|| panic!("no rule {comment:?}\n{out}"));
    line.rsplit("# handle ").next().unwrap().trim().to_string()
}

/// `nft list tables` in the sandbox's host netns.
fn tables(sb: &Sandbox) -> String {
    sb.host("nft list tables").ok().stdout
}

#[test]
fn probe_shows_the_dnat_and_forward_accept_of_a_real_packet_and_leaves_nothing() {
    let sb = Sandbox::new();
    web(&sb);
    let links_before = sb.host("ip -o link | cut -d: -f2").ok().stdout;
    let out = sb.den(&["trace", "web", "--probe"]).ok();
    let s = &out.stdout;
    let dnat = handle(
        &sb,
        "prerouting",
        "den: published ports on all host addresses",
    );
    assert!(
        s.contains(&format!(
            "table ip den chain prerouting: rule handle {dnat}: fib daddr type local dnat"
        )),
        "{out}"
    );
    let fwd = handle(&sb, "forward", "den: published ports");
    assert!(s.contains(&format!("table ip den chain forward: rule handle {fwd}: ct status dnat accept comment \"den: published ports\" -> accept")), "{out}");
    assert!(
        s.contains("-> 172.20.0.2:80 [SYN]"),
        "the DNATed SYN\n{out}"
    );
    assert!(s.contains("[SYN ACK]"), "the container's answer\n{out}");
    assert!(
        s.contains("probe: tcp ") && s.contains("connected"),
        "{out}"
    );
    assert!(
        !tables(&sb).contains("den_trace_"),
        "trace table left behind"
    );
    assert_eq!(
        sb.host("ip -o link | cut -d: -f2").ok().stdout,
        links_before,
        "probe veth left behind"
    );
}

#[test]
fn traffic_from_outside_is_traced_until_ctrl_c() {
    let sb = Sandbox::new();
    web(&sb);
    let trace = sb.den_spawn(&["trace", "web", "--port", "8080", "--for", "25"]);
    trace.wait_stdout("tracing web", START_TIMEOUT);
    assert!(tables(&sb).contains("den_trace_"));
    wait_ok(START_TIMEOUT, "GET :8080 from outside", || {
        http_get(&sb.out_ns_path(), addr(&format!("{HOST_ADDR}:8080")))
    });
    trace.wait_stdout("in dt-up", START_TIMEOUT);
    trace.signal(SIGINT);
    let out = trace.wait(END).ok();
    assert!(
        out.stdout.contains("tcp 10.250.0.2:")
            && out.stdout.contains("-> 10.250.0.1:8080 [SYN] in dt-up"),
        "{out}"
    );
    assert!(out.stdout.contains("stopped after SIGINT"), "{out}");
    assert!(
        !tables(&sb).contains("den_trace_"),
        "trace table left after Ctrl-C"
    );
}

#[test]
fn bounded_by_packets() {
    let sb = Sandbox::new();
    web(&sb);
    let trace = sb.den_spawn(&["trace", "web", "--count", "2", "--for", "25"]);
    trace.wait_stdout("tracing web", START_TIMEOUT);
    wait_ok(START_TIMEOUT, "GET :8080", || {
        http_get(&sb.out_ns_path(), addr(&format!("{HOST_ADDR}:8080")))
    });
    let out = trace.wait(END).ok();
    assert!(
        out.stdout.contains("stopped after 2 packets") && !out.stdout.contains("packet 3:"),
        "{out}"
    );
}

#[test]
fn a_killed_trace_leaves_its_table_to_gc() {
    let sb = Sandbox::new();
    web(&sb);
    let trace = sb.den_spawn(&["trace", "web", "--for", "25"]);
    trace.wait_stdout("tracing web", START_TIMEOUT);
    trace.signal(SIGKILL);
    trace.wait(END);
    assert!(
        tables(&sb).contains("den_trace_"),
        "SIGKILL cannot clean up; gc must"
    );
    let gc = sb.den(&["gc"]).ok();
    assert!(
        gc.stdout.contains("den_trace_") || gc.stderr.contains("den_trace_"),
        "{gc}"
    );
    wait_until(START_TIMEOUT, "the trace table gone", || {
        !tables(&sb).contains("den_trace_")
    });
    assert!(
        tables(&sb).contains("table ip den"),
        "gc removed den's own table"
    );
}

#[test]
fn bad_requests_are_one_line() {
    let sb = Sandbox::new();
    assert_rejected(&sb.den(&["trace", "ghost"]), &["ghost"]);
    web(&sb);
    assert_rejected(&sb.den(&["trace", "web", "--for", "0"]), &["--for"]);
    assert_rejected(&sb.den(&["trace", "web", "--port", "x"]), &["x"]);
}
