//! `network rm` of a network a stopped container is on: as docker (a stopped container holds no
//! endpoint, so moby removes the network), the network goes; the container's next start fails in
//! one line naming the missing network and leaves nothing behind; made again, it can be joined.

use den_tests::Sandbox;

use super::img;

fn links(sb: &Sandbox) -> String {
    let out = sb.host("ip -o link show | cut -d: -f2 | sort").ok();
    out.stdout
}

#[test]
fn a_network_a_stopped_container_would_join_can_go_and_its_start_then_names_it() {
    let sb = Sandbox::new();
    sb.den(&["network", "create", "gone"]).ok();
    sb.den(&[
        "run",
        "--name",
        "member",
        "--network",
        "gone",
        img(),
        "true",
    ])
    .ok();
    let before = links(&sb);
    assert_eq!(sb.den(&["network", "rm", "gone"]).ok().out(), "gone");
    let start = sb.den(&["start", "member"]).expect_code(125);
    assert_eq!(start.stderr_lines().len(), 1, "{start}");
    assert!(
        start.stderr.contains("network \"gone\" not found"),
        "{start}"
    );
    let state = sb
        .den(&["inspect", "-f", "{{.State.Status}}", "member"])
        .ok();
    assert_eq!(state.out(), "exited");
    let after = links(&sb);
    assert!(
        after.lines().count() < before.lines().count() && !after.contains("veth"),
        "the bridge went with the network, the failed start made no veth\nbefore:\n{before}\nafter:\n{after}"
    );
    // Made again under its name: the container joins it at its next start (docker looks a
    // container's network up by name too).
    sb.den(&["network", "create", "gone"]).ok();
    sb.den(&["start", "member"]).ok();
    sb.den(&["rm", "-f", "member"]).ok();
    sb.den(&["network", "rm", "gone"]).ok();
}
