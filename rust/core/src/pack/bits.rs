//! Bit-level work on packed rows: packing columns, unpacking, counting, gathering, concatenating
//! and post-selecting.

use crate::alloc;
use crate::error::{Error, Result};
use crate::layout::{first_byte_mask, num_bytes, row_to_u64, write_u64_row};
use std::convert::Infallible;

/// Packs one row from a bit source. `bit(c)` is called once per column, `c = 0..num_bits`, in
/// column order, so a source that must be read sequentially (a Python list) can be used.
///
/// `row` must hold `num_bytes(num_bits)` bytes; every byte is overwritten and padding is zero.
///
/// # Errors
/// Whatever `bit` returns.
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
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let mut w = [0u8; 8];
    w.copy_from_slice(chunk);
    let x = u64::from_le_bytes(w);
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
    let mut out = alloc::with_capacity(kept * nb)?;
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
