//! The one error type of shotpack-core. Each variant says where the problem is; the binding
//! layer maps variants to Python exception types in one place (`rust/py/errors.rs`).

use thiserror::Error;

/// Result alias used across the core crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in shotpack-core.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A value that should be a bit (0 or 1) was something else.
    #[error("{location}: expected 0 or 1, got {value}")]
    NotABit { location: String, value: String },
    /// Rows of one array have different lengths, or arrays that must agree in shape do not.
    #[error("{location}: {message}")]
    Shape { location: String, message: String },
    /// A value of the wrong type (maps to Python `TypeError`).
    #[error("{location}: {message}")]
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
}
