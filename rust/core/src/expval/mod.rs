//! Diagonal terms (`I Z 0 1`) on packed rows: means for `BitArray.expectation_values`, and
//! per-group means and variances for the Estimator.
//!
//! A term's value on a shot with row `r` is `[(r & p) == v] * (-1)^popcount(r & z)`. Rather than
//! evaluating terms row by row, shots are processed in blocks of 64: the block is transposed into
//! one 64-bit *plane* per bit (lane `l` of plane `k` is bit `k` of shot `l`), so a term's signs for
//! 64 shots are the XOR of the planes of its `Z` positions and its projector condition is an AND of
//! planes. The cost per term is then `O(weight)` word operations per 64 shots, independent of the
//! row width, and the transposition is paid once per block for all terms.

use crate::error::{Error, Result};
use crate::layout;

/// Shots per block: one lane of a 64-bit plane per shot.
const BLOCK: usize = 64;
/// Shots per unit of parallel work (a multiple of `BLOCK`).
const CHUNK: usize = BLOCK * 256;
/// Below this many (shot × term) evaluations a call stays on the calling thread.
const PARALLEL_WORK: usize = 1 << 21;

mod estimate;
mod means;
mod planes;
mod terms;
#[cfg(test)]
mod tests;

pub use estimate::*;
pub use means::*;
pub use planes::*;
pub use terms::*;
