//! Pass 2: the bits of validated value ranges into packed rows.

use super::rows::Template;
use crate::layout;

/// Writes the bits of one validated value range into `dst`: the `i`-th `0`/`1` byte of `value` is
/// bit `bit_offset + i % num_bits` of row `i / num_bits`. Extra bits (impossible after
/// [`super::scan`]) are ignored rather than written out of bounds.
pub fn fill(value: &[u8], num_bits: usize, dst: &mut [u8], row_bytes: usize, bit_offset: usize) {
    if num_bits == 0 || row_bytes == 0 {
        return;
    }
    if num_bits == 1 {
        fill_single_bit(value, dst, row_bytes, bit_offset);
        return;
    }
    if bit_offset == 0
        && row_bytes == layout::num_bytes(num_bits)
        && value.len() >= TEMPLATE_MIN_BYTES
    {
        fill_multi_bit(value, num_bits, dst, row_bytes);
        return;
    }
    fill_any(value, num_bits, dst, row_bytes, bit_offset);
}

/// [`fill`] for any layout: every `0`/`1` byte of `value` in turn.
pub(super) fn fill_any(
    value: &[u8],
    num_bits: usize,
    dst: &mut [u8],
    row_bytes: usize,
    bit_offset: usize,
) {
    let mut bits = value.iter().filter(|&&b| b & 0xfe == b'0').map(|&b| b & 1);
    for row in dst.chunks_exact_mut(row_bytes) {
        for j in 0..num_bits {
            match bits.next() {
                Some(bit) => {
                    // Branch-free: random bits would defeat the branch predictor.
                    let (byte, mask) = layout::bit_position(row_bytes, bit_offset + j);
                    row[byte] |= mask & bit.wrapping_neg();
                }
                None => return,
            }
        }
    }
}

/// Values shorter than this are filled by [`fill_any`]: building the templates of
/// [`fill_multi_bit`] costs more than they save there (measured: 60 shots of 2 bits).
const TEMPLATE_MIN_BYTES: usize = 1024;

/// Bytes of shots that [`fill_multi_bit`] checks before extracting their bits.
const FILL_RUN_BYTES: usize = 16 << 10;

/// [`fill`] for whole rows of two or more bits: runs of shots in the compact or `json.dumps`
/// spelling are read at fixed offsets ([`Template`]); any other shot digit by digit.
pub(super) fn fill_multi_bit(value: &[u8], num_bits: usize, dst: &mut [u8], row_bytes: usize) {
    let spellings = [
        Template::new(num_bits, false),
        Template::new(num_bits, true),
    ];
    let shots = dst.len() / row_bytes;
    let is_bit = |b: u8| b & 0xfe == b'0';
    // Every `[` after the value's own opens a shot.
    let next_shot = |from: usize| next_open(value, from);
    let Some(mut pos) = next_shot(1) else {
        return;
    };
    let mut row = 0usize;
    let mut current = 0usize;
    while row < shots {
        let rest = &value[pos..];
        // Check and extract about 16 KiB at a time, so the extraction reads from L1.
        let cap = |t: &Template| (shots - row).min(FILL_RUN_BYTES / t.period() + 1);
        let mut run = spellings[current].count(rest, cap(&spellings[current]));
        if run == 0 {
            current ^= 1;
            run = spellings[current].count(rest, cap(&spellings[current]));
        }
        if run > 0 {
            let t = &spellings[current];
            t.extract(
                rest,
                &mut dst[row * row_bytes..(row + run) * row_bytes],
                row_bytes,
            );
            row += run;
            pos += run * t.period();
            continue;
        }
        // Another spelling (or the list's last shot): its bits are its next `num_bits` digits.
        let out = &mut dst[row * row_bytes..(row + 1) * row_bytes];
        for j in 0..num_bits {
            let Some(at) = value[pos..]
                .iter()
                .position(|&b| is_bit(b))
                .map(|i| pos + i)
            else {
                return;
            };
            let (byte, mask) = layout::bit_position(row_bytes, j);
            out[byte] |= mask & (value[at] & 1).wrapping_neg();
            pos = at + 1;
        }
        row += 1;
        match next_shot(pos) {
            Some(p) => pos = p,
            None => return,
        }
    }
}

/// [`fill`] for one bit per shot (every Qiskit-on-IQM key): a fixed byte and shift for every row.
fn fill_single_bit(value: &[u8], dst: &mut [u8], row_bytes: usize, bit_offset: usize) {
    let (byte, mask) = layout::bit_position(row_bytes, bit_offset);
    let shift = mask.trailing_zeros();
    let is_bit = |b: u8| b & 0xfe == b'0';
    // Consecutive bits are at least 4 bytes apart (`d],[d`), so when the byte 4 after a bit is a
    // bit it is the next one, and when it is not but the byte 5 after is (`d], [d`), that one is:
    // compact and spaced bodies need one or two tests per shot instead of four or five.
    let mut pos = 0usize;
    for row in dst.chunks_exact_mut(row_bytes) {
        let at = match (value.get(pos + 3), value.get(pos + 4)) {
            (Some(&b), _) if is_bit(b) => pos + 3,
            (Some(_), Some(&b)) if is_bit(b) => pos + 4,
            _ => match value
                .get(pos..)
                .and_then(|rest| rest.iter().position(|&b| is_bit(b)))
            {
                Some(i) => pos + i,
                None => return,
            },
        };
        row[byte] |= (value[at] & 1) << shift;
        pos = at + 1;
    }
}

