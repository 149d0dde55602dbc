//! Rows of bits to packed bytes and back, and bit-level reshuffling of packed rows.
//!
//! Every function works on whole rows of the layout in [`crate::layout`] and never expands a row
//! to one byte per bit (except [`unpack_rows`], whose output *is* one bool per bit). Inputs are
//! flat slices of `rows * bytes_per_row` bytes; outputs are written into caller-provided slices
//! of their final size, so the binding can allocate once and hand the buffer to NumPy.
//!
//! Column order: "little" means column `c` of the input is bit `c`; "big" means column `c` is
//! bit `num_bits - 1 - c` (the leftmost character of a bitstring is column 0).

use crate::error::{Error, Result};
use crate::layout::{first_byte_mask, num_bytes, row_to_u64, write_u64_row};
use std::convert::Infallible;

/// Packs one row from a bit source. `bit(c)` is called once per column, `c = 0..num_bits`, in
/// column order, so a source that must be read sequentially (a Python list) can be used.
///
/// `row` must hold `num_bytes(num_bits)` bytes; every byte is overwritten and padding is zero.
#[inline]
pub fn pack_row<E>(
    row: &mut [u8],
    num_bits: usize,
    little: bool,
    mut bit: impl FnMut(usize) -> Result<bool, E>,
) -> Result<(), E> {
    let nb = row.len();
    debug_assert_eq!(nb, num_bytes(num_bits));
    // Whole bytes are filled by fixed 8-step inner loops (unrolled by the compiler); the one
    // partial byte is the top one (byte 0).
    let full = num_bits / 8;
    let rem = num_bits % 8;
    if little {
        // Columns 8g..8g+8 are bits 8g..8g+8: byte nb-1-g, column 8g+i at bit i.
        for g in 0..full {
            let mut acc = 0u8;
            for i in 0..8 {
                acc |= u8::from(bit(8 * g + i)?) << i;
            }
            row[nb - 1 - g] = acc;
        }
        if rem > 0 {
            let mut acc = 0u8;
            for i in 0..rem {
                acc |= u8::from(bit(8 * full + i)?) << i;
            }
            row[0] = acc;
        }
    } else {
        // Column c is bit num_bits-1-c: the first `rem` columns fill byte 0 (top bit first),
        // then each group of 8 fills the next byte, most significant bit first.
        let mut acc = 0u8;
        for c in 0..rem {
            acc = (acc << 1) | u8::from(bit(c)?);
        }
        let skip = usize::from(rem > 0);
        if rem > 0 {
            row[0] = acc;
        }
        for g in 0..full {
            let mut acc = 0u8;
            for i in 0..8 {
                acc = (acc << 1) | u8::from(bit(rem + 8 * g + i)?);
            }
            row[skip + g] = acc;
        }
    }
    Ok(())
}

/// Packs `out.len() / num_bytes(num_bits)` rows of `num_bits` values each from a flat,
/// row-major slice; a value is a one when `is_set` says so.
///
/// # Errors
/// [`Error::Shape`] when the slice lengths do not match.
pub fn pack_rows<T: Copy>(
    src: &[T],
    num_bits: usize,
    little: bool,
    is_set: impl Fn(T) -> bool,
    out: &mut [u8],
) -> Result<()> {
    let nb = num_bytes(num_bits);
    let rows = check_rows(out.len(), nb, "output")?;
    if src.len() != rows * num_bits {
        return Err(shape_err(format!(
            "{} values for {rows} rows of {num_bits} bits",
            src.len()
        )));
    }
    if nb == 0 {
        return Ok(());
    }
    for (srow, orow) in src.chunks_exact(num_bits).zip(out.chunks_exact_mut(nb)) {
        let res: Result<(), Infallible> = pack_row(orow, num_bits, little, |c| Ok(is_set(srow[c])));
        let Ok(()) = res;
    }
    Ok(())
}

