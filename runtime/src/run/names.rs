//! docker-style generated container names: `adjective_scientist`, picked from the container id.

const ADJECTIVES: &[&str] = &[
    "admiring", "bold", "brave", "busy", "calm", "clever", "eager", "epic", "gifted", "happy",
    "jolly", "keen", "lucid", "nifty", "quirky", "serene", "sharp", "sleepy", "vivid", "zen",
];
const NAMES: &[&str] = &[
    "babbage",
    "cerf",
    "curie",
    "dijkstra",
    "engelbart",
    "hopper",
    "kahn",
    "knuth",
    "lamport",
    "liskov",
    "lovelace",
    "metcalfe",
    "perlman",
    "postel",
    "ritchie",
    "shannon",
    "thompson",
    "torvalds",
    "turing",
    "wozniak",
];

/// A name derived from the id's first hex digits, with the short id appended so it is unique.
pub fn generate(id: &str) -> String {
    let n = u32::from_str_radix(&id[..4], 16).unwrap_or(0) as usize;
    format!(
        "{}_{}_{}",
        ADJECTIVES[n % ADJECTIVES.len()],
        NAMES[(n / ADJECTIVES.len()) % NAMES.len()],
        &id[..6]
    )
}
