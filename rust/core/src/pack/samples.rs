//! Samples (bitstrings, hex strings, integers) and counts into packed rows, with Qiskit's rules:
//! the first element decides how every element is read, `num_bits=None` takes the widest sample
//! (a bitstring counts all its digits), and each counts key gives `count` identical rows.
//!
//! The binding turns each Python object into a [`Sample`] (that is where Python's `int()` rules
//! apply); everything decided from there on is here.

use crate::error::{Error, Result};
use crate::layout::num_bytes;

/// How the elements of a sample stream are read, decided by the first element as Qiskit does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Integers (anything with `__index__`).
    Int,
    /// Bitstrings, read like `int(s, 2)`.
    Binary,
    /// Hex strings, read like `int(s, 16)`.
    Hex,
}

impl Mode {
    /// The mode for a stream whose first element is a string with this text (`None` when the
    /// first element is not a string).
    #[must_use]
    pub fn of_first(text: Option<&str>) -> Self {
        match text {
            None => Mode::Int,
            Some(t) if t.starts_with("0x") => Mode::Hex,
            Some(_) => Mode::Binary,
        }
    }

    /// The base `int()` needs for a string in this mode (2 or 16; 10 for integers).
    #[must_use]
    pub fn base(self) -> u32 {
        match self {
            Mode::Int => 10,
            Mode::Binary => 2,
            Mode::Hex => 16,
        }
    }
}

/// One parsed sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sample<'a> {
    /// A non-negative integer below 2^128.
    Small(u128),
    /// Plain binary digits (all of them count for an inferred width).
    Binary(&'a [u8]),
    /// Plain hex digits.
    Hex(&'a [u8]),
    /// A non-negative integer of 128 bits or more, as its big-endian magnitude.
    Big(Vec<u8>),
    /// A negative integer (rejected when written).
    Negative,
}

impl Sample<'_> {
    /// Bits needed to hold the value.
    #[must_use]
    pub fn bit_length(&self) -> usize {
        match self {
            Sample::Small(v) => bit_length_u128(*v),
            Sample::Binary(d) => binary_bit_length(d),
            Sample::Hex(d) => hex_bit_length(d),
            Sample::Big(bytes) => be_bit_length(bytes),
            Sample::Negative => 0,
        }
    }

    /// Width it asks for when `num_bits` is inferred: binary strings count all their digits
    /// (leading zeros included; Qiskit issue 12765), everything else its value's bit length.
    #[must_use]
    pub fn width(&self) -> usize {
        match self {
            Sample::Binary(d) => d.len(),
            _ => self.bit_length(),
        }
    }

    /// Writes the sample into a zeroed row of `num_bytes(num_bits)` bytes.
    ///
    /// # Errors
    /// [`Error::Value`] when the sample is negative or needs more than `num_bits` bits.
    pub fn write(&self, row: &mut [u8], num_bits: usize) -> Result<()> {
        if matches!(self, Sample::Negative) || self.bit_length() > num_bits {
            return Err(Error::Value(format!(
                "All samples must be non-negative integers that fit in num_bits={num_bits} bits."
            )));
        }
        match self {
            Sample::Small(v) => write_u128_row(*v, row),
            Sample::Binary(d) => write_binary_row(d, row),
            Sample::Hex(d) => write_hex_row(d, row),
            Sample::Big(bytes) => write_be_bytes_row(bytes, row),
            Sample::Negative => {}
        }
        Ok(())
    }
}

/// Reads a string sample's text in `mode` when it is plain digits (ASCII whitespace around them
/// allowed); `None` when only Python's `int()` can settle it (underscores, `0b`, Unicode digits).
#[must_use]
pub fn plain_digits(text: &str, mode: Mode) -> Option<Sample<'_>> {
    let t = text
        .trim_matches(|c: char| c.is_ascii_whitespace())
        .as_bytes();
    match mode {
        Mode::Binary => plain_binary(t).map(Sample::Binary),
        Mode::Hex => plain_hex(t).map(Sample::Hex),
        Mode::Int => None,
    }
}

/// `num_bits` for a stream: the given one, or the widest sample (at least 1).
///
/// # Errors
/// The first error of `samples` (they are parsed lazily by the caller).
pub fn infer_num_bits<'a, E>(
    samples: impl IntoIterator<Item = std::result::Result<Sample<'a>, E>>,
    given: Option<usize>,
) -> std::result::Result<usize, E> {
    if let Some(n) = given {
        return Ok(n);
    }
    let mut w = 1;
    for s in samples {
        w = w.max(s?.width());
    }
    Ok(w)
}

