//! The verbs that take several containers: do it to each, print each name done and one `den: `
//! line per failure, go on past failures, exit 1 if any failed (like docker).

use std::error::Error;

pub fn each<E: Error + 'static>(
    keys: &[String],
    mut f: impl FnMut(&str) -> Result<String, E>,
) -> i32 {
    let mut status = 0;
    for key in keys {
        match f(key) {
            Ok(name) => println!("{name}"),
            Err(e) => {
                eprintln!("den: {}", den_runtime::run::one_line(&e));
                status = 1;
            }
        }
    }
    status
}
