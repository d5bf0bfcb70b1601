//! `--log FILE --log-format text|json`: runc's log records (containerd and conmon read the last
//! error from it).

use std::fs::OpenOptions;
use std::io::Write;
use std::path::PathBuf;

use crate::LogFormat;

pub struct Log {
    file: Option<PathBuf>,
    format: LogFormat,
}

impl Log {
    pub fn new(file: Option<PathBuf>, format: LogFormat) -> Log {
        Log { file, format }
    }

    /// Append one record; a log that cannot be written is not an error of the verb.
    pub fn write(&self, level: &str, msg: &str) {
        let Some(path) = &self.file else { return };
        let time = den_runtime::state::rfc3339(den_runtime::state::now_secs());
        let line = match self.format {
            LogFormat::Json => {
                serde_json::json!({"level": level, "msg": msg, "time": time}).to_string()
            }
            LogFormat::Text => format!("time={time:?} level={level} msg={msg:?}"),
        };
        let _ = OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| writeln!(f, "{line}"));
    }
}
