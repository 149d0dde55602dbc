//! The one error type of shotpack-core. Each variant says where the problem is; the binding
//! layer maps variants to Python exception types in one place (`rust/py/errors.rs`).

use std::fmt::Display;

use thiserror::Error;

/// Result alias used across the core crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in shotpack-core (and in the binding layer's checks of Python
/// arguments, which report through the same variants).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A value that should be a bit (0 or 1) was something else.
    #[error("{location}: expected 0 or 1, got {value}")]
    NotABit { location: String, value: String },
    /// Rows of one array have different lengths, or arrays that must agree in shape do not.
    #[error("{}", located(location, message))]
    Shape { location: String, message: String },
    /// A value of the wrong type (maps to Python `TypeError`). An empty `location` means the
    /// message stands alone (see [`Error::wrong_type`]).
    #[error("{}", located(location, message))]
    Type { location: String, message: String },
    /// Malformed or truncated JSON, with the byte offset where it went wrong.
    #[error("invalid measurements JSON at byte {offset}{context}: {message}")]
    Json {
        offset: usize,
        context: String,
        message: String,
    },
    /// Any other invalid value (maps to Python `ValueError`).
    #[error("{0}")]
    Value(String),
    /// An index out of range (maps to Python `IndexError`).
    #[error("{0}")]
    Index(String),
    /// A result too large to allocate, or whose size overflows `usize` (maps to Python
    /// `MemoryError`).
    #[error("{0}")]
    Alloc(String),
}

/// "location: message", or the message alone when there is no location.
fn located(location: &str, message: &str) -> String {
    if location.is_empty() {
        message.to_owned()
    } else {
        format!("{location}: {message}")
    }
}

impl Error {
    /// A [`Error::Type`] whose message already says everything (no separate location).
    pub fn wrong_type(message: impl Into<String>) -> Self {
        Error::Type {
            location: String::new(),
            message: message.into(),
        }
    }

    /// The same error, placed inside `outer` (for example "group 3"): the text gains an
    /// `"{outer}: "` prefix and the variant, hence the Python exception type, is kept.
    #[must_use]
    pub fn within(self, outer: impl Display) -> Self {
        let prefix = |s: String| format!("{outer}: {s}");
        match self {
            Error::NotABit { location, value } => Error::NotABit {
                location: prefix(location),
                value,
            },
            Error::Shape { location, message } => Error::Shape {
                location: if location.is_empty() {
                    outer.to_string()
                } else {
                    prefix(location)
                },
                message,
            },
            Error::Type { location, message } => Error::Type {
                location: if location.is_empty() {
                    outer.to_string()
                } else {
                    prefix(location)
                },
                message,
            },
            // The JSON text keeps its fixed opening; the outer place goes before the message.
            Error::Json {
                offset,
                context,
                message,
            } => Error::Json {
                offset,
                context,
                message: prefix(message),
            },
            Error::Value(m) => Error::Value(prefix(m)),
            Error::Index(m) => Error::Index(prefix(m)),
            Error::Alloc(m) => Error::Alloc(prefix(m)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn located_variants_join_location_and_message() {
        let e = Error::Type {
            location: "shot 2, qubit 1".into(),
            message: "expected an int 0 or 1, got str".into(),
        };
        assert_eq!(
            e.to_string(),
            "shot 2, qubit 1: expected an int 0 or 1, got str"
        );
        let e = Error::Shape {
            location: "shot 4".into(),
            message: "expected 3 qubit values like shot 0, got 2".into(),
        };
        assert_eq!(
            e.to_string(),
            "shot 4: expected 3 qubit values like shot 0, got 2"
        );
    }

    #[test]
    fn wrong_type_has_no_location_prefix() {
        let e = Error::wrong_type("cannot read bits from an array of dtype complex128");
        assert_eq!(
            e.to_string(),
            "cannot read bits from an array of dtype complex128"
        );
        assert!(matches!(e, Error::Type { .. }));
    }

    #[test]
    fn alloc_shows_its_message() {
        assert_eq!(
            Error::Alloc("too many shots".into()).to_string(),
            "too many shots"
        );
    }

    #[test]
    fn within_prefixes_the_text_and_keeps_the_variant() {
        let cases = [
            Error::Value("x".into()),
            Error::Index("x".into()),
            Error::Alloc("x".into()),
            Error::wrong_type("x"),
            Error::Type {
                location: "term 1".into(),
                message: "x".into(),
            },
            Error::Shape {
                location: "term 1".into(),
                message: "x".into(),
            },
            Error::NotABit {
                location: "shot 0".into(),
                value: "'a'".into(),
            },
        ];
        for e in cases {
            let text = e.to_string();
            let inner = e.clone().within("group 3");
            assert_eq!(inner.to_string(), format!("group 3: {text}"));
            assert_eq!(
                std::mem::discriminant(&inner),
                std::mem::discriminant(&e),
                "{e:?}"
            );
        }
        let json = Error::Json {
            offset: 7,
            context: " (circuit 0)".into(),
            message: "expected ','".into(),
        }
        .within("part 2");
        assert_eq!(
            json.to_string(),
            "invalid measurements JSON at byte 7 (circuit 0): part 2: expected ','"
        );
    }
}