/// [`pack_rows`] for one-byte values (bool, uint8, int8; nonzero is one), eight columns at a
/// time: a SWAR nonzero test and one multiply gather eight bytes into one output byte.
///
/// # Errors
/// [`Error::Shape`] when the slice lengths do not match.
pub fn pack_rows_u8(src: &[u8], num_bits: usize, little: bool, out: &mut [u8]) -> Result<()> {
    let nb = num_bytes(num_bits);
    let rows = check_rows(out.len(), nb, "output")?;
    if src.len() != rows * num_bits {
        return Err(shape_err(format!(
            "{} values for {rows} rows of {num_bits} bits",
            src.len()
        )));
    }
    if nb == 0 {
        return Ok(());
    }
    let full = num_bits / 8;
    let rem = num_bits % 8;
    for (srow, orow) in src.chunks_exact(num_bits).zip(out.chunks_exact_mut(nb)) {
        if little {
            // Columns 8g..8g+8 are bits 8g..8g+8: byte nb-1-g, column 8g+i at bit i.
            for g in 0..full {
                orow[nb - 1 - g] = gather8(&srow[8 * g..8 * g + 8], false);
            }
            if rem > 0 {
                let mut acc = 0u8;
                for (i, &v) in srow[8 * full..].iter().enumerate() {
                    acc |= u8::from(v != 0) << i;
                }
                orow[0] = acc;
            }
        } else {
            // The first `rem` columns fill byte 0 (top bit first), then whole bytes follow.
            let mut acc = 0u8;
            for &v in &srow[..rem] {
                acc = (acc << 1) | u8::from(v != 0);
            }
            let skip = usize::from(rem > 0);
            if rem > 0 {
                orow[0] = acc;
            }
            for g in 0..full {
                orow[skip + g] = gather8(&srow[rem + 8 * g..rem + 8 * g + 8], true);
            }
        }
    }
    Ok(())
}

/// Eight bytes to eight bits (nonzero is one). `reversed == false`: byte i goes to bit i;
/// `reversed == true`: byte i goes to bit 7 - i.
#[inline]
fn gather8(chunk: &[u8], reversed: bool) -> u8 {
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    let x = u64::from_le_bytes(w);
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    // High bit of each byte set iff the byte is nonzero (no carries cross byte boundaries).
    let nz = (((x & LOW7) + LOW7) | x) & !LOW7;
    let ones = nz >> 7;
    // Each product term lands on a distinct bit, so the sum has no carries; the top byte
    // collects one bit from each input byte.
    let magic = if reversed {
        0x8040_2010_0804_0201u64
    } else {
        0x0102_0408_1020_4080u64
    };
    (ones.wrapping_mul(magic) >> 56) as u8
}

/// Unpacks rows into one bool per bit (`out.len() == rows * num_bits`), padding dropped.
///
/// # Errors
/// [`Error::Shape`] when the slice lengths do not match.
pub fn unpack_rows(src: &[u8], num_bits: usize, little: bool, out: &mut [bool]) -> Result<()> {
    let nb = num_bytes(num_bits);
    let rows = check_rows(src.len(), nb, "input")?;
    if out.len() != rows * num_bits {
        return Err(shape_err(format!(
            "{} output values for {rows} rows of {num_bits} bits",
            out.len()
        )));
    }
    if nb == 0 {
        return Ok(());
    }
    for (srow, orow) in src.chunks_exact(nb).zip(out.chunks_exact_mut(num_bits)) {
        for (s, &byte) in srow.iter().rev().enumerate() {
            // Byte of significance s holds bits 8s .. 8s+n (n < 8 only for byte 0); they land
            // on n adjacent columns, ascending for little, descending for big.
            let lo = 8 * s;
            let n = (num_bits - lo).min(8);
            let b = usize::from(byte);
            match (little, n == 8) {
                // Whole bytes: fixed-size copies (one 8-byte store each).
                (true, true) => orow[lo..lo + 8].copy_from_slice(&BITS_LSB_FIRST[b]),
                (false, true) => {
                    let hi = num_bits - lo;
                    orow[hi - 8..hi].copy_from_slice(&BITS_MSB_FIRST[b]);
                }
                (true, false) => orow[lo..lo + n].copy_from_slice(&BITS_LSB_FIRST[b][..n]),
                (false, false) => {
                    let hi = num_bits - lo;
                    orow[hi - n..hi].copy_from_slice(&BITS_MSB_FIRST[b][8 - n..]);
                }
            }
        }
    }
    Ok(())
}

