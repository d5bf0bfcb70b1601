//! Reading den's events journal back in tests: `den events ... --format json`, parsed.

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

use crate::Sandbox;

/// Now, as Unix seconds with nanoseconds (one of the forms `den events --since` takes).
pub fn unix_now() -> String {
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

/// An event's `Action`.
pub fn action(e: &Value) -> &str {
    e["Action"].as_str().unwrap_or_default()
}

/// One of an event's `Actor.Attributes`, or "".
pub fn attr<'a>(e: &'a Value, k: &str) -> &'a str {
    e["Actor"]["Attributes"][k].as_str().unwrap_or_default()
}

impl Sandbox {
    /// Every event `den events ARGS --format json` prints (ARGS must end it: an `--until`).
    pub fn events(&self, args: &[&str]) -> Vec<Value> {
        let mut all = vec!["events"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--format", "json"]);
        let out = self.den(&all).ok();
        out.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l:?}")))
            .collect()
    }
}