/// [`fill`] for whole rows of two or more bits of a value whose shots the scan checked against
/// one spelling (compact, or `json.dumps`'s when `spaced`), all but the value's first and last
/// shot. `value` is the whole value or a piece of it starting just before a shot's `[`; its
/// first row is the value's shot 0 when `first` and its last row the value's last shot when
/// `last`: those are read digit by digit, every other row at fixed offsets, unchecked (so each
/// byte of the run is read once here, straight from the body).
pub(super) fn fill_uniform(
    value: &[u8],
    num_bits: usize,
    spaced: bool,
    dst: &mut [u8],
    row_bytes: usize,
    first: bool,
    last: bool,
) {
    let shots = dst.len() / row_bytes;
    // The `[` of the first shot (byte 0 is the value's own `[` or a separator).
    let next_shot = |from: usize| next_open(value, from);
    let Some(mut pos) = next_shot(1) else {
        return;
    };
    let mut row = 0usize;
    if first && shots > 0 {
        let Some(after) = digits_into(value, pos, num_bits, &mut dst[..row_bytes], row_bytes)
        else {
            return;
        };
        row = 1;
        match next_shot(after) {
            Some(p) => pos = p,
            None => return,
        }
    }
    let end = if last { shots.saturating_sub(1) } else { shots }.max(row);
    if end > row {
        let t = Template::new(num_bits, spaced);
        let Some(rest) = value.get(pos..) else {
            return;
        };
        t.extract(rest, &mut dst[row * row_bytes..end * row_bytes], row_bytes);
        pos += (end - row) * t.period();
        row = end;
    }
    if row < shots {
        let out = &mut dst[row * row_bytes..(row + 1) * row_bytes];
        digits_into(value, pos, num_bits, out, row_bytes);
    }
}

/// Writes the next `num_bits` digits of `value` from `pos` on into `row`; returns the offset
/// after the last one (`None` when the value has fewer).
fn digits_into(
    value: &[u8],
    mut pos: usize,
    num_bits: usize,
    row: &mut [u8],
    row_bytes: usize,
) -> Option<usize> {
    for j in 0..num_bits {
        let at = pos + value.get(pos..)?.iter().position(|&b| b & 0xfe == b'0')?;
        let (byte, mask) = layout::bit_position(row_bytes, j);
        row[byte] |= mask & (value[at] & 1).wrapping_neg();
        pos = at + 1;
    }
    Some(pos)
}

/// [`fill_uniform`] for one bit per shot, written as bit `bit_offset` of each row (a register's
/// clbit, or bit 0 of a single-bit key): the digits of the unchecked rows are every 4th
/// (compact `[0],`) or 5th (`[0], `) byte.
pub(super) fn fill_uniform_single(
    value: &[u8],
    spaced: bool,
    dst: &mut [u8],
    row_bytes: usize,
    bit_offset: usize,
    first: bool,
    last: bool,
) {
    let shots = dst.len() / row_bytes;
    let (byte, mask) = layout::bit_position(row_bytes, bit_offset);
    let shift = mask.trailing_zeros();
    let period = if spaced { 5 } else { 4 };
    let is_bit = |b: u8| b & 0xfe == b'0';
    let digit_from = |from: usize| {
        value
            .get(from..)
            .and_then(|rest| rest.iter().position(|&b| is_bit(b)))
            .map(|i| from + i)
    };
    // The `[` of the first shot (byte 0 is the value's own `[` or a separator).
    let Some(open) = value
        .get(1..)
        .and_then(|rest| rest.iter().position(|&b| b == b'['))
        .map(|i| 1 + i)
    else {
        return;
    };
    let mut pos = open;
    let mut row = 0usize;
    if first && shots > 0 {
        let Some(at) = digit_from(pos) else {
            return;
        };
        dst[byte] |= (value[at] & 1) << shift;
        row = 1;
        match value[at..].iter().position(|&b| b == b'[') {
            Some(i) => pos = at + i,
            None => return,
        }
    }
    let end = if last { shots.saturating_sub(1) } else { shots }.max(row);
    if end > row {
        let Some(digits) = value.get(pos + 1..) else {
            return;
        };
        let rows = dst[row * row_bytes..end * row_bytes].chunks_exact_mut(row_bytes);
        for (out, &d) in rows.zip(digits.iter().step_by(period)) {
            out[byte] |= (d & 1) << shift;
        }
        pos += (end - row) * period;
        row = end;
    }
    if row < shots {
        if let Some(at) = digit_from(pos) {
            dst[row * row_bytes + byte] |= (value[at] & 1) << shift;
        }
    }
}

/// The offset of the first `[` at or after `from` in `value`, if any.
fn next_open(value: &[u8], from: usize) -> Option<usize> {
    value
        .get(from..)
        .and_then(|rest| rest.iter().position(|&b| b == b'['))
        .map(|i| from + i)
}
