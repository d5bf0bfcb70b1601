use super::*;

/// Captured from nft 1.0.6 (`nft -j list table ip den` with a counter on the maps), trimmed.
const JSON: &str = r#"{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
  {"table": {"family": "ip", "name": "den", "handle": 1}},
  {"map": {"family": "ip", "name": "published", "table": "den", "type": ["inet_proto", "inet_service"], "handle": 2, "map": "ipv4_addr . inet_service",
    "elem": [[{"elem": {"val": {"concat": ["tcp", 8080]}, "comment": "den: container web (0123456789ab) -p 8080:80/tcp", "counter": {"packets": 3, "bytes": 180}}}, {"concat": ["172.17.0.2", 80]}]]}},
  {"set": {"family": "ip", "name": "networks", "table": "den", "type": ["ipv4_addr", "ifname"], "handle": 4, "flags": ["interval"],
    "elem": [{"elem": {"val": {"concat": [{"prefix": {"addr": "172.17.0.0", "len": 16}}, "den0"]}, "comment": "den: network bridge (den0)"}}]}},
  {"rule": {"family": "ip", "table": "den", "chain": "prerouting", "handle": 9, "comment": "den: published ports on all host addresses",
    "expr": [{"counter": {"packets": 5, "bytes": 300}}]}}]}"#;

const TEXT: &str = "table ip den { # handle 1\n\
    \tmap published { # handle 2\n\
    \t\ttype inet_proto . inet_service : ipv4_addr . inet_service\n\
    \t}\n\
    \tchain prerouting { # handle 8\n\
    \t\ttype nat hook prerouting priority dstnat; policy accept;\n\
    \t\tfib daddr type local dnat ip to meta l4proto . th dport map @published comment \"den: x\" # handle 9\n\
    \t}\n}\n";

#[test]
fn elements_carry_keys_values_comments_and_counters() {
    let doc: Value = serde_json::from_str(JSON).unwrap();
    let els = elements(&doc);
    assert_eq!(els.len(), 2);
    assert_eq!(els[0].key, "tcp . 8080");
    assert_eq!(els[0].value.as_deref(), Some("172.17.0.2 . 80"));
    assert_eq!((els[0].packets, els[0].bytes), (Some(3), Some(180)));
    assert_eq!(els[1].key, "172.17.0.0/16 . den0");
    assert_eq!(els[1].value, None);
    let p = published_of(&els[0]).unwrap();
    assert_eq!(
        (p.host_ip.as_str(), p.host_port, p.container_port),
        ("0.0.0.0", 8080, 80)
    );
    assert!(published_of(&els[1]).is_none());
    let table = DenTable {
        rules: Vec::new(),
        elements: els,
    };
    let nets = table.networks();
    assert_eq!(nets.len(), 1);
    assert_eq!(
        (
            nets[0].network.as_str(),
            nets[0].bridge.as_str(),
            nets[0].subnet.as_str()
        ),
        ("bridge", "den0", "172.17.0.0/16")
    );
}

#[test]
fn rule_text_is_matched_by_handle_and_counters_come_from_json() {
    let texts = rule_texts(TEXT);
    assert_eq!(texts.len(), 1, "{texts:?}");
    let doc: Value = serde_json::from_str(JSON).unwrap();
    let r = rule(doc["nftables"][4].get("rule").unwrap(), &texts).unwrap();
    assert_eq!(r.chain, "prerouting");
    assert!(
        r.text.starts_with("fib daddr type local dnat"),
        "{}",
        r.text
    );
    assert!(!r.text.contains("handle"));
    assert_eq!((r.packets, r.bytes), (Some(5), Some(300)));
}

#[test]
fn an_address_is_mentioned_by_itself_its_prefix_or_a_range() {
    let ip: Ipv4Addr = "172.17.0.2".parse().unwrap();
    let expr = |s: &str| -> Value { serde_json::from_str(s).unwrap() };
    assert!(mentions(
        &expr(r#"[{"match": {"right": "172.17.0.2"}}]"#),
        ip
    ));
    assert!(mentions(
        &expr(r#"{"prefix": {"addr": "172.17.0.0", "len": 16}}"#),
        ip
    ));
    assert!(mentions(
        &expr(r#"{"range": ["172.17.0.1", "172.17.0.9"]}"#),
        ip
    ));
    assert!(!mentions(
        &expr(r#"{"prefix": {"addr": "172.18.0.0", "len": 16}}"#),
        ip
    ));
    assert!(!mentions(&expr(r#"["172.17.0.20", 80]"#), ip));
}
