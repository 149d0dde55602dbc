//! Fast paths for runs of shots: whole shots checked against a fixed spelling.
//!
//! Servers write a shot of width `w` compactly, `[d,d,...,d]` followed by `,` (a period of
//! `2w + 2` bytes), and Python's `json.dumps` writes `[d, d, ..., d]` followed by `, ` (`3w + 2`
//! bytes). In either spelling every byte of a shot is known except the digits, so a run of shots
//! is validated by comparing masked bytes with a template (the mask clears bit 0 of each digit
//! byte, so `0` and `1` both match `0`), and the bits are read at fixed offsets (by `PEXT` where
//! the CPU has a fast one, else by multiplication, [`Template::extract`]). The template
//! covers each shot's trailing separator, so the last shot of a list (followed by `]`) and any
//! other spelling are left to the general scanner, which reports errors with exact offsets.

use crate::layout;
use crate::pack::{gather_strided, WordOp};

/// Shots are compared in blocks of about this many bytes, so that short shots (6 bytes at width
/// 2) still give the vectorised comparison a useful length.
const BLOCK_BYTES: usize = 256;

/// Test hook: while set, [`Template::extract`] takes the portable path even where `PEXT` is
/// fast, so whole parses can be compared path against path (both give identical bytes, so
/// other tests running meanwhile are unaffected).
#[cfg(test)]
pub(crate) static FORCE_PORTABLE: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// One spelling of a shot of a given width.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    width: usize,
    /// Bytes from one digit to the next inside a shot: 2 compact, 3 spaced.
    stride: usize,
    /// Bytes per shot, separator included.
    period: usize,
    /// Shots per block.
    block: usize,
    /// `block` shots as they must read, digits as `0`.
    pattern: Vec<u8>,
    /// `0xfe` at digits, `0xff` elsewhere.
    mask: Vec<u8>,
    /// The digits of a shot as `PEXT`s of little-endian words ([`Template::extract`]).
    ops: Vec<WordOp>,
}

impl Template {
    /// The compact (`spaced == false`) or `json.dumps` spelling of a shot of `width >= 1` bits.
    pub(crate) fn new(width: usize, spaced: bool) -> Self {
        debug_assert!(width >= 1);
        let (stride, sep): (usize, &[u8]) = if spaced { (3, b", ") } else { (2, b",") };
        let mut shot = Vec::with_capacity(stride * width + 2);
        let mut mask = Vec::with_capacity(stride * width + 2);
        shot.push(b'[');
        for j in 0..width {
            if j > 0 {
                shot.extend_from_slice(sep);
            }
            shot.push(b'0');
        }
        shot.push(b']');
        shot.extend_from_slice(sep);
        for (i, _) in shot.iter().enumerate() {
            let digit = i >= 1 && (i - 1) % stride == 0 && (i - 1) / stride < width;
            mask.push(if digit { 0xfe } else { 0xff });
        }
        let period = shot.len();
        // A power of two, for the halving in `count`.
        let block = match BLOCK_BYTES / period {
            0 => 1,
            fit => 1 << fit.ilog2(),
        };
        Template {
            width,
            stride,
            period,
            block,
            pattern: shot.repeat(block),
            mask: mask.repeat(block),
            ops: digit_ops(width, stride),
        }
    }

    /// Bytes per shot, separator included.
    #[inline]
    pub(crate) fn period(&self) -> usize {
        self.period
    }

    /// Whether `bytes` starts with `shots <= self.block` shots in this spelling.
    #[inline]
    fn matches(&self, bytes: &[u8], shots: usize) -> bool {
        let n = shots * self.period;
        let Some(window) = bytes.get(..n) else {
            return false;
        };
        if n < LANES {
            return self.short_matches(window);
        }
        let (pattern, mask) = (&self.pattern[..n], &self.mask[..n]);
        // Whole 16-byte lanes, then the last 16 bytes again (overlapping) for the rest, so there
        // is no byte-at-a-time tail; differences are OR-ed lane-wise and reduced once.
        let mut acc = [0u8; LANES];
        let lanes = window
            .chunks_exact(LANES)
            .zip(pattern.chunks_exact(LANES))
            .zip(mask.chunks_exact(LANES));
        for ((w, p), m) in lanes {
            accumulate(&mut acc, w, p, m);
        }
        let tail = n - LANES;
        accumulate(&mut acc, &window[tail..], &pattern[tail..], &mask[tail..]);
        acc == [0u8; LANES]
    }

