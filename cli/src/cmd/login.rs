//! `den login [-u USER] [-p PASS | --password-stdin] [SERVER]` and `den logout [SERVER]`, in
//! docker's config.json (`$DOCKER_CONFIG` or `~/.docker`).
use std::io::BufRead;

use anyhow::{Context, Result};

#[derive(clap::Args)]
pub struct LoginArgs {
    /// The user name.
    #[arg(short, long)]
    username: String,
    /// The password (prefer --password-stdin: an argument is visible to other users).
    #[arg(short, long, conflicts_with = "password_stdin")]
    password: Option<String>,
    /// Read the password from stdin.
    #[arg(long)]
    password_stdin: bool,
    /// The registry (default: Docker Hub).
    server: Option<String>,
}

#[derive(clap::Args)]
pub struct LogoutArgs {
    /// The registry (default: docker.io).
    server: Option<String>,
}

pub fn login(a: LoginArgs) -> Result<i32> {
    let password = match a.password {
        Some(p) => p,
        None => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from stdin")?;
            line.trim_end_matches(['\n', '\r']).to_string()
        }
    };
    anyhow::ensure!(
        !password.is_empty(),
        "password is empty (give it on stdin with --password-stdin)"
    );
    den_runtime::image::login(a.server.as_deref(), &a.username, &password)?;
    println!("Login Succeeded");
    Ok(0)
}

pub fn logout(a: LogoutArgs) -> Result<i32> {
    match den_runtime::image::logout(a.server.as_deref())? {
        Some(key) => println!("Removing login credentials for {key}"),
        None => println!(
            "Not logged in to {}",
            a.server.as_deref().unwrap_or("docker.io")
        ),
    }
    Ok(0)
}
