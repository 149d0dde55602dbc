//! shotpack-core: per-shot work on packed measurement bits, with no Python in sight.
//!
//! The packed layout is Qiskit's `BitArray` layout (see [`layout`]): each shot is a row of
//! `ceil(num_bits / 8)` bytes, big-endian across bytes, bit `k` at value `1 << (k % 8)` of byte
//! `num_bytes - 1 - k / 8`.
#![forbid(unsafe_code)]
#![warn(clippy::pedantic)]

pub mod alloc;
pub mod counts;
pub mod error;
pub mod expval;
pub mod grouping;
pub mod json;
pub mod layout;
pub mod memory;
pub mod pack;
pub mod registers;

pub use error::{Error, Location, Result};
