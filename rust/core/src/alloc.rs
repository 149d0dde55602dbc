//! Fallible allocation: every buffer whose size comes from input is reserved with `try_reserve`,
//! so an impossible size is an [`Error::Alloc`] (Python `MemoryError`), never an abort.

use crate::error::{Error, Result};

/// A zero-filled buffer of `n` bytes.
///
/// # Errors
/// [`Error::Alloc`] when the memory cannot be reserved.
pub fn zeroed(n: usize) -> Result<Vec<u8>> {
    let mut v = with_capacity(n)?;
    v.resize(n, 0);
    Ok(v)
}

/// An empty vector with room for `n` elements.
///
/// # Errors
/// [`Error::Alloc`] when the memory cannot be reserved (or its size overflows).
pub fn with_capacity<T>(n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| {
        Error::Alloc(format!(
            "cannot allocate {n} x {} bytes for the output",
            std::mem::size_of::<T>()
        ))
    })?;
    Ok(v)
}

/// Appends `x`, growing the vector fallibly (amortised doubling, as `push` does).
///
/// # Errors
/// [`Error::Alloc`] when the vector cannot grow.
pub fn push<T>(v: &mut Vec<T>, x: T) -> Result<()> {
    if v.len() == v.capacity() {
        v.try_reserve(1).map_err(|_| {
            Error::Alloc(format!(
                "cannot grow a buffer of {} x {} bytes",
                v.len(),
                std::mem::size_of::<T>()
            ))
        })?;
    }
    v.push(x);
    Ok(())
}

/// `a * b`, or [`Error::Alloc`] naming `what` when the product overflows `usize`.
///
/// # Errors
/// [`Error::Alloc`] on overflow.
pub fn checked_size(a: usize, b: usize, what: &str) -> Result<usize> {
    a.checked_mul(b).ok_or_else(|| {
        Error::Alloc(format!(
            "{what}: {a} x {b} bytes overflows the address space"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn impossible_sizes_are_errors_not_aborts() {
        assert!(matches!(zeroed(usize::MAX), Err(Error::Alloc(_))));
        assert!(matches!(
            with_capacity::<u64>(usize::MAX / 4),
            Err(Error::Alloc(_))
        ));
        assert!(matches!(
            checked_size(usize::MAX, 2, "x"),
            Err(Error::Alloc(_))
        ));
        assert_eq!(zeroed(3).unwrap(), [0, 0, 0]);
        let mut v = Vec::new();
        push(&mut v, 1u8).unwrap();
        assert_eq!(v, [1]);
    }
}
