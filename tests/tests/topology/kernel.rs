//! Comparing den's JSON with what `ip -j` and `bridge -j` say inside a namespace.

use den_tests::Sandbox;
use serde_json::Value;

use super::json;

/// `ip -j link` and `ip -j addr` in the namespace `nsenter ARG` enters.
pub(crate) fn kernel(sb: &Sandbox, enter: &str) -> (Value, Value) {
    let link = sb.host(&format!("nsenter {enter} ip -j link")).ok();
    let addr = sb.host(&format!("nsenter {enter} ip -j addr")).ok();
    (json(&link.stdout), json(&addr.stdout))
}

/// Every link of `ns` (den's JSON) matches `ip -j link`/`ip -j addr` there, field by field.
pub(crate) fn matches_kernel(ns: &Value, links: &Value, addrs: &Value) -> Result<(), String> {
    let ours = ns["links"].as_array().unwrap();
    let theirs = links.as_array().unwrap();
    let same = |what: &str, a: &Value, b: &Value| {
        if a == b {
            Ok(())
        } else {
            Err(format!("{what}: den says {a}, ip says {b}"))
        }
    };
    same(
        &format!("number of links of {}", ns["owner"]),
        &ours.len().into(),
        &theirs.len().into(),
    )?;
    for k in theirs {
        let index = k["ifindex"].as_u64().unwrap();
        let l = ours
            .iter()
            .find(|l| l["index"].as_u64() == Some(index))
            .ok_or_else(|| format!("no link {index} in {ns}"))?;
        let what = format!("link {} of {}", k["ifname"], ns["owner"]);
        same(&format!("{what} name"), &l["name"], &k["ifname"])?;
        same(&format!("{what} mac"), &l["mac"], &k["address"])?;
        same(&format!("{what} mtu"), &l["mtu"], &k["mtu"])?;
        same(
            &format!("{what} operstate"),
            &l["operstate"],
            &k["operstate"],
        )?;
        let master = k.get("master").cloned().unwrap_or(Value::Null);
        same(&format!("{what} master"), &l["master"], &master)?;
        if let Some(peer) = k.get("link_index") {
            same(&format!("{what} peer index"), &l["peer"]["index"], peer)?;
            same(
                &format!("{what} netnsid"),
                &l["peer"]["netnsid"],
                &k["link_netnsid"],
            )?;
        }
        let mut want: Vec<String> = addrs
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["ifindex"].as_u64() == Some(index))
            .flat_map(|a| a["addr_info"].as_array().cloned().unwrap_or_default())
            .map(|i| format!("{}/{}", i["local"].as_str().unwrap(), i["prefixlen"]))
            .collect();
        let mut got: Vec<String> = l["addresses"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap().to_string())
            .collect();
        got.sort();
        want.sort();
        if got != want {
            return Err(format!(
                "{what} addresses: den says {got:?}, ip says {want:?}"
            ));
        }
    }
    Ok(())
}

/// Each bridge port's `fdb` is `bridge -j fdb show`'s entries with a master for that port.
pub(crate) fn fdb_matches(host: &Value, fdb: &Value) -> Result<(), String> {
    for l in host["links"].as_array().unwrap() {
        let mut got: Vec<&str> = l["fdb"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["mac"].as_str().unwrap())
            .collect();
        let mut want: Vec<&str> = fdb
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ifname"] == l["name"] && e.get("master").is_some())
            .map(|e| e["mac"].as_str().unwrap())
            .collect();
        got.sort();
        want.sort();
        if got != want {
            return Err(format!(
                "fdb of {}: den says {got:?}, bridge says {want:?}",
                l["name"]
            ));
        }
    }
    Ok(())
}
