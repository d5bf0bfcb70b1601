//! den-cni: den's bridge network as a CNI plugin (spec 1.1.0). A thin front over netcfg's
//! [`den_netcfg::Networks`]: it reads `CNI_*` and the configuration on stdin, runs one command
//! (see `ops`), and prints the result or the spec's error JSON on stdout (exit 1 on error).

mod conf;
mod ops;
mod reply;
mod store;

use std::io::{Read, Write};
use std::process::ExitCode;

use reply::{CniError, Code};
use serde_json::Value;

fn main() -> ExitCode {
    let var = |k: &str| std::env::var(k).ok();
    let command = var("CNI_COMMAND").unwrap_or_default();
    let env = ops::Env {
        container_id: var("CNI_CONTAINERID"),
        netns: var("CNI_NETNS"),
        ifname: var("CNI_IFNAME"),
    };
    let mut stdin = Vec::new();
    let read = std::io::stdin().read_to_end(&mut stdin);
    let version = conf::version_of(&stdin).unwrap_or_else(|_| reply::SUPPORTED[4].into());
    let out = match read {
        Ok(_) => run(&command, &env, &stdin),
        Err(e) => Err(CniError::new(Code::Io, format!("reading stdin: {e}"))),
    };
    let (body, code) = match out {
        Ok(Some(v)) => (v, ExitCode::SUCCESS),
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => (e.to_json(&version), ExitCode::FAILURE),
    };
    let mut text = serde_json::to_string_pretty(&body).expect("JSON values serialize");
    text.push('\n');
    match std::io::stdout().write_all(text.as_bytes()) {
        Ok(()) => code,
        Err(_) => ExitCode::FAILURE,
    }
}

fn run(command: &str, env: &ops::Env, stdin: &[u8]) -> Result<Option<Value>, CniError> {
    if command == "VERSION" {
        return Ok(Some(reply::versions(&conf::version_of(stdin)?)));
    }
    let known = ["ADD", "DEL", "CHECK", "GC", "STATUS"];
    if !known.contains(&command) {
        return Err(CniError::new(
            Code::InvalidEnv,
            format!(
                "CNI_COMMAND {command:?} is not one of VERSION, {}",
                known.join(", ")
            ),
        ));
    }
    let conf = conf::parse(stdin)?;
    match command {
        "ADD" => ops::add(env, &conf).map(Some),
        "DEL" => ops::del(env, &conf).map(|()| None),
        "CHECK" => ops::check(env, &conf).map(|()| None),
        "GC" => ops::gc(&conf).map(|()| None),
        _ => ops::status(&conf).map(|()| None),
    }
}
