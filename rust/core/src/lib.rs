//! shotpack-core: per-shot work on packed measurement bits, with no Python in sight.
//!
//! The packed layout is Qiskit's `BitArray` layout (see [`layout`]): each shot is a row of
//! `ceil(num_bits / 8)` bytes, big-endian across bytes, bit `k` at value `1 << (k % 8)` of byte
//! `num_bytes - 1 - k / 8`.
// `unsafe` only where a module allows it, with its reason: the one call into a BMI2 function
// after run-time CPU detection (`pack::pext`).
#![deny(unsafe_code)]
#![warn(clippy::pedantic)]
// Why these pedantic lints are off for the whole crate:
// - Truncating casts (`as u8`, `as u32`) are how bytes and lanes are taken out of wider words
//   after a shift or mask; row indices stored as `u32` are checked against `u32::MAX` first.
#![allow(clippy::cast_possible_truncation)]
// - Shot counts and integer sums become `f64` for means and variances; they stay far below
//   2^53 (nine quadrillion shots), where the conversion is exact.
#![allow(clippy::cast_precision_loss)]
// - `usize` -> `i64` only for counts and group indices bounded by slice lengths (< 2^63).
#![allow(clippy::cast_possible_wrap)]
// - The estimator's formulas use their paper's short names (`n`, `m2`, `a`, `b`, `na`, `nb`),
//   which read better next to the formulas than longer ones would.
#![allow(clippy::similar_names, clippy::many_single_char_names)]

pub mod alloc;
pub mod counts;
pub mod error;
pub mod expval;
pub mod grouping;
pub mod json;
pub mod layout;
pub mod memory;
pub mod mitigation;
pub mod pack;
pub mod registers;
pub mod sampling;

pub use error::{Error, Location, Result};