    /// [`Template::matches`] for a window of fewer than 16 bytes: one or two (overlapping)
    /// words. `pattern` and `mask` hold at least 8 bytes (a block is at least 4).
    #[inline]
    fn short_matches(&self, window: &[u8]) -> bool {
        let n = window.len();
        if n < 8 {
            // Compare the window's bytes only.
            let keep = u64::MAX >> (64 - 8 * n);
            let mut w = [0u8; 8];
            w[..n].copy_from_slice(window);
            let got = u64::from_le_bytes(w) & word(&self.mask, 0);
            return (got ^ word(&self.pattern, 0)) & keep == 0;
        }
        let diff = |at: usize| (word(window, at) & word(&self.mask, at)) ^ word(&self.pattern, at);
        diff(0) | diff(n - 8) == 0
    }

    /// How many shots in this spelling start at `bytes[0]`, at most `max`.
    #[inline]
    pub(crate) fn count(&self, bytes: &[u8], max: usize) -> usize {
        if max == 0 || !self.matches(bytes, 1) {
            return 0;
        }
        // Gallop: 1, 2, 4, ... shots per comparison up to a block, then blocks; then halve down
        // to one shot, each size at most once (exact, as the sizes are powers of two). A run of
        // `r` shots costs about `2 log2(r)` comparisons beyond `r / block`, whatever its length.
        let mut n = 1usize;
        let mut size = 1usize;
        while n + size <= max && self.matches(&bytes[n * self.period..], size) {
            n += size;
            size = (2 * size).min(self.block);
        }
        while size > 1 {
            size /= 2;
            if n + size <= max && self.matches(&bytes[n * self.period..], size) {
                n += size;
            }
        }
        n
    }

    /// Writes the bits of `rows.len() / row_bytes` shots, which [`Template::count`] has
    /// accepted at `bytes[0]`, over `rows` (`row_bytes = layout::num_bytes(width)`).
    #[inline]
    pub(crate) fn extract(&self, bytes: &[u8], rows: &mut [u8], row_bytes: usize) {
        #[cfg(test)]
        if FORCE_PORTABLE.load(std::sync::atomic::Ordering::Relaxed) {
            return self.extract_portable(bytes, rows, row_bytes);
        }
        if !gather_strided(bytes, self.period, &self.ops, rows, row_bytes) {
            self.extract_portable(bytes, rows, row_bytes);
        }
    }

    /// [`Template::extract`] without `PEXT`: the reference the `PEXT` path is tested against.
    #[inline]
    pub(crate) fn extract_portable(&self, bytes: &[u8], rows: &mut [u8], row_bytes: usize) {
        match self.stride {
            2 => extract_rows::<2>(bytes, self.period, self.width, rows, row_bytes),
            _ => extract_rows::<3>(bytes, self.period, self.width, rows, row_bytes),
        }
    }
}

/// The digits of a shot of `width` bits `stride` bytes apart (from byte 1 on) as word extracts:
/// each op covers the digits inside 8 bytes from its first one, within one output word, so a
/// row takes `width / 4` (compact) or `width / 3` (spaced) `PEXT`s, rounded up, and a few more
/// across 64-bit boundaries.
fn digit_ops(width: usize, stride: usize) -> Vec<WordOp> {
    let mut ops: Vec<WordOp> = Vec::new();
    for j in 0..width {
        let at = 1 + stride * j;
        match ops.last_mut() {
            Some(op) if at < op.at + 8 && j / 64 == op.dst => op.mask |= 1 << (8 * (at - op.at)),
            _ => ops.push(WordOp {
                at,
                mask: 1,
                shift: (j % 64) as u32,
                dst: j / 64,
            }),
        }
    }
    ops
}

/// Bytes compared per step (one SSE2 register).
const LANES: usize = 16;

/// ORs into `acc` the bits where `window & mask` differs from `pattern` (16 bytes each).
// Always inlined: measured, the call otherwise stays out of line in the scan's hot loop.
#[allow(clippy::inline_always)]
#[inline(always)]
fn accumulate(acc: &mut [u8; LANES], window: &[u8], pattern: &[u8], mask: &[u8]) {
    for i in 0..LANES {
        acc[i] |= (window[i] & mask[i]) ^ pattern[i];
    }
}

/// Reads the little-endian word at `bytes[at..at + 8]`, zero-padded past the end of `bytes`.
#[inline]
fn word(bytes: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    if let Some(full) = bytes.get(at..at + 8) {
        w.copy_from_slice(full);
    } else {
        let tail = bytes.get(at..).unwrap_or(&[]);
        w[..tail.len()].copy_from_slice(tail);
    }
    u64::from_le_bytes(w)
}