/// The eight bits of every byte value as bools, bit 0 first.
const BITS_LSB_FIRST: [[bool; 8]; 256] = bit_table(false);
/// The eight bits of every byte value as bools, bit 7 first.
const BITS_MSB_FIRST: [[bool; 8]; 256] = bit_table(true);

const fn bit_table(msb_first: bool) -> [[bool; 8]; 256] {
    let mut t = [[false; 8]; 256];
    let mut v = 0;
    while v < 256 {
        let mut i = 0;
        while i < 8 {
            let bit = if msb_first { 7 - i } else { i };
            t[v][i] = (v >> bit) & 1 == 1;
            i += 1;
        }
        v += 1;
    }
    t
}

/// Number of ones in each row, padding excluded (`out.len() == rows`).
///
/// # Errors
/// [`Error::Shape`] when the slice lengths do not match.
pub fn bitcount_rows(src: &[u8], num_bits: usize, out: &mut [u64]) -> Result<()> {
    let nb = num_bytes(num_bits);
    if nb == 0 {
        // Zero-bit rows have no bytes, so their number comes from `out` alone.
        out.fill(0);
        return Ok(());
    }
    let rows = check_rows(src.len(), nb, "input")?;
    if out.len() != rows {
        return Err(shape_err(format!("{} outputs for {rows} rows", out.len())));
    }
    let mask = first_byte_mask(num_bits);
    for (row, o) in src.chunks_exact(nb).zip(out.iter_mut()) {
        let head = (row[0] & mask).count_ones();
        let tail: u32 = row[1..].iter().map(|b| b.count_ones()).sum();
        *o = u64::from(head + tail);
    }
    Ok(())
}

/// Bit gather: new bit `j` of every row is old bit `indices[j]` (order and repeats kept).
/// `out` holds `rows * num_bytes(indices.len())` bytes.
///
/// # Errors
/// [`Error::Index`] for an index `>= num_bits`; [`Error::Shape`] for mismatched lengths.
pub fn gather_bits(src: &[u8], num_bits: usize, indices: &[usize], out: &mut [u8]) -> Result<()> {
    let nb = num_bytes(num_bits);
    let rows = check_rows(src.len(), nb, "input")?;
    if let Some(&bad) = indices.iter().find(|&&i| i >= num_bits) {
        return Err(Error::Index(format!(
            "index {bad} is out of bounds for the number of bits {num_bits}."
        )));
    }
    let new_bits = indices.len();
    let onb = num_bytes(new_bits);
    if out.len() != rows * onb {
        return Err(shape_err(format!(
            "{} output bytes for {rows} rows of {onb} bytes",
            out.len()
        )));
    }
    if onb == 0 {
        return Ok(());
    }
    // Where each wanted bit sits in a source row, computed once.
    let pos: Vec<(usize, u8)> = indices
        .iter()
        .map(|&k| (nb - 1 - k / 8, (k % 8) as u8))
        .collect();
    if nb <= 8 && onb <= 8 {
        // Rows fit in a word: gather with shifts on one u64 per row.
        for (srow, orow) in src.chunks_exact(nb).zip(out.chunks_exact_mut(onb)) {
            let v = row_to_u64(srow, num_bits);
            let mut w = 0u64;
            for (j, &k) in indices.iter().enumerate() {
                w |= ((v >> k) & 1) << j;
            }
            write_u64_row(w, orow);
        }
    } else {
        for (srow, orow) in src.chunks_exact(nb).zip(out.chunks_exact_mut(onb)) {
            let res: Result<(), Infallible> = pack_row(orow, new_bits, true, |j| {
                let (byte, shift) = pos[j];
                Ok((srow[byte] >> shift) & 1 != 0)
            });
            let Ok(()) = res;
        }
    }
    Ok(())
}

