//! Diagonal terms (`I Z 0 1`) on packed rows: means for `BitArray.expectation_values`, and
//! per-group means and variances for the Estimator.
//!
//! A term's value on a shot with row `r` is `[(r & p) == v] * (-1)^popcount(r & z)`. Rather than
//! evaluating terms row by row, shots are processed in blocks of 64: the block is transposed into
//! one 64-bit *plane* per bit (lane `l` of plane `k` is bit `k` of shot `l`), so a term's signs for
//! 64 shots are the XOR of the planes of its `Z` positions and its projector condition is an AND of
//! planes. The cost per term is then `O(weight)` word operations per 64 shots, independent of the
//! row width, and the transposition is paid once per block for all terms.

use std::cell::Cell;

use crate::error::{Error, Result};
use crate::layout;

/// Shots per block: one lane of a 64-bit plane per shot.
const BLOCK: usize = 64;
/// Shots per unit of parallel work (a multiple of `BLOCK`).
const CHUNK: usize = BLOCK * 256;
/// Below this many (shot × term) evaluations a call stays on the calling thread.
const PARALLEL_WORK: usize = 1 << 21;

thread_local! {
    /// Set by [`on_calling_thread`]: kernels called on this thread use no thread pool.
    static SERIAL: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f` with every kernel of this module that it calls computed on the calling thread
/// alone, never in rayon's pool.
///
/// For callers that are themselves one of several parallel workers (a Dask task on one of a
/// thread pool's threads): several such threads handing their work to one shared pool would
/// queue behind each other there (with a pool of one thread they serialise completely), and
/// a pool per caller would oversubscribe the cores. The previous setting is restored when `f`
/// returns or unwinds.
pub fn on_calling_thread<R>(f: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            SERIAL.with(|s| s.set(self.0));
        }
    }
    let _restore = Restore(SERIAL.with(|s| s.replace(true)));
    f()
}

/// Turns the [`on_calling_thread`] setting of the current thread on or off until changed again,
/// returning the previous setting (for callers that cannot wrap their calls in a closure, such
/// as a Python context manager).
#[allow(clippy::must_use_candidate)] // callers may ignore the previous setting
pub fn set_on_calling_thread(on: bool) -> bool {
    SERIAL.with(|s| s.replace(on))
}

/// Whether a call doing `work` (shot × term) evaluations should use rayon's pool: enough work,
/// a pool of more than one thread (a one-thread pool only adds a hand-off, and serialises
/// concurrent callers), and no [`on_calling_thread`] scope around the call.
fn use_pool(work: usize) -> bool {
    work >= PARALLEL_WORK && !SERIAL.with(Cell::get) && rayon::current_num_threads() > 1
}

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
