//! Bit-level work on packed rows: packing columns, unpacking, counting, gathering, concatenating
//! and post-selecting.

use crate::alloc;
use crate::error::{Error, Result};
use crate::layout::{first_byte_mask, num_bytes, row_to_u64};
use std::convert::Infallible;

use super::pext::{self, fast_pext};

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
    check_unpacked(out.len(), "output", src.len(), "values", num_bits)?;
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
    check_unpacked(out.len(), "output", src.len(), "values", num_bits)?;
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
    check_unpacked(src.len(), "input", out.len(), "output values", num_bits)?;
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
    if nb <= 8 {
        let m = low_mask(num_bits);
        for_each_short_row(src, nb, |r, v| out[r] = u64::from((v & m).count_ones()));
        return Ok(());
    }
    let mask = first_byte_mask(num_bits);
    for (row, o) in src.chunks_exact(nb).zip(out.iter_mut()) {
        // Whole 64-bit words after the head byte: one POPCNT per 8 bytes.
        let head = (row[0] & mask).count_ones();
        let words = row[1..].chunks_exact(8);
        let rest: u32 = words.remainder().iter().map(|b| b.count_ones()).sum();
        let body: u32 = words
            .map(|w| u64::from_ne_bytes(w.try_into().unwrap_or([0; 8])).count_ones())
            .sum();
        *o = u64::from(head + body + rest);
    }
    Ok(())
}

/// `(1 << num_bits) - 1` for `num_bits <= 64`.
#[inline]
fn low_mask(num_bits: usize) -> u64 {
    if num_bits >= 64 {
        u64::MAX
    } else {
        (1u64 << num_bits) - 1
    }
}

/// Calls `f(r, v)` for each row `r` of `nb <= 8` bytes, `v` the row as an integer (bit `k` of
/// the row is bit `k` of `v`; padding bits unmasked). One loop per width, so that each row is a
/// fixed-size load.
#[inline]
fn for_each_short_row(src: &[u8], nb: usize, mut f: impl FnMut(usize, u64)) {
    debug_assert!((1..=8).contains(&nb));
    macro_rules! rows_of {
        ($n:literal) => {
            for (r, row) in src.chunks_exact($n).enumerate() {
                let mut b = [0u8; 8];
                b[8 - $n..].copy_from_slice(row);
                f(r, u64::from_be_bytes(b));
            }
        };
    }
    match nb {
        1 => rows_of!(1),
        2 => rows_of!(2),
        3 => rows_of!(3),
        4 => rows_of!(4),
        5 => rows_of!(5),
        6 => rows_of!(6),
        7 => rows_of!(7),
        _ => rows_of!(8),
    }
}

/// `out` row `r` (`onb <= 8` bytes) is `f(v)` of source row `r` (`nb <= 8` bytes, read as by
/// [`for_each_short_row`]); one loop per output width so that each row is a fixed-size store.
fn gather_short(src: &[u8], nb: usize, out: &mut [u8], onb: usize, f: impl Fn(u64) -> u64) {
    macro_rules! to {
        ($m:literal) => {
            for_each_short_row(src, nb, |r, v| {
                out[r * $m..(r + 1) * $m].copy_from_slice(&f(v).to_be_bytes()[8 - $m..]);
            })
        };
    }
    match onb {
        1 => to!(1),
        2 => to!(2),
        3 => to!(3),
        4 => to!(4),
        5 => to!(5),
        6 => to!(6),
        7 => to!(7),
        _ => to!(8),
    }
}

/// Bit gather: new bit `j` of every row is old bit `indices[j]` (order and repeats kept).
/// `out` holds `rows * num_bytes(indices.len())` bytes and is fully overwritten.
///
/// Uses BMI2 `PEXT` where the CPU has a fast one and the indices compile to fewer extracts
/// than the portable path needs steps (see [`fast_pext`]); otherwise the portable path of
/// [`gather_bits_portable`]. Both give identical bytes.
///
/// # Errors
/// [`Error::Index`] for an index `>= num_bits`; [`Error::Shape`] for mismatched lengths.
pub fn gather_bits(src: &[u8], num_bits: usize, indices: &[usize], out: &mut [u8]) -> Result<()> {
    let Some((nb, onb)) = check_gather(src, num_bits, indices, out)? else {
        return Ok(());
    };
    if fast_pext() {
        let ops = pext::plan(indices);
        // Short rows: shifts of runs or byte tables cost about one step per run or per source
        // byte, a `PEXT` one step per op; wide rows have only the bit-by-bit portable path.
        let prefer = if nb <= 8 && onb <= 8 {
            let (runs, used) = short_costs(indices);
            ops.len() < runs && ops.len() <= used
        } else {
            true
        };
        if prefer && pext::gather(src, nb, &ops, out, onb) {
            return Ok(());
        }
    }
    gather_portable(src, nb, indices, out, onb);
    Ok(())
}