/// Writes samples one row each into `out` (zeroed, `rows * num_bytes(num_bits)` bytes), in
/// order; each sample is parsed just before it is written, so the first bad one stops the walk.
///
/// # Errors
/// The caller's parse errors, or [`Error::Value`] for a sample that does not fit.
pub fn write_samples<'a, E: From<Error>>(
    samples: impl IntoIterator<Item = std::result::Result<Sample<'a>, E>>,
    num_bits: usize,
    out: &mut [u8],
) -> std::result::Result<(), E> {
    let nb = num_bytes(num_bits);
    let mut rows = out.chunks_exact_mut(nb.max(1));
    for s in samples {
        let s = s?;
        if nb == 0 {
            s.write(&mut [], 0)?;
        } else if let Some(row) = rows.next() {
            s.write(row, num_bits)?;
        }
    }
    Ok(())
}

/// Shot counts of counts mappings, key by key: what [`write_counts`] expands.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct CountsPlan {
    /// Repetitions of each kept key, in order.
    pub reps: Vec<usize>,
    /// Shots of each mapping.
    pub per_mapping: Vec<usize>,
}

impl CountsPlan {
    /// Starts a new mapping.
    pub fn begin_mapping(&mut self) {
        self.per_mapping.push(0);
    }

    /// Adds one key's count to the current mapping; returns whether the key is kept. As with
    /// `itertools.repeat`, a count of zero or less adds nothing.
    ///
    /// # Errors
    /// [`Error::Alloc`] when the shots overflow `usize`.
    pub fn add(&mut self, count: i64) -> Result<bool> {
        if count <= 0 {
            return Ok(false);
        }
        let n = usize::try_from(count).map_err(|_| Error::Alloc("count too large".into()))?;
        let shots = self
            .per_mapping
            .last_mut()
            .ok_or_else(|| Error::Value("internal: a count was added before any mapping".into()))?;
        *shots = shots
            .checked_add(n)
            .ok_or_else(|| Error::Alloc("total count too large".into()))?;
        self.reps
            .try_reserve(1)
            .map_err(|_| Error::Alloc("too many counts keys".into()))?;
        self.reps.push(n);
        Ok(true)
    }

    /// Total shots over all mappings.
    ///
    /// # Errors
    /// [`Error::Alloc`] when the total overflows `usize`.
    pub fn total(&self) -> Result<usize> {
        self.per_mapping
            .iter()
            .try_fold(0usize, |acc, &n| acc.checked_add(n))
            .ok_or_else(|| Error::Alloc("total count too large".into()))
    }

    /// The packed output's size in bytes for `num_bits` bits per shot.
    ///
    /// # Errors
    /// [`Error::Alloc`] when it overflows `usize`.
    pub fn output_bytes(&self, num_bits: usize) -> Result<usize> {
        self.total()?
            .checked_mul(num_bytes(num_bits))
            .ok_or_else(|| Error::Alloc("too many shots".into()))
    }

    /// Error for counts without a single shot.
    #[must_use]
    pub fn no_samples() -> Error {
        Error::Value("At least one sample is required.".into())
    }
}

/// Expands kept counts keys into `out` (zeroed, `total * num_bytes(num_bits)` bytes): key by
/// key, each key's `reps` shots contiguous.
///
/// # Errors
/// The caller's parse errors, or [`Error::Value`] for a key that does not fit.
pub fn write_counts<'a, E: From<Error>>(
    keys: impl IntoIterator<Item = std::result::Result<Sample<'a>, E>>,
    reps: &[usize],
    num_bits: usize,
    out: &mut [u8],
) -> std::result::Result<(), E> {
    let nb = num_bytes(num_bits);
    let mut at = 0usize;
    for (k, &n) in keys.into_iter().zip(reps) {
        let sample = k?;
        if nb == 0 {
            sample.write(&mut [], 0)?;
            continue;
        }
        let block = out
            .get_mut(at * nb..(at + n) * nb)
            .ok_or_else(|| Error::Value("internal: counts exceed the output".into()))?;
        let (head, rest) = block.split_at_mut(nb);
        sample.write(head, num_bits)?;
        for dst in rest.chunks_exact_mut(nb) {
            dst.copy_from_slice(head);
        }
        at += n;
    }
    Ok(())
}