/// Bit 0 of bytes 0, 2, 4, 6 of a word.
const EVEN_BYTES: u64 = 0x0001_0001_0001_0001;
/// Bit 0 of bytes 0, 3, 6 of a word, and of bytes 0, 3 only.
const THIRD_BYTES: u64 = 0x0001_0000_0100_0001;
const THIRD_BYTES_TWO: u64 = 0x0000_0000_0100_0001;

/// Moves eight bits of a word to bits 56..64 in one multiplication: bit `POS[k]` to bit
/// `56 + k`, where `POS` lists the places [`group_byte`] gives digits 0..8. Each partial
/// product lands on its own bit (no carries), and only the wanted ones land in 56..64; the
/// multipliers were found and checked exhaustively over all 256 digit patterns.
/// Stride 2: digits 0..4 at bits 0, 16, 32, 48 and 4..8 at 8, 24, 40, 56.
const GATHER_STRIDE2: u64 = 0x0110_0220_0440_0880;
/// Stride 3: digits 0..3 at bits 0, 24, 48, 3..6 at 8, 32, 56 and 6..8 at 16, 40.
const GATHER_STRIDE3: u64 = 0x0108_4002_1080_0420;

/// The portable gather ([`Template::extract_portable`]).
/// Packs the `count <= 8` digits at `bytes[at + STRIDE * k]`, `k < count`, into one byte (bit
/// `k`): bit 0 of each digit byte is moved to its own place in one word (two or three words
/// read, masked and shifted), then all eight to the top byte by one multiplication. Words may
/// reach past the shot (into the next one, or zero padding at the end of `bytes`): those bits
/// are masked off.
// Always inlined: the fill's inner loop, measured slower as an out-of-line call.
#[allow(clippy::inline_always)]
#[inline(always)]
fn group_byte<const STRIDE: usize>(bytes: &[u8], at: usize, count: usize) -> u8 {
    let bits = if STRIDE == 2 {
        let mut x = word(bytes, at) & EVEN_BYTES;
        if count > 4 {
            x |= (word(bytes, at + 8) & EVEN_BYTES) << 8;
        }
        x.wrapping_mul(GATHER_STRIDE2) >> 56
    } else {
        let mut x = word(bytes, at) & THIRD_BYTES;
        if count > 3 {
            x |= (word(bytes, at + 9) & THIRD_BYTES) << 8;
        }
        if count > 6 {
            x |= (word(bytes, at + 18) & THIRD_BYTES_TWO) << 16;
        }
        x.wrapping_mul(GATHER_STRIDE3) >> 56
    };
    (bits & (u64::MAX >> (64 - count))) as u8
}

