//! Where log lines go, decided in one place per mode: the interactive view owns the
//! terminal, so its logs go to a file; headless commands log to stderr when `TTC_LOG` asks.

use std::path::PathBuf;

/// How ttc runs, as far as logging is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogMode {
    /// A headless command (`ttc run`, `ttc models`, …): stderr is free for log lines.
    Headless,
    /// The interactive view: the terminal is the screen, log lines must not reach it.
    View,
}

impl LogMode {
    /// The mode of a process that opens the interactive view when `view` is true.
    pub fn of(view: bool) -> Self {
        if view {
            Self::View
        } else {
            Self::Headless
        }
    }
}

/// Where the log lines of a mode go, and through which filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogSink {
    /// Nothing is logged.
    Off,
    /// Standard error, with this filter (headless, with `TTC_LOG` set).
    Stderr(String),
    /// `ttc.log` in the data directory, with this filter (the view: `TTC_LOG` or `info`).
    File(String),
}

/// Where logs go for `mode` given the value of `TTC_LOG`: never stderr for the view.
pub fn sink(mode: LogMode, ttc_log: Option<&str>) -> LogSink {
    match (mode, ttc_log) {
        (LogMode::View, filter) => LogSink::File(filter.unwrap_or("info").to_string()),
        (LogMode::Headless, Some(filter)) => LogSink::Stderr(filter.to_string()),
        (LogMode::Headless, None) => LogSink::Off,
    }
}

/// Install the one log subscriber of this process for `mode`; returns the log file when logs
/// go to one. Call it once, before anything logs.
pub fn start(mode: LogMode) -> Option<PathBuf> {
    match sink(mode, std::env::var("TTC_LOG").ok().as_deref()) {
        LogSink::Off => None,
        LogSink::Stderr(filter) => {
            let filter = tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|e| {
                eprintln!("ttc: warning: TTC_LOG={filter:?} is not a log filter ({e}); using \"info\"");
                tracing_subscriber::EnvFilter::new("info")
            });
            let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).try_init();
            None
        }
        LogSink::File(filter) => {
            let dir = crate::config::data_dir()?;
            std::fs::create_dir_all(&dir).ok()?;
            let path = dir.join("ttc.log");
            let file = std::fs::OpenOptions::new().create(true).append(true).open(&path).ok()?;
            let filter = tracing_subscriber::EnvFilter::try_new(filter).unwrap_or_else(|_| "info".into());
            let _ = tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_ansi(false)
                .with_writer(std::sync::Mutex::new(file))
                .try_init();
            Some(path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_view_never_logs_to_stderr() {
        assert_eq!(LogMode::of(true), LogMode::View);
        assert_eq!(LogMode::of(false), LogMode::Headless);
        for filter in [None, Some("debug"), Some("trace"), Some("not a filter[")] {
            let s = sink(LogMode::View, filter);
            assert!(matches!(s, LogSink::File(_)), "{filter:?}: {s:?}");
        }
        assert_eq!(sink(LogMode::View, None), LogSink::File("info".into()));
        assert_eq!(sink(LogMode::View, Some("debug")), LogSink::File("debug".into()));
    }

    #[test]
    fn headless_commands_log_to_stderr_only_when_asked() {
        assert_eq!(sink(LogMode::Headless, None), LogSink::Off);
        assert_eq!(sink(LogMode::Headless, Some("debug")), LogSink::Stderr("debug".into()));
    }
}
