use super::*;

/// Captured from nft 1.0.6 in a sandbox: den's table with one published port, plus a foreign
/// `table ip filter` whose FORWARD chain has policy drop.
const JSON: &str = include_str!("testdata/ruleset.json");
const TEXT: &str = include_str!("testdata/ruleset.txt");

fn rs() -> Ruleset {
    Ruleset::parse(JSON, TEXT).unwrap()
}

#[test]
fn base_chains_of_every_table_by_hook_and_priority() {
    let rs = rs();
    let forward: Vec<String> = rs.chains_on("forward").iter().map(|c| c.path()).collect();
    assert_eq!(
        forward,
        [
            "table ip den chain forward",
            "table ip filter chain FORWARD"
        ]
    );
    let filter = rs.chains_on("forward")[1];
    assert_eq!(filter.policy.as_deref(), Some("drop"));
    assert!(!filter.is_den());
    // den's localnet (priority raw) before its DNAT chain (dstnat).
    let pre: Vec<i64> = rs.chains_on("prerouting").iter().map(|c| c.prio).collect();
    assert_eq!(pre, [-300, -100]);
}

#[test]
fn rules_carry_handle_comment_and_text() {
    let rs = rs();
    let dnat = rs
        .den_rule("prerouting", "den: published ports on all host addresses")
        .unwrap();
    assert_eq!(dnat.handle, 15);
    assert!(
        dnat.text
            .starts_with("fib daddr type local dnat ip to meta l4proto . th dport map @published"),
        "{}",
        dnat.text
    );
    let foreign = rs.rule("ip", "filter", 2).unwrap();
    assert_eq!(foreign.chain, "FORWARD");
    assert!(
        foreign.text.starts_with("iifname \"dt-up\" counter"),
        "{}",
        foreign.text
    );
}

#[test]
fn den_sets_and_maps() {
    let rs = rs();
    assert_eq!(
        rs.networks,
        [("172.20.0.0/16".parse().unwrap(), "den0".to_string())]
    );
    assert!(rs.internal.is_empty());
    assert_eq!(rs.masq_nets, ["172.20.0.0/16".parse::<Ipv4Net>().unwrap()]);
    assert!(rs.in_networks("172.20.0.9".parse().unwrap(), "den0"));
    assert!(!rs.in_networks("172.20.0.9".parse().unwrap(), "dt-up"));
    assert_eq!(rs.published.len(), 1);
    assert_eq!(rs.published[0].mapping.host_port, 8080);
    assert_eq!(
        rs.network_of("172.20.0.2".parse().unwrap())
            .map(|n| n.1.as_str()),
        Some("den0")
    );
    assert!(rs.has_den_table());
}

#[test]
fn an_empty_ruleset_has_no_den_table() {
    let rs = Ruleset::parse(r#"{"nftables": [{"metainfo": {}}]}"#, "").unwrap();
    assert!(!rs.has_den_table());
    assert!(rs.chains_on("forward").is_empty());
}
