//! An error and its causes as one line, the way every den command prints a failure.

use std::error::Error;

/// `e`, then each of its causes after ": ". Error types of den say only their own part and chain
/// their cause; some foreign types print their source and chain it too (serde_json's I/O errors,
/// oci-client's), so a cause whose text the line already holds is not said twice. Newlines become
/// spaces.
pub fn one_line(e: &(dyn Error + 'static)) -> String {
    let mut line = String::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let text = err.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
        next = err.source();
    }
    line.replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("reading {0}")]
    struct Outer(&'static str, #[source] std::io::Error);

    #[test]
    fn each_cause_once_after_a_colon() {
        let e = Outer(
            "leases.json",
            std::io::Error::from_raw_os_error(libc::EACCES),
        );
        assert_eq!(
            one_line(&e),
            "reading leases.json: Permission denied (os error 13)"
        );
    }
}
