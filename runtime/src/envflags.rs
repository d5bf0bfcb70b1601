//! What `den run` and `den exec` share about a process's settings on the command line: the checks
//! of `-e` and `-w`, and `KEY=VALUE` environment lists (docker's rules).

/// A `-e` or `-w` that cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    #[error("invalid environment variable {0:?}: the name is empty")]
    EmptyEnvKey(String),
    #[error("working directory {0:?} is not an absolute path")]
    RelativeWorkdir(String),
}

/// `-e` entries need a name; `-w` must be absolute.
pub(crate) fn check(env: &[String], workdir: Option<&String>) -> Result<(), FlagError> {
    if let Some(e) = env.iter().find(|e| e.split('=').next() == Some("")) {
        return Err(FlagError::EmptyEnvKey(e.clone()));
    }
    if let Some(w) = workdir.filter(|w| !w.starts_with('/')) {
        return Err(FlagError::RelativeWorkdir(w.clone()));
    }
    Ok(())
}

/// Set `KEY=value`, replacing an entry with the same key where it is.
pub(crate) fn set(env: &mut Vec<String>, entry: String) {
    let key = entry.split('=').next().unwrap_or("");
    let prefix = format!("{key}=");
    match env.iter_mut().find(|e| e.starts_with(&prefix)) {
        Some(existing) => *existing = entry,
        None => env.push(entry),
    }
}

pub(crate) fn has(env: &[String], key: &str) -> bool {
    let prefix = format!("{key}=");
    env.iter().any(|e| e.starts_with(&prefix))
}

/// Apply `-e` flags over `env`: `K=V` sets K, a bare `K` copies K from den's own environment (and
/// is skipped if den has none).
pub(crate) fn apply(env: &mut Vec<String>, flags: &[String]) {
    for e in flags {
        if e.contains('=') {
            set(env, e.clone());
        } else if let Ok(v) = std::env::var(e) {
            set(env, format!("{e}={v}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_in_place_and_bare_names_copy_dens_own() {
        let mut env = vec!["A=1".to_string(), "B=2".to_string()];
        let path = std::env::var("PATH").expect("tests run with a PATH");
        apply(
            &mut env,
            &["A=9".into(), "PATH".into(), "DEN_NOT_SET_ANYWHERE".into()],
        );
        assert_eq!(
            env,
            ["A=9".to_string(), "B=2".into(), format!("PATH={path}")]
        );
        assert!(has(&env, "B") && !has(&env, "C"));
    }

    #[test]
    fn an_empty_name_and_a_relative_workdir_are_refused() {
        assert!(check(&["=v".into()], None).is_err());
        assert!(check(&[], Some(&"rel".to_string())).is_err());
        assert!(check(&["K=v".into()], Some(&"/abs".to_string())).is_ok());
    }
}
