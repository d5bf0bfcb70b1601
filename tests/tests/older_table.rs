//! A den table written by an older den, whose forward chain had no `@bridges` test: the first
//! network den creates afterwards re-states the rules, and the networks whose bridges were already
//! there stay isolated (their bridges join `@bridges` in the same transaction).

use std::time::Duration;

use den_tests::{fixtures, Output, Sandbox, START_TIMEOUT};

const EXIT_TIMEOUT: Duration = Duration::from_secs(20);
const WEB: &str =
    "mkdir -p /w && echo hi > /w/index.html && echo ready && exec httpd -f -p 80 -h /w";

/// The forward chain as den wrote it before it tested `@bridges` first (no such set either).
const OLD_FORWARD: &str = r#"flush chain ip den forward
delete set ip den bridges
add rule ip den forward iifname @internal ip daddr . iifname != @networks drop comment "den: --internal, nothing leaves the network"
add rule ip den forward oifname @internal ip saddr . oifname != @networks drop comment "den: --internal, nothing enters the network"
add rule ip den forward ip daddr . oifname @networks ct state established,related accept comment "den: replies into a network"
add rule ip den forward ip daddr . oifname @networks ct status dnat accept comment "den: published ports"
add rule ip den forward ip daddr . oifname @networks ip daddr . iifname @networks accept comment "den: within a network"
add rule ip den forward ip daddr . oifname @networks drop comment "den: anything else routed into a network: other networks (isolation) and the outside (moby#45610)"
"#;

fn bridges_set(sb: &Sandbox) -> String {
    sb.host("nft list set ip den bridges").ok().stdout
}

fn reached(out: &Output) -> bool {
    out.stdout.lines().any(|l| l == "reached")
}

#[test]
fn networks_made_under_an_older_table_stay_isolated_after_it_is_restated() {
    let sb = Sandbox::new();
    sb.den(&["network", "create", "old"]).ok();
    let web = sb.den_spawn(&[
        "run",
        "--rm",
        "--name",
        "web",
        "--network",
        "old",
        fixtures().dir_arg(),
        "sh",
        "-c",
        WEB,
    ]);
    let info = sb.wait_running(&web, "web");
    web.wait_stdout("ready", START_TIMEOUT);
    let bridge = info.bridge().unwrap();
    sb.host(&format!("nft -f - <<'EOF'\n{OLD_FORWARD}EOF")).ok();
    assert!(
        sb.host("nft list set ip den bridges").code() != 0,
        "the old table has no bridges set"
    );

    // A new network: its bridge is made, and with it den's rules and sets are re-stated.
    sb.den(&["network", "create", "new"]).ok();
    let ip = info.ip().unwrap();
    let script = format!(
        "if timeout 3 wget -qO- http://{ip}/ >/dev/null 2>&1; then echo reached; else echo blocked; fi"
    );
    let probe = sb.den(&[
        "run",
        "--rm",
        "--network",
        "new",
        fixtures().dir_arg(),
        "sh",
        "-c",
        &script,
    ]);
    let probe = probe.ok();
    let set = bridges_set(&sb);
    assert!(
        !reached(&probe),
        "a container on `new` reached web on `old`\n{probe}\n{set}"
    );
    assert!(probe.stdout.contains("blocked"), "{probe}");
    assert!(set.contains(&format!("\"{bridge}\"")), "{set}");

    // Control: from its own network web is reachable.
    let same = sb.den(&[
        "run",
        "--rm",
        "--network",
        "old",
        fixtures().dir_arg(),
        "sh",
        "-c",
        &script,
    ]);
    assert!(reached(&same.ok()), "web on its own network");
    sb.kill_member(info.pid().unwrap(), den_tests::SIGKILL);
    web.wait(EXIT_TIMEOUT);
}
