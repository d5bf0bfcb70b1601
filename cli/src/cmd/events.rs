//! `den events`: print the journal's events (docker's lines, a template, or JSON), then follow it.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use den_runtime::events::{self, Event, EventError, Filter, ReadOptions};
use den_runtime::logs::stamp;
use serde_json::Value;

use crate::format::Template;

#[derive(clap::Args)]
pub struct Args {
    /// Show events since a time (RFC 3339, Unix seconds, or a duration back from now like 10m).
    #[arg(long)]
    since: Option<String>,
    /// Stop at a time (same forms as --since); without it, new events are followed live.
    #[arg(long)]
    until: Option<String>,
    /// Only matching events: type=, event=, container=, image=, network=, volume=, label=, scope=.
    #[arg(short = 'f', long = "filter", value_name = "KEY=VALUE")]
    filters: Vec<String>,
    /// A Go template over each event (`{{.Action}} {{.Actor.Attributes.name}}`), or json.
    #[arg(long)]
    format: Option<String>,
}

pub fn main(root: &Path, a: Args) -> Result<i32> {
    let now = stamp::now();
    let time = |s: &Option<String>| {
        s.as_deref()
            .map(|s| stamp::parse_time(s, now).map_err(anyhow::Error::msg))
            .transpose()
    };
    let opts = ReadOptions {
        since: time(&a.since)?,
        until: time(&a.until)?,
        filter: Filter::parse(&a.filters)?,
    };
    let shape = match a.format.as_deref().map(str::trim) {
        None | Some("") => Shape::Human,
        Some("json" | "{{json .}}") => Shape::Json,
        Some(t) => Shape::Template(Template::new(&t.replace("\\t", "\t").replace("\\n", "\n"))?),
    };
    let mut stdout = std::io::stdout().lock();
    let mut print = |e: &Event| -> std::io::Result<()> {
        let line = match &shape {
            Shape::Human => human(e),
            Shape::Json => e.to_line(),
            Shape::Template(t) => t.render(&fields(e)).map_err(std::io::Error::other)?,
        };
        writeln!(stdout, "{line}")?;
        // A follower's reader sees each event as it comes.
        stdout.flush()
    };
    match events::read(root, &opts, &mut print) {
        // Whoever read our output (`| head`) has seen enough.
        Err(EventError::Write(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(0),
        r => r.map(|()| 0).map_err(Into::into),
    }
}

enum Shape {
    Human,
    /// docker's `{{json .}}`: the journal's line as it is.
    Json,
    Template(Template),
}

/// What a template sees: the event's JSON keys, and Go's field names of docker's `events.Message`
/// for those whose JSON key differs (`{{.ID}}`, `{{.Status}}`, `{{.TimeNano}}`).
fn fields(e: &Event) -> Value {
    let mut v = serde_json::to_value(e).expect("an event serialises");
    if let Value::Object(m) = &mut v {
        for (go, key) in [
            ("Status", "status"),
            ("ID", "id"),
            ("From", "from"),
            ("Scope", "scope"),
            ("Time", "time"),
            ("TimeNano", "timeNano"),
        ] {
            let value = m.get(key).cloned().unwrap_or(Value::String(String::new()));
            m.insert(go.into(), value);
        }
    }
    v
}

/// docker's line: `TIME TYPE ACTION ID (key=value, ...)`, the attributes sorted by key.
fn human(e: &Event) -> String {
    let t = stamp::format(Duration::from_nanos(e.time_nano.max(0) as u64));
    let mut s = format!("{t} {} {} {}", e.kind.as_str(), e.action, e.actor.id);
    if !e.actor.attributes.is_empty() {
        let attrs: Vec<String> = e
            .actor
            .attributes
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        s.push_str(&format!(" ({})", attrs.join(", ")));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use den_runtime::events::Kind;

    #[test]
    fn human_lines_are_dockers() {
        let mut e = Event::new(Kind::Container, "die", "abc")
            .attr("name", "web")
            .attr("exitCode", 3);
        e.time_nano = 1_796_187_600_123_456_789;
        assert_eq!(
            human(&e),
            "2026-12-02T05:00:00.123456789Z container die abc (exitCode=3, name=web)"
        );
    }

    #[test]
    fn templates_know_gos_field_names_too() {
        let e = Event::new(Kind::Container, "start", "abc").attr("name", "web");
        let t = Template::new("{{.ID}} {{.Status}} {{.Type}} {{.Actor.Attributes.name}}").unwrap();
        assert_eq!(t.render(&fields(&e)).unwrap(), "abc start container web");
        let n = Event::new(Kind::Network, "create", "n1");
        // A missing attribute is Go's "<no value>", as in docker.
        assert_eq!(t.render(&fields(&n)).unwrap(), "  network <no value>");
    }
}