/// Concatenates rows bit-wise: part 0 lands in the lowest bits, part 1 right above it, and so
/// on. Each part is `(rows, num_bits)` with the same number of rows. `out` holds
/// `rows * num_bytes(total_bits)` bytes and is fully overwritten.
///
/// # Errors
/// [`Error::Shape`] when the parts disagree on the number of rows or `out` has the wrong size.
pub fn concat_bits(parts: &[(&[u8], usize)], out: &mut [u8]) -> Result<()> {
    let total: usize = parts.iter().map(|p| p.1).sum();
    let onb = num_bytes(total);
    let mut rows = None;
    for (i, &(data, bits)) in parts.iter().enumerate() {
        let r = check_rows(data.len(), num_bytes(bits), "input")?;
        if num_bytes(bits) == 0 {
            continue;
        }
        match rows {
            None => rows = Some(r),
            Some(prev) if prev != r => {
                return Err(shape_err(format!(
                    "part {i} has {r} rows, part 0 has {prev}"
                )))
            }
            _ => {}
        }
    }
    if onb == 0 {
        return Ok(());
    }
    let rows = rows.unwrap_or(0);
    if out.len() != rows * onb {
        return Err(shape_err(format!(
            "{} output bytes for {rows} rows of {onb} bytes",
            out.len()
        )));
    }
    out.fill(0);
    let mut offset = 0usize;
    for &(data, bits) in parts {
        let nb = num_bytes(bits);
        if nb == 0 {
            continue;
        }
        let mask = first_byte_mask(bits);
        let shift = offset % 8;
        let base = offset / 8;
        for (srow, orow) in data.chunks_exact(nb).zip(out.chunks_exact_mut(onb)) {
            for (s, &byte) in srow.iter().rev().enumerate() {
                let b = if s == nb - 1 { byte & mask } else { byte };
                // Byte of significance s lands at significance base + s, spilling into the next.
                let v = u16::from(b) << shift;
                let d = base + s;
                orow[onb - 1 - d] |= v as u8;
                let hi = (v >> 8) as u8;
                if hi != 0 {
                    orow[onb - 2 - d] |= hi;
                }
            }
        }
        offset += bits;
    }
    Ok(())
}

/// Byte mask and wanted byte values of a postselection: bit `indices[i]` must equal
/// `selection[i]`. Returns `None` when one bit is required to be both 0 and 1.
///
/// # Errors
/// [`Error::Index`] for an index `>= num_bits`; [`Error::Value`] for unequal lengths.
pub fn postselect_mask(
    num_bits: usize,
    indices: &[usize],
    selection: &[bool],
) -> Result<Option<(Vec<u8>, Vec<u8>)>> {
    if indices.len() != selection.len() {
        return Err(Error::Value(
            "Lengths of indices and selection do not match.".into(),
        ));
    }
    let nb = num_bytes(num_bits);
    let mut mask = vec![0u8; nb];
    let mut want = vec![0u8; nb];
    for (&k, &sel) in indices.iter().zip(selection) {
        if k >= num_bits {
            return Err(Error::Index(format!(
                "index {k} out of bounds for the number of bits {num_bits}."
            )));
        }
        let byte = nb - 1 - k / 8;
        let bit = 1u8 << (k % 8);
        if mask[byte] & bit != 0 && (want[byte] & bit != 0) != sel {
            return Ok(None);
        }
        mask[byte] |= bit;
        if sel {
            want[byte] |= bit;
        }
    }
    Ok(Some((mask, want)))
}

