//! Rows of bits to packed bytes and back, and bit-level reshuffling of packed rows.
//!
//! Every function works on whole rows of the layout in [`crate::layout`] and never expands a row
//! to one byte per bit (except [`unpack_rows`], whose output *is* one bool per bit). Inputs are
//! flat slices of `rows * bytes_per_row` bytes; outputs are written into caller-provided slices
//! of their final size, so the binding can allocate once and hand the buffer to `NumPy`.
//!
//! Column order: "little" means column `c` of the input is bit `c`; "big" means column `c` is
//! bit `num_bits - 1 - c` (the leftmost character of a bitstring is column 0).

mod bits;
mod pext;
mod samples;
#[cfg(test)]
mod tests;

pub use bits::*;
pub use pext::fast_pext;
pub(crate) use pext::{gather_strided, WordOp};
pub use samples::*;
