//! Tables made before den's published maps carried per-element counters (`counter;` in the map
//! declarations). nft refuses to re-declare a map with other flags ("File exists"), so such a
//! table is upgraded in ONE transaction: the two chains that use the maps are flushed, the maps
//! deleted, then the caller's usual text re-creates them (with counters) and re-states the rules,
//! and every element the old maps held is added back. Only tried after the usual text failed, so
//! the hot path never pays for it.

use serde_json::Value;

use super::listing::published_elements;
use super::nft::{Nft, NftError};
use super::rules::{self, MAP_ALL, MAP_ON, TABLE};

/// The text that upgrades den's table before `then` (an `ensure_network` text) runs; `None` when
/// there is no table or its maps already count.
pub(super) fn upgrade(nft: &mut Nft, then: &str) -> Result<Option<String>, NftError> {
    let json = match nft.run_json(&format!("list table {TABLE}")) {
        Ok(j) => j,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let Ok(doc) = serde_json::from_str::<Value>(&json) else {
        return Ok(None);
    };
    let old: Vec<&str> = doc
        .get("nftables")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|o| o.get("map"))
        .filter(|m| {
            matches!(
                m.get("name").and_then(Value::as_str),
                Some(MAP_ALL | MAP_ON)
            )
        })
        .filter(|m| !counts(m))
        .filter_map(|m| m.get("name").and_then(Value::as_str))
        .collect();
    if old.is_empty() {
        return Ok(None);
    }
    let Ok(elements) = published_elements(&json) else {
        return Ok(None);
    };
    let mut text = format!("flush chain {TABLE} prerouting\nflush chain {TABLE} output\n");
    for map in old {
        text.push_str(&format!("delete map {TABLE} {map}\n"));
    }
    text.push_str(then);
    text.push_str(&rules::add_elements(&elements));
    Ok(Some(text))
}

/// Does a listed map carry the `counter` flag (`"stmt": [{"counter": null}]`)?
fn counts(map: &Value) -> bool {
    map.get("stmt")
        .and_then(Value::as_array)
        .is_some_and(|s| s.iter().any(|x| x.get("counter").is_some()))
}
