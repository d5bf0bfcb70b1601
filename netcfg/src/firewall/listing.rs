//! den's published-map elements from `nft -j list table ip den`.
//!
//! Shapes (nft 1.0.6, JSON schema 1): a map's `elem` is a list of `[key, value]`; a key is
//! `{"concat": [...]}`, or `{"elem": {"val": {"concat": [...]}, "comment": "..."}}` when the element
//! carries a comment; a value is `{"concat": ["172.30.0.2", 80]}`.

use std::net::Ipv4Addr;

use serde_json::Value;

use super::rules::{Element, MAP_ALL, MAP_ON};
use crate::ports::{PortMapping, Proto};

#[derive(Debug, thiserror::Error)]
pub enum ListingError {
    #[error("not JSON")]
    Json(#[source] serde_json::Error),
    #[error("an element of map {map} has an unexpected shape: {element}")]
    Element { map: String, element: String },
}

/// Every element of den's two published maps.
pub fn published_elements(json: &str) -> Result<Vec<Element>, ListingError> {
    let doc: Value = serde_json::from_str(json).map_err(ListingError::Json)?;
    let mut out = Vec::new();
    let objects = doc
        .get("nftables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten();
    for map in objects.filter_map(|o| o.get("map")) {
        let name = map.get("name").and_then(Value::as_str).unwrap_or_default();
        if name != MAP_ALL && name != MAP_ON {
            continue;
        }
        for pair in map
            .get("elem")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let bad = || ListingError::Element {
                map: name.to_string(),
                element: pair.to_string(),
            };
            out.push(element(name, pair).ok_or_else(bad)?);
        }
    }
    Ok(out)
}

fn element(map: &str, pair: &Value) -> Option<Element> {
    let [key, value] = pair.as_array()?.as_slice() else {
        return None;
    };
    let (key, comment) = match key.get("elem") {
        Some(e) => (
            e.get("val")?,
            e.get("comment").and_then(Value::as_str).unwrap_or_default(),
        ),
        None => (key, ""),
    };
    let key = key.get("concat")?.as_array()?;
    let (host_ip, proto, port) = match (map, key.as_slice()) {
        (MAP_ALL, [proto, port]) => (Ipv4Addr::UNSPECIFIED, proto, port),
        (MAP_ON, [ip, proto, port]) => (ip.as_str()?.parse().ok()?, proto, port),
        _ => return None,
    };
    let [cip, cport] = value.get("concat")?.as_array()?.as_slice() else {
        return None;
    };
    Some(Element {
        mapping: PortMapping {
            host_ip,
            host_port: port_of(port)?,
            container_port: port_of(cport)?,
            proto: proto_of(proto)?,
        },
        container_ip: cip.as_str()?.parse().ok()?,
        comment: comment.to_string(),
    })
}

fn port_of(v: &Value) -> Option<u16> {
    v.as_u64().and_then(|p| u16::try_from(p).ok())
}

/// nft prints known protocols by name, others by number.
fn proto_of(v: &Value) -> Option<Proto> {
    match (v.as_str(), v.as_u64()) {
        (Some("tcp"), _) | (_, Some(6)) => Some(Proto::Tcp),
        (Some("udp"), _) | (_, Some(17)) => Some(Proto::Udp),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from nft 1.0.6 (`nft -j list table ip den`), trimmed.
    const LISTING: &str = r#"{"nftables": [{"metainfo": {"version": "1.0.6", "json_schema_version": 1}},
      {"table": {"family": "ip", "name": "den", "handle": 1}},
      {"map": {"family": "ip", "name": "published", "table": "den", "type": ["inet_proto", "inet_service"], "handle": 5, "map": "ipv4_addr . inet_service",
        "elem": [[{"elem": {"val": {"concat": ["tcp", 8080]}, "comment": "den: container web (abc) -p 8080:80/tcp"}}, {"concat": ["172.30.0.2", 80]}],
                 [{"concat": ["udp", 5353]}, {"concat": ["172.30.0.3", 53]}]]}},
      {"map": {"family": "ip", "name": "published_on", "table": "den", "type": ["ipv4_addr", "inet_proto", "inet_service"], "handle": 6, "map": "ipv4_addr . inet_service",
        "elem": [[{"elem": {"val": {"concat": ["127.0.0.1", "tcp", 9090]}, "comment": "c"}}, {"concat": ["172.30.0.2", 80]}]]}},
      {"set": {"family": "ip", "name": "networks", "table": "den", "type": ["ipv4_addr", "ifname"], "handle": 7, "flags": ["interval"],
        "elem": [{"elem": {"val": {"concat": [{"prefix": {"addr": "172.30.0.0", "len": 16}}, "den0"]}, "comment": "network bridge"}}]}}]}"#;

    fn m(ip: &str, hp: u16, cp: u16, proto: Proto) -> PortMapping {
        PortMapping {
            host_ip: ip.parse().unwrap(),
            host_port: hp,
            container_port: cp,
            proto,
        }
    }

    #[test]
    fn parses_both_maps_with_and_without_comments() {
        let got = published_elements(LISTING).unwrap();
        let want = vec![
            Element {
                mapping: m("0.0.0.0", 8080, 80, Proto::Tcp),
                container_ip: "172.30.0.2".parse().unwrap(),
                comment: "den: container web (abc) -p 8080:80/tcp".into(),
            },
            Element {
                mapping: m("0.0.0.0", 5353, 53, Proto::Udp),
                container_ip: "172.30.0.3".parse().unwrap(),
                comment: String::new(),
            },
            Element {
                mapping: m("127.0.0.1", 9090, 80, Proto::Tcp),
                container_ip: "172.30.0.2".parse().unwrap(),
                comment: "c".into(),
            },
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn unexpected_element_is_an_error_naming_the_map() {
        let json =
            r#"{"nftables": [{"map": {"name": "published", "elem": [[{"concat": ["tcp"]}, 1]]}}]}"#;
        let e = published_elements(json).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("an element of map published has an unexpected shape"),
            "{e}"
        );
    }
}
