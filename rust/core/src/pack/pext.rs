//! Bit gathers with the BMI2 `PEXT` instruction (parallel bit extract), chosen at run time.
//!
//! A gather (`slice_bits`) is compiled once into [`Op`]s: each op takes the bits under `mask` of
//! one 64-bit source word, packs them (in source order) into the low bits, and ORs them into one
//! output word at `shift`. Strictly increasing indices within one source and one output word
//! share an op, so picking 22 of 64 bits in order is a single `PEXT` per shot.
//!
//! This is the crate's one place with `unsafe`: calling a `#[target_feature(enable = "bmi2")]`
//! function. [`gather`] makes that call only after [`fast_pext`] has checked, at run time, that
//! the CPU has BMI2 (and executes `PEXT` in hardware rather than in slow microcode).

/// One parallel bit extract: output word `dst` gets `pext(source word src, mask) << shift`.
/// Words are numbered from the least significant end of a row (word 0 holds bits 0..64).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Op {
    pub src: usize,
    pub mask: u64,
    pub shift: u32,
    pub dst: usize,
}

/// Compiles a gather (new bit `j` is old bit `indices[j]`) into ops. A run of strictly
/// increasing indices inside one source word and one output word becomes one op, since `PEXT`
/// keeps source order; every other change of direction, word or repeat starts a new op.
pub(crate) fn plan(indices: &[usize]) -> Vec<Op> {
    let mut ops: Vec<Op> = Vec::new();
    let mut prev: Option<usize> = None;
    for (j, &k) in indices.iter().enumerate() {
        let (src, bit, dst) = (k / 64, k % 64, j / 64);
        match ops.last_mut() {
            Some(op) if op.src == src && op.dst == dst && prev.is_some_and(|p| k > p) => {
                op.mask |= 1 << bit;
            }
            _ => ops.push(Op {
                src,
                mask: 1 << bit,
                shift: (j % 64) as u32,
                dst,
            }),
        }
        prev = Some(k);
    }
    ops
}

/// Whether `PEXT` is usable and fast on this CPU (detected once, then cached).
#[must_use]
pub fn fast_pext() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static FAST: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        *FAST.get_or_init(|| std::arch::is_x86_feature_detected!("bmi2") && !x86::microcoded())
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// Runs the ops over every row (`nb` bytes in, `onb` bytes out, `onb >= 1`) when [`fast_pext`]
/// allows; returns `false` (leaving `out` untouched) when it does not.
#[allow(unsafe_code)]
pub(crate) fn gather(src: &[u8], nb: usize, ops: &[Op], out: &mut [u8], onb: usize) -> bool {
    #[cfg(target_arch = "x86_64")]
    if fast_pext() {
        // SAFETY: `x86::gather` only needs the BMI2 instructions its `target_feature` enables,
        // and `fast_pext()` has just confirmed at run time that this CPU supports them. The
        // function itself is safe code (bounds-checked slices).
        unsafe { x86::gather(src, nb, ops, out, onb) };
        return true;
    }
    let _ = (src, nb, ops, out, onb);
    false
}

/// One word of a strided gather ([`gather_strided`]): the bits under `mask` of the
/// little-endian word at byte `at` of a source row, packed into the low bits, go to output word
/// `dst` from bit `shift` on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct WordOp {
    pub at: usize,
    pub mask: u64,
    pub shift: u32,
    pub dst: usize,
}

