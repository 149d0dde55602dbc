//! The one error type of shotpack-core. Each variant says where the problem is; the binding
//! layer maps variants to Python exception types in one place (`rust/py/errors.rs`).

use std::fmt::Display;

use thiserror::Error;

/// Result alias used across the core crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in shotpack-core. Python-only failures (an object of the wrong
/// type, a Python value that is not a bit) belong to the binding's own error type.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// Rows of one array have different lengths, or arrays that must agree in shape do not.
    #[error("{}", located(location, message))]
    Shape { location: String, message: String },
    /// Malformed or truncated JSON, with the byte offset where it went wrong.
    #[error(
        "invalid measurements JSON at byte {offset}{}: {message}",
        in_parens(location)
    )]
    Json {
        offset: usize,
        /// Circuit, key, shot and qubit, those that are known at `offset` (boxed: errors are
        /// rare, and a small `Result` keeps the hot paths' return values in registers).
        location: Box<Location>,
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
    /// An output larger than the cap its input allows (maps to Python `ValueError`): see
    /// [`crate::json::output_cap`].
    #[error(
        "the output would take {needed} bytes, more than the cap of {cap} bytes for {body} \
         bytes of input ({factor} x the input, at least {floor} bytes)",
        factor = crate::json::OUTPUT_CAP_FACTOR,
        floor = crate::json::OUTPUT_CAP_FLOOR
    )]
    TooLarge {
        needed: usize,
        cap: usize,
        body: usize,
    },
}

/// Where a problem is: any of circuit, key, position along the outer axes, shot and qubit.
/// Displays as `circuit 0, key "m", position (1, 2), shot 3, qubit 4` (the parts present).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    pub circuit: Option<usize>,
    /// The key, already quoted for display (see [`Location::quote_key`]).
    pub key: Option<String>,
    /// Index along the axes before the shot axis (empty for one-position input).
    pub position: Vec<usize>,
    pub shot: Option<usize>,
    pub qubit: Option<usize>,
}

impl Location {
    /// Row `row` (C order) of an array whose axes before the bits are `outer` (the last of
    /// them the shots), and optionally one of its qubits.
    #[must_use]
    pub fn of_row(outer: &[usize], row: usize, qubit: Option<usize>) -> Self {
        let mut idx = Vec::with_capacity(outer.len());
        let mut r = row;
        for &n in outer.iter().rev() {
            idx.push(r % n.max(1));
            r /= n.max(1);
        }
        idx.reverse();
        let shot = idx.pop().unwrap_or(0);
        Location {
            position: idx,
            shot: Some(shot),
            qubit,
            ..Location::default()
        }
    }

    /// A key for messages: quoted, escaped, and cut short if very long.
    #[must_use]
    pub fn quote_key(key: &str) -> String {
        const MAX: usize = 80;
        if key.chars().count() <= MAX {
            format!("{key:?}")
        } else {
            let head: String = key.chars().take(MAX).collect();
            format!("{head:?}...")
        }
    }

    /// Whether no part is set.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.circuit.is_none()
            && self.key.is_none()
            && self.position.is_empty()
            && self.shot.is_none()
            && self.qubit.is_none()
    }
}

impl Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut sep = "";
        let mut part = |f: &mut std::fmt::Formatter<'_>, text: std::fmt::Arguments<'_>| {
            let r = write!(f, "{sep}{text}");
            sep = ", ";
            r
        };
        if let Some(c) = self.circuit {
            part(f, format_args!("circuit {c}"))?;
        }
        if let Some(k) = &self.key {
            part(f, format_args!("key {k}"))?;
        }
        match self.position.as_slice() {
            [] => {}
            [i] => part(f, format_args!("position ({i},)"))?,
            idx => {
                let parts: Vec<String> = idx.iter().map(ToString::to_string).collect();
                part(f, format_args!("position ({})", parts.join(", ")))?;
            }
        }
        if let Some(s) = self.shot {
            part(f, format_args!("shot {s}"))?;
        }
        if let Some(q) = self.qubit {
            part(f, format_args!("qubit {q}"))?;
        }
        Ok(())
    }
}

/// " (location)", or nothing when the location is empty.
fn in_parens(location: &Location) -> String {
    if location.is_empty() {
        String::new()
    } else {
        format!(" ({location})")
    }
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
    /// The same error, placed inside `outer` (for example "group 3"): the text gains an
    /// `"{outer}: "` prefix and the variant, hence the Python exception type, is kept.
    #[must_use]
    pub fn within(self, outer: impl Display) -> Self {
        let prefix = |s: String| format!("{outer}: {s}");
        match self {
            Error::Shape { location, message } => Error::Shape {
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
                location,
                message,
            } => Error::Json {
                offset,
                location,
                message: prefix(message),
            },
            Error::Value(m) => Error::Value(prefix(m)),
            Error::Index(m) => Error::Index(prefix(m)),
            Error::Alloc(m) => Error::Alloc(prefix(m)),
            e @ Error::TooLarge { .. } => e,
        }
    }
}

#[cfg(test)]
mod tests;
