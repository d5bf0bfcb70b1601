//! docker's face of the command line: `den --help` lists the verbs by group as `docker --help`
//! does, and clap's errors read as docker's (an unknown verb: exit 1 and docker's two lines; a
//! missing argument: its name in one line, exit 1; any other bad flag: one line, exit 125).

use std::process::ExitCode;

use clap::error::{ContextKind, ContextValue, ErrorKind};

/// The groups of `den --help`, in docker's order; a verb in none of them is listed under
/// "Commands" (so a new verb shows up without an edit here).
const GROUPS: &[(&str, &[&str])] = &[
    (
        "Common Commands",
        &[
            "run", "exec", "ps", "pull", "push", "images", "login", "logout", "version", "info",
        ],
    ),
    (
        "Management Commands",
        &["container", "image", "network", "volume", "system"],
    ),
    (
        "Networking Insight Commands (den's own)",
        &[
            "demo", "explain", "trace", "topology", "veth", "ns", "rules",
        ],
    ),
];

/// `cmd` with docker's grouped help as its template.
pub fn with_groups(cmd: clap::Command) -> clap::Command {
    let verbs: Vec<(String, String)> = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(|s| {
            let about = s.get_about().map(|a| a.to_string()).unwrap_or_default();
            (
                s.get_name().to_string(),
                about.trim_end_matches('.').to_string(),
            )
        })
        .collect();
    let mut text = String::from("Usage:  den [OPTIONS] COMMAND\n\n{about}\n");
    let line = |(name, about): &(String, String)| format!("  {name:<11} {about}\n");
    for (group, names) in GROUPS {
        let members: Vec<&(String, String)> = names
            .iter()
            .filter_map(|n| verbs.iter().find(|(v, _)| v == n))
            .collect();
        if !members.is_empty() {
            text.push_str(&format!("\n{group}:\n"));
            members.into_iter().for_each(|v| text.push_str(&line(v)));
        }
    }
    // The rest in alphabetical order, as docker's "Commands:".
    text.push_str("\nCommands:\n");
    let mut rest: Vec<&(String, String)> = verbs
        .iter()
        .filter(|(v, _)| !GROUPS.iter().any(|(_, names)| names.contains(&v.as_str())))
        .collect();
    rest.sort();
    for v in rest {
        text.push_str(&line(v));
    }
    text.push_str("\nGlobal Options:\n{options}\n\nRun 'den COMMAND --help' for more information on a command.\n");
    // Braces in a verb's help would read as template placeholders.
    cmd.help_template(text.replace("{{", "(").replace("}}", ")"))
}

/// One of docker's run/create flags den lacks, with why (see `refused_flags`).
fn refused_flag(e: &clap::Error) -> Option<(&'static str, &'static str)> {
    let path = command_path(e);
    if !(path.ends_with(" run") || path.ends_with(" create")) {
        return None;
    }
    match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) => crate::refused_flags::reason(arg),
        _ => None,
    }
}

/// The verb path of a clap error (`den stop`), from its usage line.
fn command_path(e: &clap::Error) -> String {
    let usage = match e.get(ContextKind::Usage) {
        Some(ContextValue::StyledStr(s)) => s.to_string(),
        _ => String::new(),
    };
    let words: Vec<&str> = usage
        .split_whitespace()
        .skip_while(|w| *w != "den")
        .take_while(|w| !w.starts_with(['[', '<', '-']))
        .collect();
    if words.is_empty() {
        "den".into()
    } else {
        words.join(" ")
    }
}

/// What den prints and returns for a command line clap refused.
pub fn refused(e: clap::Error) -> ExitCode {
    match e.kind() {
        ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
            let _ = e.print();
            ExitCode::SUCCESS
        }
        // `den network`: the group's help, as docker prints it for `docker network`.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            use std::io::Write;
            let _ = write!(std::io::stdout(), "{}", e.render());
            ExitCode::SUCCESS
        }
        ErrorKind::InvalidSubcommand => {
            let verb = match e.get(ContextKind::InvalidSubcommand) {
                Some(ContextValue::String(s)) => s.clone(),
                _ => String::new(),
            };
            let path = command_path(&e);
            eprintln!("den: '{verb}' is not a {path} command.\nSee '{path} --help'");
            ExitCode::from(1)
        }
        ErrorKind::MissingRequiredArgument => {
            let missing: Vec<String> = match e.get(ContextKind::InvalidArg) {
                Some(ContextValue::Strings(v)) => v.clone(),
                _ => Vec::new(),
            };
            let names: Vec<String> = missing
                .iter()
                .map(|m| {
                    m.trim_matches(|c| c == '<' || c == '>' || c == '.')
                        .to_string()
                })
                .collect();
            let path = command_path(&e);
            // One line (den's rule), with what docker's says: the verb, the argument, the help.
            eprintln!(
                "den: \"{path}\" requires at least 1 argument: {} (see '{path} --help')",
                names.join(", ")
            );
            ExitCode::from(1)
        }
        ErrorKind::UnknownArgument if refused_flag(&e).is_some() => {
            let (flag, why) = refused_flag(&e).expect("checked");
            eprintln!("den: {flag} is not supported: {why}");
            ExitCode::from(125)
        }
        _ => {
            // One line, like every other den error; exit 125 like docker's flag errors.
            let msg = e.to_string();
            let first = msg.lines().next().unwrap_or("invalid arguments");
            eprintln!("den: {}", first.trim_start_matches("error: "));
            ExitCode::from(125)
        }
    }
}

/// The exit code of a failed verb: 1 where docker's daemon would have refused the request (a bad
/// `--filter`), else den's own 125.
pub fn exit_code(e: &anyhow::Error) -> u8 {
    let refused = e.is::<crate::cmd::ps::FilterError>()
        || e.is::<crate::cmd::listing::FilterError>()
        || e.is::<crate::cmd::image_filter::FilterError>()
        || e.is::<crate::cmd::prune_filter::PruneFilterError>();
    if refused {
        1
    } else {
        125
    }
}
