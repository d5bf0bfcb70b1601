//! What den leaves in a sandbox: links, firewall, leases, containers, files, mounts.
//! Take one before an operation and compare after it to prove nothing was left behind.

use serde_json::Value;
use std::fmt::Debug;
use std::fs;
use std::path::Path;

use crate::sandbox::{mounts_mentioning, Sandbox};
use std::time::{Duration, Instant};

/// How long [`Sandbox::assert_footprint`] lets the kernel finish asynchronous cleanup
/// (a dead container's network namespace, and with it its veth, is freed by a work queue).
const SETTLE: Duration = Duration::from_secs(10);

/// See the module docs.
#[derive(Debug, Clone, PartialEq)]
pub struct Footprint {
    /// `name [master X]` of every link in the host netns (peer suffixes dropped).
    pub links: Vec<String>,
    /// `nft list ruleset` in the host netns with counter values zeroed.
    pub nft: String,
    /// The leases in the bridge network's lease file (see [`leases_of`]), if it exists.
    pub leases: Option<Value>,
    /// How many lines `den ps -a` prints (not the text: it may show ages like "Up 2 seconds").
    pub containers: usize,
    /// Every path under den's state dir, relative to it, except empty directories (a store's
    /// skeleton made on first use is not something an operation left behind) and den's caches
    /// under `cache/` (compiled seccomp filters by digest, kept by design like the layer store).
    pub files: Vec<String>,
    /// Mounts in this (the machine's) mount namespace under the sandbox dir.
    pub mounts: Vec<String>,
    /// The cgroups of the sandbox's containers (see `cgroups`).
    pub cgroups: Vec<String>,
}

/// `name [master X]` for each line of `ip -o link` output.
pub fn link_names(ip_o_link: &str) -> Vec<String> {
    let mut out: Vec<String> = ip_o_link
        .lines()
        .filter_map(|l| {
            let name = l.split(": ").nth(1)?.split('@').next()?.to_string();
            let words: Vec<&str> = l.split_whitespace().collect();
            let master = words
                .windows(2)
                .find(|w| w[0] == "master")
                .map(|w| format!(" master {}", w[1]))
                .unwrap_or_default();
            Some(name + &master)
        })
        .collect();
    out.sort();
    out
}

/// `nft list ruleset` text with the numbers after `packets`/`bytes` replaced by 0.
pub fn normalize_nft(ruleset: &str) -> String {
    ruleset
        .lines()
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let mut out = Vec::with_capacity(words.len());
            for (i, w) in words.iter().enumerate() {
                let after_counter = i > 0 && matches!(words[i - 1], "packets" | "bytes");
                out.push(if after_counter { "0" } else { w });
            }
            out.join(" ")
        })
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Adds the paths under `dir` (relative to `base`) to `out`, leaving out directories with
/// nothing but (empty) directories below them. Returns whether it added anything.
fn walk(base: &Path, dir: &Path, out: &mut Vec<String>) -> bool {
    let Ok(entries) = fs::read_dir(dir) else {
        return false;
    };
    let mut added = false;
    for e in entries.flatten() {
        let p = e.path();
        let is_dir = e.file_type().is_ok_and(|t| t.is_dir());
        if !is_dir || walk(base, &p, out) {
            out.push(p.strip_prefix(base).unwrap_or(&p).display().to_string());
            added = true;
        }
    }
    added
}

/// The leases in a lease file: its `leases` member if it has one (den also keeps an
/// allocation cursor there, which may move), else the whole document.
pub fn leases_of(doc: Value) -> Value {
    match doc {
        Value::Object(mut m) if m.contains_key("leases") => m.remove("leases").unwrap_or_default(),
        other => other,
    }
}

impl Sandbox {
    /// Asserts the footprint returns to `before` (waiting a bounded time for asynchronous
    /// kernel cleanup); panics listing the differences otherwise.
    #[track_caller]
    pub fn assert_footprint(&self, before: &Footprint, context: &str) {
        let deadline = Instant::now() + SETTLE;
        loop {
            let now = self.footprint();
            if now == *before {
                return;
            }
            if Instant::now() >= deadline {
                now.assert_same_as(before, context);
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Takes the sandbox's footprint (see [`Footprint`]), once den's helper has emptied the trash
    /// (`--rm` renames a container's dir there and removes its files after `den run` returned);
    /// whatever is still there after [`SETTLE`] is counted.
    pub fn footprint(&self) -> Footprint {
        let trash = self.root().join("trash");
        let deadline = Instant::now() + SETTLE;
        while fs::read_dir(&trash).is_ok_and(|mut d| d.next().is_some())
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let links = link_names(&self.host("ip -o link").ok().stdout);
        let nft = normalize_nft(&self.host("nft list ruleset").ok().stdout);
        let leases = fs::read_to_string(self.leases_path()).ok().map(|t| {
            leases_of(
                serde_json::from_str(&t)
                    .unwrap_or_else(|e| panic!("{}: {e}", self.leases_path().display())),
            )
        });
        let ps = self.den(&["ps", "-a"]).ok().stdout;
        let containers = ps.lines().filter(|l| !l.trim().is_empty()).count();
        let mut files = Vec::new();
        walk(self.root(), self.root(), &mut files);
        // The events journal is history den keeps on purpose (`den events`), not a leftover.
        let journal = ["events.jsonl", "events.1.jsonl", "events.lock"];
        files
            .retain(|f| f != "cache" && !f.starts_with("cache/") && !journal.contains(&f.as_str()));
        files.sort();
        Footprint {
            links,
            nft,
            leases,
            containers,
            files,
            mounts: mounts_mentioning(&self.dir_needle()),
            cgroups: crate::cgroups::listing(self.name()),
        }
    }
}

fn diff<T: PartialEq + Debug>(what: &str, before: &T, after: &T, out: &mut Vec<String>) {
    if before != after {
        out.push(format!(
            "{what} changed:\n  before: {before:#?}\n  after:  {after:#?}"
        ));
    }
}

impl Footprint {
    /// Panics listing every difference between `self` (after) and `before`.
    #[track_caller]
    pub fn assert_same_as(&self, before: &Footprint, context: &str) {
        let mut d = Vec::new();
        diff("host links", &before.links, &self.links, &mut d);
        diff("nft ruleset", &before.nft, &self.nft, &mut d);
        diff("leases", &before.leases, &self.leases, &mut d);
        diff(
            "lines of den ps -a",
            &before.containers,
            &self.containers,
            &mut d,
        );
        diff(
            "files under the state dir",
            &before.files,
            &self.files,
            &mut d,
        );
        diff("mounts", &before.mounts, &self.mounts, &mut d);
        diff("cgroups", &before.cgroups, &self.cgroups, &mut d);
        assert!(
            d.is_empty(),
            "{context}: left something behind:\n{}",
            d.join("\n")
        );
    }
}