/// Runs `ops` over source rows that start every `period` bytes of `src` (row `r` at
/// `r * period`), writing output rows of `onb >= 1` bytes over `out` (output word `w` of a row
/// holds its bits `64 w..64 w + 64`, stored most significant byte first as in
/// [`crate::layout`]), when [`fast_pext`] allows; returns `false` (leaving `out` untouched) when
/// it does not. Bytes past the end of `src` read as zero.
#[allow(unsafe_code)]
pub(crate) fn gather_strided(
    src: &[u8],
    period: usize,
    ops: &[WordOp],
    out: &mut [u8],
    onb: usize,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if fast_pext() && !ops.is_empty() {
        // SAFETY: as in `gather`: `fast_pext()` has confirmed BMI2 at run time, and the
        // function is safe code apart from its target feature.
        unsafe { x86::strided(src, period, ops, out, onb) };
        return true;
    }
    let _ = (src, period, ops, out, onb);
    false
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Op, WordOp};
    use std::arch::x86_64::{__cpuid, _pext_u64, CpuidResult};

    /// AMD before Zen 3 (families 0x15 to 0x18, Hygon included) runs `PEXT` in microcode, some
    /// 20 to 250 cycles depending on the mask: slower than the portable table path.
    pub(super) fn microcoded() -> bool {
        let CpuidResult { ebx, ecx, edx, .. } = __cpuid(0);
        let mut vendor = [0u8; 12];
        vendor[..4].copy_from_slice(&ebx.to_le_bytes());
        vendor[4..8].copy_from_slice(&edx.to_le_bytes());
        vendor[8..].copy_from_slice(&ecx.to_le_bytes());
        if &vendor != b"AuthenticAMD" && &vendor != b"HygonGenuine" {
            return false;
        }
        let eax = __cpuid(1).eax;
        let base = (eax >> 8) & 0xf;
        let family = if base == 0xf {
            base + ((eax >> 20) & 0xff)
        } else {
            base
        };
        family < 0x19
    }

    #[target_feature(enable = "bmi2")]
    pub(super) fn gather(src: &[u8], nb: usize, ops: &[Op], out: &mut [u8], onb: usize) {
        if nb > 8 || onb > 8 {
            return wide(src, nb, ops, out, onb);
        }
        // One source word and one output word per row: a loop per (row width, output width),
        // so that each row is one fixed-size load and one fixed-size store.
        macro_rules! by_onb {
            ($nb:literal, $one:literal) => {
                match onb {
                    1 => short::<$nb, 1, $one>(src, ops, out),
                    2 => short::<$nb, 2, $one>(src, ops, out),
                    3 => short::<$nb, 3, $one>(src, ops, out),
                    4 => short::<$nb, 4, $one>(src, ops, out),
                    5 => short::<$nb, 5, $one>(src, ops, out),
                    6 => short::<$nb, 6, $one>(src, ops, out),
                    7 => short::<$nb, 7, $one>(src, ops, out),
                    _ => short::<$nb, 8, $one>(src, ops, out),
                }
            };
        }
        macro_rules! by_nb {
            ($one:literal) => {
                match nb {
                    1 => by_onb!(1, $one),
                    2 => by_onb!(2, $one),
                    3 => by_onb!(3, $one),
                    4 => by_onb!(4, $one),
                    5 => by_onb!(5, $one),
                    6 => by_onb!(6, $one),
                    7 => by_onb!(7, $one),
                    _ => by_onb!(8, $one),
                }
            };
        }
        if ops.len() == 1 {
            by_nb!(true);
        } else {
            by_nb!(false);
        }
    }

    /// Rows of `NB <= 8` bytes to rows of `ONB <= 8` bytes. `ONE`: a single op (its shift is
    /// then 0, since it starts at output bit 0).
    #[target_feature(enable = "bmi2")]
    #[inline]
    fn short<const NB: usize, const ONB: usize, const ONE: bool>(
        src: &[u8],
        ops: &[Op],
        out: &mut [u8],
    ) {
        let first = ops[0].mask;
        for (row, orow) in src.chunks_exact(NB).zip(out.chunks_exact_mut(ONB)) {
            let mut b = [0u8; 8];
            b[8 - NB..].copy_from_slice(row);
            let v = u64::from_be_bytes(b);
            let o = if ONE {
                _pext_u64(v, first)
            } else {
                let mut o = 0u64;
                for op in ops {
                    o |= _pext_u64(v, op.mask) << op.shift;
                }
                o
            };
            orow.copy_from_slice(&o.to_be_bytes()[8 - ONB..]);
        }
    }

    /// Rows of any width: each op reads its source word straight from the row bytes.
    #[target_feature(enable = "bmi2")]
    fn wide(src: &[u8], nb: usize, ops: &[Op], out: &mut [u8], onb: usize) {
        // Byte range of a word within a row of `n` bytes (the top word may be short).
        let span = |w: usize, n: usize| (n.saturating_sub(8 * w + 8), n - 8 * w);
        let reads: Vec<(usize, usize)> = ops.iter().map(|op| span(op.src, nb)).collect();
        let mut acc = vec![0u64; onb.div_ceil(8)];
        for (srow, orow) in src.chunks_exact(nb).zip(out.chunks_exact_mut(onb)) {
            acc.fill(0);
            for (op, &(lo, hi)) in ops.iter().zip(&reads) {
                let mut b = [0u8; 8];
                b[8 - (hi - lo)..].copy_from_slice(&srow[lo..hi]);
                acc[op.dst] |= _pext_u64(u64::from_be_bytes(b), op.mask) << op.shift;
            }
            for (w, &a) in acc.iter().enumerate() {
                let (lo, hi) = span(w, onb);
                orow[lo..hi].copy_from_slice(&a.to_be_bytes()[8 - (hi - lo)..]);
            }
        }
    }

    /// [`super::gather_strided`] on a BMI2 CPU.
    #[target_feature(enable = "bmi2")]
    pub(super) fn strided(src: &[u8], period: usize, ops: &[WordOp], out: &mut [u8], onb: usize) {
        // Bytes a source row reads; rows that have them all in `src` load straight from it.
        let reach = ops.iter().map(|op| op.at + 8).max().unwrap_or(0);
        let rows = out.len() / onb;
        let whole = if src.len() < reach {
            0
        } else {
            ((src.len() - reach) / period + 1).min(rows)
        };
        let (head, tail) = out.split_at_mut(whole * onb);
        match onb {
            1 => narrow::<1>(src, period, ops, head),
            2 => narrow::<2>(src, period, ops, head),
            3 => narrow::<3>(src, period, ops, head),
            4 => narrow::<4>(src, period, ops, head),
            5 => narrow::<5>(src, period, ops, head),
            6 => narrow::<6>(src, period, ops, head),
            7 => narrow::<7>(src, period, ops, head),
            8 => narrow::<8>(src, period, ops, head),
            _ => broad(src, period, ops, head, onb),
        }
        // The last rows, whose words reach past `src`: through a zero-padded copy of the rows
        // that start inside `src` (a few bytes more than `src`'s tail); rows after those read
        // only zeros.
        let start = whole * period;
        let live = src
            .len()
            .saturating_sub(start)
            .div_ceil(period)
            .min(rows - whole);
        let (partial, empty) = tail.split_at_mut(live * onb);
        if live > 0 {
            let mut padded = src[start..].to_vec();
            padded.resize((live - 1) * period + reach, 0);
            broad(&padded, period, ops, partial, onb);
        }
        empty.fill(0);
    }

    /// Rows of `ONB <= 8` output bytes (one output word), every word of each row inside `src`.
    #[target_feature(enable = "bmi2")]
    #[inline]
    fn narrow<const ONB: usize>(src: &[u8], period: usize, ops: &[WordOp], out: &mut [u8]) {
        // Measured: a loop of its own for one word per row, and words `STEP` bytes apart (a
        // shot's digits: 8 compact, 9 spaced) walked in fixed-size chunks rather than indexed
        // one by one, are each 20 to 50% faster than the general loop of `broad`.
        if let [op] = ops {
            return one::<ONB>(src, period, *op, out);
        }
        let first = ops[0].at;
        let step = ops.get(1).map_or(0, |op| op.at - first);
        let regular = ops
            .iter()
            .enumerate()
            .all(|(k, op)| op.at == first + k * step);
        match (regular, step) {
            (true, 8) => steps::<ONB, 8>(src, period, ops, out),
            (true, 9) => steps::<ONB, 9>(src, period, ops, out),
            _ => broad(src, period, ops, out, ONB),
        }
    }

    /// [`narrow`] for a single word per row (up to 4 digits compact, 3 spaced).
    #[target_feature(enable = "bmi2")]
    #[inline]
    fn one<const ONB: usize>(src: &[u8], period: usize, op: WordOp, out: &mut [u8]) {
        for (r, orow) in out.chunks_exact_mut(ONB).enumerate() {
            let at = r * period + op.at;
            let mut b = [0u8; 8];
            b.copy_from_slice(&src[at..at + 8]);
            let o = _pext_u64(u64::from_le_bytes(b), op.mask) << op.shift;
            orow.copy_from_slice(&o.to_be_bytes()[8 - ONB..]);
        }
    }

    /// [`narrow`] for words at `ops[0].at + k * STEP`.
    #[target_feature(enable = "bmi2")]
    #[inline]
    fn steps<const ONB: usize, const STEP: usize>(
        src: &[u8],
        period: usize,
        ops: &[WordOp],
        out: &mut [u8],
    ) {
        let first = ops[0].at;
        let span = ops.len() * STEP;
        let last = ops[ops.len() - 1];
        for (r, orow) in out.chunks_exact_mut(ONB).enumerate() {
            let at = r * period + first;
            let row = &src[at..at + span - STEP + 8];
            let mut o = 0u64;
            for (w, op) in row.chunks_exact(STEP).zip(ops) {
                let mut b = [0u8; 8];
                b.copy_from_slice(&w[..8]);
                o |= _pext_u64(u64::from_le_bytes(b), op.mask) << op.shift;
            }
            // At 9 bytes apart the last word is the 8 bytes left over after the chunks.
            if STEP > 8 {
                let mut b = [0u8; 8];
                b.copy_from_slice(&row[row.len() - 8..]);
                o |= _pext_u64(u64::from_le_bytes(b), last.mask) << last.shift;
            }
            orow.copy_from_slice(&o.to_be_bytes()[8 - ONB..]);
        }
    }

    /// Rows of any width, every word of each row inside `src`.
    #[target_feature(enable = "bmi2")]
    fn broad(src: &[u8], period: usize, ops: &[WordOp], out: &mut [u8], onb: usize) {
        let span = |w: usize, n: usize| (n.saturating_sub(8 * w + 8), n - 8 * w);
        let mut acc = vec![0u64; onb.div_ceil(8)];
        for (r, orow) in out.chunks_exact_mut(onb).enumerate() {
            acc.fill(0);
            let row = &src[r * period..];
            for op in ops {
                let mut w = [0u8; 8];
                w.copy_from_slice(&row[op.at..op.at + 8]);
                acc[op.dst] |= _pext_u64(u64::from_le_bytes(w), op.mask) << op.shift;
            }
            for (w, &a) in acc.iter().enumerate() {
                let (lo, hi) = span(w, onb);
                orow[lo..hi].copy_from_slice(&a.to_be_bytes()[8 - (hi - lo)..]);
            }
        }
    }
}