/// Keeps the rows with `row & mask == want` (in order, copied whole, padding included).
/// Counts first so the result is allocated once at its final size.
///
/// # Errors
/// [`Error::Shape`] when `src` is not a whole number of rows of `mask.len()` bytes.
pub fn postselect_rows(src: &[u8], mask: &[u8], want: &[u8]) -> Result<Vec<u8>> {
    let nb = mask.len();
    check_rows(src.len(), nb, "input")?;
    if nb == 0 {
        return Ok(Vec::new());
    }
    let keep = |row: &[u8]| {
        row.iter()
            .zip(mask)
            .zip(want)
            .all(|((r, m), w)| r & m == *w)
    };
    let kept = src.chunks_exact(nb).filter(|r| keep(r)).count();
    let mut out = Vec::with_capacity(kept * nb);
    for row in src.chunks_exact(nb).filter(|r| keep(r)) {
        out.extend_from_slice(row);
    }
    Ok(out)
}

/// One integer per row (`out.len() == rows`), padding masked; `num_bits` must be at most 64.
///
/// # Errors
/// [`Error::Value`] for more than 64 bits; [`Error::Shape`] for mismatched lengths.
pub fn rows_to_u64(src: &[u8], num_bits: usize, out: &mut [u64]) -> Result<()> {
    if num_bits > 64 {
        return Err(Error::Value(format!(
            "one integer per shot needs num_bits <= 64, got {num_bits}"
        )));
    }
    let nb = num_bytes(num_bits);
    if nb == 0 {
        // Zero-bit rows have no bytes, so their number comes from `out` alone.
        out.fill(0);
        return Ok(());
    }
    let rows = check_rows(src.len(), nb, "input")?;
    if out.len() != rows {
        return Err(shape_err(format!("{} outputs for {rows} rows", out.len())));
    }
    for (row, o) in src.chunks_exact(nb).zip(out.iter_mut()) {
        *o = row_to_u64(row, num_bits);
    }
    Ok(())
}

// ---- samples: integers and digit strings into rows ---------------------------------------

/// Number of significant bits of a sample, as Python's `int.bit_length`.
#[inline]
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
pub fn binary_bit_length(digits: &[u8]) -> usize {
    digits.len() - digits.iter().take_while(|&&c| c == b'0').count()
}

/// Significant bits of a hex digit string (its value's bit length).
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

fn check_rows(len: usize, nb: usize, what: &str) -> Result<usize> {
    if nb == 0 {
        return Ok(0);
    }
    if !len.is_multiple_of(nb) {
        return Err(shape_err(format!(
            "{what} of {len} bytes is not a whole number of {nb}-byte rows"
        )));
    }
    Ok(len / nb)
}

