//! The verbs that take several containers: do it to each, print each name done and one line per
//! failure, go on past failures, exit 1 if any failed (like docker). A container that does not
//! exist reads as docker's `Error: No such container: NAME` (docker's adds "response from daemon":
//! den has none).

use std::error::Error;

use den_runtime::lifecycle::LifecycleError;
use den_runtime::run::RunError;
use den_runtime::state::StateError;

pub fn each<E: Error + 'static>(
    keys: &[String],
    mut f: impl FnMut(&str) -> Result<String, E>,
) -> i32 {
    let mut status = 0;
    for key in keys {
        match f(key) {
            Ok(name) => println!("{name}"),
            Err(e) => {
                eprintln!("{}", message(&e));
                status = 1;
            }
        }
    }
    status
}

/// The line den prints for `e`: docker's for a missing container, else `den: ` and the chain.
pub fn message(e: &(dyn Error + 'static)) -> String {
    match missing(e) {
        Some(key) => format!("Error: No such container: {key}"),
        None => format!("den: {}", den_runtime::run::one_line(e)),
    }
}

pub fn missing<'a>(e: &'a (dyn Error + 'static)) -> Option<&'a str> {
    let state = e
        .downcast_ref::<StateError>()
        .or_else(|| match e.downcast_ref::<LifecycleError>() {
            Some(LifecycleError::State(s)) => Some(s),
            _ => None,
        })
        .or_else(|| match e.downcast_ref::<RunError>() {
            Some(RunError::State(s)) => Some(s),
            _ => None,
        })?;
    match state {
        StateError::NotFound(key) => Some(key),
        _ => None,
    }
}
