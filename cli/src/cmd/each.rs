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
                eprintln!("den: {}", crate::report::one_line(crate::report::chain(&e)));
                status = 1;
            }
        }
    }
    status
}