/// [`Template::extract`] for one stride: row `r` of `rows` gets the digits of the shot at
/// `bytes[r * period..]`, qubit `j` as bit `j` of the packed row.
fn extract_rows<const STRIDE: usize>(
    bytes: &[u8],
    period: usize,
    width: usize,
    rows: &mut [u8],
    row_bytes: usize,
) {
    debug_assert_eq!(row_bytes, layout::num_bytes(width));
    if row_bytes == 1 {
        // Up to 8 qubits (most keys): one byte per shot, no inner loop.
        for (r, out) in rows.iter_mut().enumerate() {
            *out = group_byte::<STRIDE>(bytes, r * period + 1, width);
        }
        return;
    }
    let last = row_bytes - 1;
    // Qubits in the row's first (most significant) byte.
    let top = width - 8 * last;
    let mut shot = 0usize;
    for row in rows.chunks_exact_mut(row_bytes) {
        let mut at = shot + 1;
        for g in 0..last {
            row[last - g] = group_byte::<STRIDE>(bytes, at, 8);
            at += 8 * STRIDE;
        }
        row[0] = group_byte::<STRIDE>(bytes, at, top);
        shot += period;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spell(bits: &[Vec<u8>], spaced: bool) -> Vec<u8> {
        let sep = if spaced { ", " } else { "," };
        let mut out = String::new();
        for shot in bits {
            let digits: Vec<String> = shot.iter().map(std::string::ToString::to_string).collect();
            out.push('[');
            out.push_str(&digits.join(sep));
            out.push(']');
            out.push_str(sep);
        }
        out.into_bytes()
    }

    fn pseudo_bits(shots: usize, width: usize, seed: usize) -> Vec<Vec<u8>> {
        (0..shots)
            .map(|s| {
                (0..width)
                    .map(|j| (((s * 31 + j * 17 + seed) * 2_654_435_761) >> 7) as u8 & 1)
                    .collect()
            })
            .collect()
    }

    #[test]
    fn groups_pick_every_digit_pattern() {
        // Every pattern of eight digits, in both strides, for every count, amid bytes whose
        // bit 0 is set everywhere else (`1`, `]`, `-`, `E`).
        for stride in [2usize, 3] {
            for v in 0..=255u8 {
                for filler in [b'1', b']', b'-', b'E'] {
                    let mut bytes = vec![filler; 40];
                    for k in 0..8 {
                        bytes[1 + stride * k] = b'0' + ((v >> k) & 1);
                    }
                    for count in 1..=8 {
                        let got = if stride == 2 {
                            group_byte::<2>(&bytes, 1, count)
                        } else {
                            group_byte::<3>(&bytes, 1, count)
                        };
                        let want = (u16::from(v) & ((1 << count) - 1)) as u8;
                        assert_eq!(got, want, "stride {stride} v {v} count {count}");
                    }
                }
            }
        }
    }

    #[test]
    fn templates_match_their_spelling_and_extract_every_bit() {
        for width in [1, 2, 3, 7, 8, 9, 15, 16, 17, 20, 63, 64, 65, 130] {
            for spaced in [false, true] {
                let t = Template::new(width, spaced);
                assert_eq!(t.period(), if spaced { 3 } else { 2 } * width + 2);
                let shots = 2 * t.block + 3;
                let bits = pseudo_bits(shots, width, width);
                let bytes = spell(&bits, spaced);
                assert_eq!(t.count(&bytes, usize::MAX), shots);
                assert_eq!(t.count(&bytes, shots - 1), shots - 1);
                // (At width 1 a spaced shot starts with a whole compact one, `[0],`.)
                let other = Template::new(width, !spaced);
                assert_eq!(
                    other.count(&bytes, usize::MAX),
                    usize::from(width == 1 && spaced)
                );
                let row_bytes = layout::num_bytes(width);
                let mut rows = vec![0u8; shots * row_bytes];
                t.extract(&bytes, &mut rows, row_bytes);
                for (s, row) in rows.chunks(row_bytes).enumerate() {
                    for (j, &bit) in bits[s].iter().enumerate() {
                        assert_eq!(layout::get_bit(row, j), bit == 1, "w{width} s{s} j{j}");
                    }
                    assert_eq!(row[0] & !layout::first_byte_mask(width), 0);
                }
            }
        }
    }

    #[test]
    fn pext_and_portable_extracts_give_identical_bytes() {
        // Runs cut at every byte of their last two shots (words then reach past the slice,
        // where bytes read as zero), amid filler whose bit 0 is set (`1`, `]`), from every
        // starting shot of a few.
        for width in [
            1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 20, 24, 33, 63, 64, 65, 127, 128, 129,
        ] {
            for spaced in [false, true] {
                let t = Template::new(width, spaced);
                let shots = 13;
                let bits = pseudo_bits(shots, width, 3 * width + usize::from(spaced));
                let mut bytes = spell(&bits, spaced);
                bytes.extend_from_slice(b"1]1]1]1]1]1]1]1]1]1]");
                let row_bytes = layout::num_bytes(width);
                for first in 0..3 {
                    let from = first * t.period();
                    for cut in (shots - 2) * t.period()..=bytes.len() {
                        let src = &bytes[from..cut];
                        // Rows past the slice too (they read as zeros); every row overwritten.
                        let rows = (cut - from) / t.period() + 3;
                        let mut fast = vec![0xa5u8; rows * row_bytes];
                        let mut portable = vec![0xa5u8; rows * row_bytes];
                        t.extract(src, &mut fast, row_bytes);
                        t.extract_portable(src, &mut portable, row_bytes);
                        assert_eq!(fast, portable, "w{width} spaced {spaced} {first} {cut}");
                    }
                }
            }
        }
        assert!(digit_ops(20, 2).len() == 5 && digit_ops(20, 3).len() == 7);
        assert!(digit_ops(65, 2).iter().all(|op| op.mask != 0));
    }

    #[test]
    fn count_stops_at_the_first_byte_out_of_place() {
        let width = 9;
        for spaced in [false, true] {
            let t = Template::new(width, spaced);
            let bytes = spell(&pseudo_bits(40, width, 1), spaced);
            for at in 0..bytes.len() {
                for bad in [b'2', b' ', b'/', b']', b'1' ^ 0x80] {
                    let mut b = bytes.clone();
                    if b[at] & 0xfe == b'0' && bad != b'2' {
                        continue;
                    }
                    b[at] = bad;
                    if b == bytes {
                        continue;
                    }
                    assert_eq!(t.count(&b, usize::MAX), at / t.period(), "{at} {bad}");
                }
            }
            // Truncated anywhere: only the complete shots count.
            for cut in 0..bytes.len() {
                assert_eq!(t.count(&bytes[..cut], usize::MAX), cut / t.period());
            }
        }
    }
}