fn shape_err(message: String) -> Error {
    Error::Shape {
        location: "packed rows".into(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::{get_bit, set_bit};

    const WIDTHS: [usize; 9] = [1, 7, 8, 9, 20, 63, 64, 65, 128];

    /// Deterministic pseudo-random bits (xorshift), so the tests need no extra crate.
    fn bits(n: usize, seed: u64) -> Vec<bool> {
        let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x & 1 == 1
            })
            .collect()
    }

    fn reference_pack(b: &[bool], num_bits: usize, little: bool) -> Vec<u8> {
        let nb = num_bytes(num_bits);
        let mut out = Vec::new();
        for r in b
            .chunks_exact(num_bits.max(1))
            .take(if num_bits == 0 { 0 } else { usize::MAX })
        {
            let mut row = vec![0u8; nb];
            for (c, &v) in r.iter().enumerate() {
                if v {
                    set_bit(&mut row, if little { c } else { num_bits - 1 - c });
                }
            }
            out.extend(row);
        }
        out
    }

    #[test]
    fn pack_matches_bit_by_bit_reference_both_orders() {
        for &w in &WIDTHS {
            for little in [false, true] {
                let b = bits(5 * w, w as u64);
                let mut out = vec![0xaau8; 5 * num_bytes(w)];
                pack_rows(&b, w, little, |v| v, &mut out).unwrap();
                assert_eq!(out, reference_pack(&b, w, little), "w={w} little={little}");
                let mut back = vec![false; b.len()];
                unpack_rows(&out, w, little, &mut back).unwrap();
                assert_eq!(back, b);
            }
        }
    }

    #[test]
    fn byte_packer_matches_generic_packer() {
        let vals = [0u8, 1, 2, 0x80, 0xff, 0x7f, 0x01, 0x00];
        for &w in &WIDTHS {
            for little in [false, true] {
                let b = bits(6 * w, 11 * w as u64);
                // Nonzero values other than 1 must count as ones too.
                let src: Vec<u8> = b
                    .iter()
                    .enumerate()
                    .map(|(i, &v)| if v { vals[1 + i % 7].max(1) } else { 0 })
                    .collect();
                let mut fast = vec![0x55u8; 6 * num_bytes(w)];
                let mut slow = vec![0u8; 6 * num_bytes(w)];
                pack_rows_u8(&src, w, little, &mut fast).unwrap();
                pack_rows(&src, w, little, |v| v != 0, &mut slow).unwrap();
                assert_eq!(fast, slow, "w={w} little={little}");
                assert_eq!(fast, reference_pack(&b, w, little));
            }
        }
    }

    #[test]
    fn big_order_puts_column_zero_in_the_top_bit() {
        // [1,1,0,0,0,0,0,0,0,0] is '1100000000': bytes [3, 0] big, [0, 3] little.
        let row = [1u8, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        let mut out = [0u8; 2];
        pack_rows(&row, 10, false, |v| v != 0, &mut out).unwrap();
        assert_eq!(out, [3, 0]);
        pack_rows(&row, 10, true, |v| v != 0, &mut out).unwrap();
        assert_eq!(out, [0, 3]);
    }

    #[test]
    fn unpack_ignores_padding_and_bitcount_masks_it() {
        // 9 bits: only the lowest bit of byte 0 counts.
        let src = [0xffu8, 0x01, 0xf0, 0x0f];
        let mut out = [false; 18];
        unpack_rows(&src, 9, true, &mut out).unwrap();
        assert_eq!(out.iter().filter(|&&b| b).count(), 2 + 4);
        assert!(out[8] && out[0] && !out[9 + 8]);
        let mut counts = [0u64; 2];
        bitcount_rows(&src, 9, &mut counts).unwrap();
        assert_eq!(counts, [2, 4]);
    }

    #[test]
    fn zero_bits_is_empty() {
        let mut out: [u8; 0] = [];
        pack_rows::<u8>(&[], 0, true, |v| v != 0, &mut out).unwrap();
        let mut c = [7u64; 3];
        bitcount_rows(&[], 0, &mut c).unwrap();
        assert_eq!(c, [0; 3]);
        c = [7; 3];
        rows_to_u64(&[], 0, &mut c).unwrap();
        assert_eq!(c, [0; 3]);
        gather_bits(&[], 0, &[], &mut out).unwrap();
    }

    #[test]
    fn gather_keeps_order_and_repeats() {
        for &w in &WIDTHS {
            let b = bits(4 * w, 7 + w as u64);
            let mut packed = vec![0u8; 4 * num_bytes(w)];
            pack_rows(&b, w, true, |v| v, &mut packed).unwrap();
            let idx: Vec<usize> = vec![w - 1, 0, w / 2, w / 2, 0];
            let mut out = vec![0u8; 4 * num_bytes(idx.len())];
            gather_bits(&packed, w, &idx, &mut out).unwrap();
            for r in 0..4 {
                let src = &packed[r * num_bytes(w)..(r + 1) * num_bytes(w)];
                let dst = &out[r..r + 1];
                for (j, &k) in idx.iter().enumerate() {
                    assert_eq!(get_bit(dst, j), get_bit(src, k), "w={w} r={r} j={j}");
                }
            }
        }
        let err = gather_bits(&[0], 3, &[3], &mut [0]).unwrap_err();
        assert!(matches!(err, Error::Index(_)));
    }

    #[test]
    fn concat_puts_the_first_part_in_the_low_bits() {
        for &(wa, wb) in &[(3, 1), (1, 7), (8, 9), (9, 64), (63, 65), (5, 0), (0, 5)] {
            let (a, b) = (bits(3 * wa, 1), bits(3 * wb, 2));
            let mut pa = vec![0xffu8; 3 * num_bytes(wa)];
            let mut pb = vec![0u8; 3 * num_bytes(wb)];
            pack_rows(&a, wa, true, |v| v, &mut pa).unwrap();
            pack_rows(&b, wb, true, |v| v, &mut pb).unwrap();
            // Garbage in the padding of part a must not leak into part b's bits.
            if wa % 8 != 0 {
                for r in 0..3 {
                    pa[r * num_bytes(wa)] |= !first_byte_mask(wa);
                }
            }
            let total = wa + wb;
            let mut out = vec![0xeeu8; 3 * num_bytes(total)];
            concat_bits(&[(&pa, wa), (&pb, wb)], &mut out).unwrap();
            let mut expect = Vec::new();
            for r in 0..3 {
                expect.extend_from_slice(&a[r * wa..(r + 1) * wa]);
                expect.extend_from_slice(&b[r * wb..(r + 1) * wb]);
            }
            assert_eq!(out, reference_pack(&expect, total, true), "{wa}+{wb}");
        }
    }

    #[test]
    fn postselect_filters_and_detects_contradictions() {
        // rows as u8 with 3 bits: 0b101, 0b001, 0b111, 0b100
        let src = [5u8, 1, 7, 4];
        let (m, w) = postselect_mask(3, &[0, 2], &[true, true]).unwrap().unwrap();
        assert_eq!(postselect_rows(&src, &m, &w).unwrap(), vec![5, 7]);
        assert!(postselect_mask(3, &[1, 1], &[true, false])
            .unwrap()
            .is_none());
        assert!(postselect_mask(3, &[1, 1], &[true, true])
            .unwrap()
            .is_some());
        assert!(matches!(
            postselect_mask(3, &[3], &[true]),
            Err(Error::Index(_))
        ));
        assert!(matches!(
            postselect_mask(3, &[1], &[]),
            Err(Error::Value(_))
        ));
    }

    #[test]
    fn digit_strings_round_trip() {
        for &w in &WIDTHS {
            let b = bits(w, 3 * w as u64);
            let s: Vec<u8> = b.iter().map(|&v| if v { b'1' } else { b'0' }).collect();
            let mut row = vec![0u8; num_bytes(w)];
            write_binary_row(plain_binary(&s).unwrap(), &mut row);
            assert_eq!(row, reference_pack(&b, w, false));
            assert_eq!(
                binary_bit_length(&s),
                w - s.iter().take_while(|&&c| c == b'0').count()
            );
        }
        // Leading zeros beyond the row width are fine.
        let mut row = [0u8; 1];
        write_binary_row(b"0000000000000101", &mut row);
        assert_eq!(row, [5]);
        let mut row = [0u8; 2];
        write_binary_row(b"1000000001", &mut row);
        assert_eq!(row, [2, 1]);
        let mut row = [0u8; 2];
        write_hex_row(plain_hex(b"0x1aF").unwrap(), &mut row);
        assert_eq!(row, [0x01, 0xaf]);
        assert_eq!(hex_bit_length(b"01aF"), 9);
        assert_eq!(hex_bit_length(b"000"), 0);
        assert!(plain_hex(b"0x").is_none());
        assert!(plain_binary(b"0b1").is_none());
        let mut row = [0u8; 17];
        write_u128_row(u128::MAX, &mut row);
        assert_eq!(row[0], 0);
        assert!(row[1..].iter().all(|&b| b == 0xff));
        let mut row = [0u8; 3];
        write_be_bytes_row(&[0, 0, 0, 0x12, 0x34], &mut row);
        assert_eq!(row, [0, 0x12, 0x34]);
    }

    #[test]
    fn rows_to_u64_masks_padding() {
        let mut out = [0u64; 2];
        rows_to_u64(&[0xff, 0x01, 0x00, 0x02], 9, &mut out).unwrap();
        assert_eq!(out, [0x101, 0x2]);
        assert!(rows_to_u64(&[0; 9], 65, &mut out[..1]).is_err());
    }
}
