//! One error type for the whole analysis. Each variant knows its exit code (SPEC §5) and, where
//! the input is to blame, the place in the file.

use std::path::PathBuf;

use crate::textformat::Pos;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The text does not parse (exit 3).
    #[error("{message}")]
    Parse {
        file: String,
        pos: Pos,
        message: String,
        hint: Option<String>,
    },
    /// The net is one Caffe would refuse (exit 1).
    #[error("{message}")]
    Invalid {
        file: String,
        pos: Option<Pos>,
        message: String,
        hint: Option<String>,
    },
    /// The file cannot be read, or the command line is wrong (exit 2).
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Invalid { .. } => 1,
            Error::Usage { .. } | Error::Io { .. } => 2,
            Error::Parse { .. } => 3,
        }
    }

    pub fn invalid(file: &str, pos: Option<Pos>, message: impl Into<String>) -> Self {
        Error::Invalid {
            file: file.to_string(),
            pos,
            message: message.into(),
            hint: None,
        }
    }

    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: None,
        }
    }

    /// Adds a suggestion shown under the message ("use --input data=1,3,224,224").
    pub fn with_hint(mut self, text: impl Into<String>) -> Self {
        let text = Some(text.into());
        match &mut self {
            Error::Parse { hint, .. } | Error::Invalid { hint, .. } | Error::Usage { hint, .. } => {
                *hint = text
            }
            Error::Io { .. } => {}
        }
        self
    }

    /// `file:line:col` where the input is to blame.
    pub fn location(&self) -> Option<(String, Option<Pos>)> {
        match self {
            Error::Parse { file, pos, .. } => Some((file.clone(), Some(*pos))),
            Error::Invalid { file, pos, .. } => Some((file.clone(), *pos)),
            _ => None,
        }
    }

    pub fn hint(&self) -> Option<&str> {
        match self {
            Error::Parse { hint, .. } | Error::Invalid { hint, .. } | Error::Usage { hint, .. } => {
                hint.as_deref()
            }
            Error::Io { .. } => None,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