/// [`gather_bits`] without `PEXT`: shifts of runs, byte tables, or (rows over 8 bytes) bit by
/// bit. The reference the `PEXT` path is tested against; always available.
///
/// # Errors
/// As [`gather_bits`].
pub fn gather_bits_portable(
    src: &[u8],
    num_bits: usize,
    indices: &[usize],
    out: &mut [u8],
) -> Result<()> {
    if let Some((nb, onb)) = check_gather(src, num_bits, indices, out)? {
        gather_portable(src, nb, indices, out, onb);
    }
    Ok(())
}

/// Number of runs of consecutive indices and of distinct source bytes they read.
fn short_costs(indices: &[usize]) -> (usize, usize) {
    let runs = 1 + indices.windows(2).filter(|w| w[1] != w[0] + 1).count();
    let mut bytes = 0u8;
    for &k in indices {
        bytes |= 1 << (k / 8);
    }
    (runs, bytes.count_ones() as usize)
}

/// Checks a gather's arguments; returns the source and output row widths in bytes, or `None`
/// when there is nothing to write.
fn check_gather(
    src: &[u8],
    num_bits: usize,
    indices: &[usize],
    out: &[u8],
) -> Result<Option<(usize, usize)>> {
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
    Ok((onb > 0).then_some((nb, onb)))
}