/// Significant bits of a big-endian magnitude.
fn be_bit_length(bytes: &[u8]) -> usize {
    match bytes.iter().position(|&b| b != 0) {
        None => 0,
        Some(i) => 8 * (bytes.len() - i - 1) + bit_length_u128(u128::from(bytes[i])),
    }
}

/// Number of significant bits of a sample, as Python's `int.bit_length`.
#[inline]
#[must_use]
pub fn bit_length_u128(v: u128) -> usize {
    (128 - v.leading_zeros()) as usize
}

/// Writes an integer into a row (bits above the row width must be zero; checked by the caller).
#[inline]
pub fn write_u128_row(v: u128, row: &mut [u8]) {
    let nb = row.len();
    for (s, b) in row.iter_mut().rev().enumerate() {
        *b = if s < 16 { (v >> (8 * s)) as u8 } else { 0 };
    }
    debug_assert!(nb >= 16 || v >> (8 * nb) == 0);
}

/// A plain binary digit string (`[01]+`, nothing else), as bytes. Anything fancier (whitespace,
/// underscores, a `0b` prefix) is left to Python's `int(s, 2)`.
#[inline]
#[must_use]
pub fn plain_binary(s: &[u8]) -> Option<&[u8]> {
    (!s.is_empty() && s.iter().all(|&c| c == b'0' || c == b'1')).then_some(s)
}

/// A plain hex string: an optional `0x`/`0X` prefix, then `[0-9a-fA-F]+`; returns the digits.
#[inline]
pub fn plain_hex(s: &[u8]) -> Option<&[u8]> {
    let d = match s {
        [b'0', b'x' | b'X', rest @ ..] => rest,
        _ => s,
    };
    (!d.is_empty() && d.iter().all(u8::is_ascii_hexdigit)).then_some(d)
}

/// Significant bits of a binary digit string (its value's bit length).
#[inline]
#[must_use]
pub fn binary_bit_length(digits: &[u8]) -> usize {
    digits.len() - digits.iter().take_while(|&&c| c == b'0').count()
}

/// Significant bits of a hex digit string (its value's bit length).
#[must_use]
pub fn hex_bit_length(digits: &[u8]) -> usize {
    let lead = digits.iter().take_while(|&&c| c == b'0').count();
    match digits.get(lead) {
        None => 0,
        Some(&c) => 4 * (digits.len() - lead - 1) + bit_length_u128(u128::from(hex_value(c))),
    }
}

#[inline]
fn hex_value(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => c - b'A' + 10,
    }
}

/// Writes a binary digit string (rightmost digit is bit 0) into a zeroed row; the caller has
/// checked that the digits are `0`/`1` and that their bit length fits the row.
pub fn write_binary_row(digits: &[u8], row: &mut [u8]) {
    let nb = row.len();
    // Eight digits at a time: the low bit of each ASCII digit is its value, and one multiply
    // gathers the eight bits (the last digit of the chunk is bit 0 of the byte).
    let mut chunks = digits.rchunks_exact(8);
    for (s, chunk) in (&mut chunks).enumerate() {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let ones = u64::from_le_bytes(w) & 0x0101_0101_0101_0101;
        let byte = (ones.wrapping_mul(0x8040_2010_0804_0201) >> 56) as u8;
        if s < nb {
            row[nb - 1 - s] = byte;
        }
    }
    let head = chunks.remainder();
    if !head.is_empty() {
        let s = digits.len() / 8;
        let byte = head.iter().fold(0u8, |acc, &c| (acc << 1) | (c & 1));
        if s < nb {
            row[nb - 1 - s] = byte;
        }
    }
}

/// Writes a hex digit string (rightmost digit is bits 0-3) into a zeroed row; the caller has
/// checked that its bit length fits the row.
pub fn write_hex_row(digits: &[u8], row: &mut [u8]) {
    let nb = row.len();
    for (i, &c) in digits.iter().rev().enumerate() {
        let v = hex_value(c);
        if v != 0 {
            // Nibble i covers bits 4i .. 4i+4, all in byte of significance i / 2.
            row[nb - 1 - i / 2] |= v << (4 * (i % 2));
        }
    }
}

/// Writes a big-endian magnitude (any length, leading zeros allowed) into a zeroed row; the
/// caller has checked that its bit length fits the row.
pub fn write_be_bytes_row(bytes: &[u8], row: &mut [u8]) {
    let nb = row.len();
    for (s, &b) in bytes.iter().rev().enumerate() {
        if b != 0 {
            row[nb - 1 - s] = b;
        }
    }
}