/// The portable gather on checked arguments (`onb >= 1`).
fn gather_portable(src: &[u8], nb: usize, indices: &[usize], out: &mut [u8], onb: usize) {
    let new_bits = indices.len();
    // Where each wanted bit sits in a source row, computed once.
    let pos: Vec<(usize, u8)> = indices
        .iter()
        .map(|&k| (nb - 1 - k / 8, (k % 8) as u8))
        .collect();
    if nb <= 8 && onb <= 8 {
        // Rows fit in a word. Runs of consecutive indices (`k, k + 1, ...` landing on
        // `j, j + 1, ...`) move with one shift and mask each; when there are more runs than
        // source bytes, a 256-entry table per source byte (the output bits it sets) is cheaper.
        let mut runs: Vec<(u32, u64, u32)> = Vec::new();
        let mut j = 0;
        while j < indices.len() {
            let start = j;
            while j + 1 < indices.len() && indices[j + 1] == indices[j] + 1 {
                j += 1;
            }
            let len = j - start + 1;
            runs.push((indices[start] as u32, low_mask(len), start as u32));
            j += 1;
        }
        let mut table = [[0u64; 256]; 8];
        for (j, &k) in indices.iter().enumerate() {
            for (b, t) in table[k / 8].iter_mut().enumerate() {
                if (b >> (k % 8)) & 1 != 0 {
                    *t |= 1 << j;
                }
            }
        }
        // Bytes (by significance) that feed some output bit: the only ones looked up.
        let used: Vec<usize> = (0..nb).filter(|&i| table[i][255] != 0).collect();
        if runs.len() <= used.len() {
            gather_short(src, nb, out, onb, |v| {
                runs.iter()
                    .fold(0u64, |w, &(k, m, j)| w | (((v >> k) & m) << j))
            });
        } else {
            // All 8 byte positions, unrolled (bytes past the row are 0 and set nothing).
            gather_short(src, nb, out, onb, |v| {
                (0..8).fold(0u64, |w, i| w | table[i][((v >> (8 * i)) & 0xff) as usize])
            });
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
///
/// Two passes: the first tests every row and records the verdicts as one bit per row (64 rows
/// per word, no branches) and their number, so the result is allocated once at its final
/// size; the second walks the set bits and copies only the kept rows.
///
/// # Errors
/// [`Error::Shape`] when `src` is not a whole number of rows of `mask.len()` bytes.
pub fn postselect_rows(src: &[u8], mask: &[u8], want: &[u8]) -> Result<Vec<u8>> {
    let nb = mask.len();
    let rows = check_rows(src.len(), nb, "input")?;
    if nb == 0 {
        return Ok(Vec::new());
    }
    let mut verdicts: Vec<u64> = alloc::with_capacity(rows.div_ceil(64))?;
    if nb <= 8 {
        // One masked integer compare per row.
        // Compared in little-endian order (the byte swap moves mask, value and row alike), so
        // that no row needs a byte swap.
        let (m_le, w_le) = (be_value(mask).swap_bytes(), be_value(want).swap_bytes());
        macro_rules! test {
            ($n:literal) => {{
                // Whole blocks of 64 rows have a fixed trip count (unrolled, vectorised).
                let blocks = src.chunks_exact($n * 64);
                let rest = blocks.remainder();
                // Verdicts as bytes first (independent compares), then eight bytes to eight
                // bits at a time.
                let block_bits = |block: &[u8]| {
                    let mut v = [0u8; 64];
                    for (x, row) in v.iter_mut().zip(block.chunks_exact($n)) {
                        let mut b = [0u8; 8];
                        b[8 - $n..].copy_from_slice(row);
                        *x = u8::from(u64::from_le_bytes(b) & m_le == w_le);
                    }
                    v.chunks_exact(8).enumerate().fold(0u64, |bits, (g, c)| {
                        bits | (u64::from(gather8(c, false)) << (8 * g))
                    })
                };
                verdicts.extend(blocks.map(block_bits));
                if !rest.is_empty() {
                    verdicts.push(block_bits(rest));
                }
            }};
        }
        match nb {
            1 => test!(1),
            2 => test!(2),
            3 => test!(3),
            4 => test!(4),
            5 => test!(5),
            6 => test!(6),
            7 => test!(7),
            _ => test!(8),
        }
    } else {
        // Only the bytes with a condition are compared (usually one or two per row).
        let tests: Vec<(usize, u8, u8)> = (0..nb)
            .filter(|&i| mask[i] != 0)
            .map(|i| (i, mask[i], want[i]))
            .collect();
        for block in src.chunks(nb * 64) {
            let mut bits = 0u64;
            for (i, row) in block.chunks_exact(nb).enumerate() {
                let keep = tests.iter().all(|&(k, m, w)| row[k] & m == w);
                bits |= u64::from(keep) << i;
            }
            verdicts.push(bits);
        }
    }
    let kept: usize = verdicts.iter().map(|w| w.count_ones() as usize).sum();
    let mut out = alloc::with_capacity(alloc::checked_size(kept, nb, "postselect")?)?;
    macro_rules! copy {
        ($n:expr) => {
            for (b, &word) in verdicts.iter().enumerate() {
                let mut bits = word;
                while bits != 0 {
                    let r = 64 * b + bits.trailing_zeros() as usize;
                    out.extend_from_slice(&src[r * $n..(r + 1) * $n]);
                    bits &= bits - 1;
                }
            }
        };
    }
    // Fixed-size copies for the short widths (no memcpy call per row).
    match nb {
        1 => copy!(1),
        2 => copy!(2),
        3 => copy!(3),
        4 => copy!(4),
        5 => copy!(5),
        6 => copy!(6),
        7 => copy!(7),
        8 => copy!(8),
        _ => copy!(nb),
    }
    Ok(out)
}

/// Big-endian bytes (at most 8) as an integer.
fn be_value(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0u64, |v, &b| (v << 8) | u64::from(b))
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

/// [`check_rows`] of a packed buffer (`packed` bytes) whose rows must match `values` unpacked
/// values, `num_bits` per row; returns the row count.
fn check_unpacked(
    packed: usize,
    what_packed: &str,
    values: usize,
    what_values: &str,
    num_bits: usize,
) -> Result<usize> {
    let rows = check_rows(packed, num_bytes(num_bits), what_packed)?;
    if values != rows * num_bits {
        return Err(shape_err(format!(
            "{values} {what_values} for {rows} rows of {num_bits} bits"
        )));
    }
    Ok(rows)
}

fn shape_err(message: String) -> Error {
    Error::Shape {
        location: "packed rows".into(),
        message,
    }
}
