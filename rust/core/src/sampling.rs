//! Independent draws of measurement outcomes, written straight out as bit columns.
//!
//! The local simulator's terminal measurements sample each shot's outcome (an index into the
//! `2^m` basis states of the measured qubits). Drawing the outcome counts with a multinomial and
//! then shuffling the shots costs a random permutation of every shot's row; drawing each shot
//! from one alias table of `2^m` columns costs a cache miss per shot once the table outgrows
//! the caches (16 MB at 20 qubits). Here the outcome is split into its high and low halves:
//!
//! 1. every shot draws its high half from the marginal of the high bits (a small alias table);
//! 2. for each high value `h`, as many low halves as shots drew `h` are drawn from the
//!    conditional distribution given `h` (its own small table), into a run of their own;
//! 3. every shot, in order, takes the next unused low half of its `h`.
//!
//! (Up to 12 bits, one table of `2^m` columns fits in cache, and each shot is drawn from it
//! directly.) Each shot's outcome is then an independent draw from the full distribution, every access
//! stays within small tables or runs read in order, and nothing is shuffled. The random words
//! come from a counter-based generator (`SplitMix64`'s mixing function over a counter) keyed by
//! a seed the caller draws from its own generator, so a seeded caller reproduces the same bits
//! whatever the number of threads.
//!
//! Shots split over branches (what mid-circuit measurements leave: each branch has its own state
//! and a fixed number of shots) first get a uniformly random arrangement of branch labels, drawn
//! position by position without replacement from a stream of its own ([`arrange_branches`]);
//! each shot then draws from its branch's tables as above, the high halves' runs kept per
//! (branch, high half) ([`sample_branch_outcome_bits`]).

use rayon::prelude::*;

use crate::error::{Error, Result};

/// Shots per unit of parallel work.
const CHUNK: usize = 1 << 18;
/// Outcomes of at most this many bits are drawn from one alias table (64 KiB, in cache).
const ONE_TABLE_BITS: u32 = 12;
/// Weyl increment of `SplitMix64`: consecutive counters map to well-spread inputs.
const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// `SplitMix64`'s output function: a bijective mix of 64 bits.
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Random word number `k` of the stream keyed by `key`.
#[inline]
fn word(key: u64, k: usize) -> u64 {
    mix(key.wrapping_add((k as u64).wrapping_mul(GAMMA)))
}

/// Walker's alias table over `2^m` outcomes: a random word's top `m` bits pick a column, which
/// yields its own outcome when the word's remaining bits (as a fixed-point fraction) are below
/// the column's threshold, else its alias. Integer thresholds and a branch-free choice keep a
/// draw to a few instructions.
#[derive(Debug, Clone)]
struct AliasTable {
    bits: u32,
    columns: Vec<(u64, u32)>,
}

impl AliasTable {
    /// Vose's construction: columns below their fair share are topped up by one above it.
    fn new(probs: &[f64]) -> Result<AliasTable> {
        let k = probs.len();
        if !k.is_power_of_two() || k > 1 << 32 {
            return Err(Error::Value(format!(
                "expected a power of two (at most 2**32) of outcome probabilities, got {k}"
            )));
        }
        if let Some(i) = probs.iter().position(|p| !p.is_finite() || *p < 0.0) {
            return Err(Error::Value(format!(
                "outcome probability {i} is {}, expected a finite non-negative number",
                probs[i]
            )));
        }
        let total: f64 = probs.iter().sum();
        if total <= 0.0 || !total.is_finite() {
            return Err(Error::Value(
                "outcome probabilities must have a positive finite sum".into(),
            ));
        }
        let scale = k as f64 / total;
        let mut share: Vec<f64> = probs.iter().map(|p| p * scale).collect();
        // Indices fit u32: k <= 2^32.
        let mut alias: Vec<u32> = (0..k).map(|i| i as u32).collect();
        let (mut small, mut large): (Vec<usize>, Vec<usize>) =
            (0..k).partition(|&i| share[i] < 1.0);
        while let (Some(&s), Some(&l)) = (small.last(), large.last()) {
            small.pop();
            alias[s] = l as u32;
            share[l] -= 1.0 - share[s];
            if share[l] < 1.0 {
                large.pop();
                small.push(l);
            }
        }
        // What is left is at its fair share up to rounding (a zero-probability outcome never
        // is: it would need a whole share): those columns always yield themselves.
        for i in small.into_iter().chain(large) {
            share[i] = 1.0;
            alias[i] = i as u32;
        }
        let bits = k.trailing_zeros();
        // Fractions have 64 - bits bits; a share of 1 is any threshold with alias == self.
        let one = 2f64.powi(64 - bits as i32);
        let columns = share
            .iter()
            .zip(alias)
            .map(|(&s, a)| {
                // 0 <= s < 1 here, so the product fits.
                #[allow(clippy::cast_sign_loss)]
                let t = if s >= 1.0 { u64::MAX } else { (s * one) as u64 };
                (t, a)
            })
            .collect();
        Ok(AliasTable { bits, columns })
    }

    /// The outcome of one random word.
    #[inline]
    fn draw(&self, r: u64) -> u64 {
        let (i, frac) = if self.bits == 0 {
            (0, r)
        } else {
            (
                (r >> (64 - self.bits)) as usize,
                r & (u64::MAX >> self.bits),
            )
        };
        let (threshold, alias) = self.columns[i];
        let own = u64::from(frac < threshold).wrapping_neg();
        (i as u64 & own) | (u64::from(alias) & !own)
    }
}

/// Independent outcomes drawn from `probs` (`2^m` non-negative weights, `m <= 32`, normalised
/// here), one per entry of `scratch` (`shots` of them), written as `uint8` bits into `out`, a
/// `(shots, shifts.len())` table: row `s` holds bit `shifts[c]` of shot `s`'s outcome in
/// column `c`. `seed` keys the random stream; equal inputs give equal tables.
///
/// The caller provides `out` and the `scratch` space (the low halves, 2 bytes per shot) so
/// that both can come from an allocator that maps large buffers cheaply: `NumPy` asks for huge
/// pages, and faulting in fresh 4 KiB pages costs as much as the sampling itself.
///
/// # Errors
/// [`Error::Value`] when `probs` is not a power of two (at most `2^32`) long, has a negative or
/// non-finite weight or sums to zero, a shift is not below `m`, or `out` has the wrong length.
pub fn sample_outcome_bits(
    probs: &[f64],
    seed: u64,
    shifts: &[u32],
    out: &mut [u8],
    scratch: &mut [u16],
) -> Result<()> {
    draw_rows(probs, 1, None, seed, shifts, out, scratch)
}

/// Shots of several branches (groups of shots that share a state): `labels[s]` is shot `s`'s
/// branch, and its outcome is an independent draw from that branch's weights, row `labels[s]`
/// of `probs` (`branches` rows of `2^m` weights each, `m <= 32`, each row normalised here).
/// Bits are written as by [`sample_outcome_bits`]; with one branch both give the same table.
///
/// # Errors
/// [`Error::Value`] as for [`sample_outcome_bits`] (per row), when `probs` is not `branches`
/// rows long, or a label is not below `branches` (the shot is named).
pub fn sample_branch_outcome_bits(
    probs: &[f64],
    branches: usize,
    labels: &[u32],
    seed: u64,
    shifts: &[u32],
    out: &mut [u8],
    scratch: &mut [u16],
) -> Result<()> {
    if labels.len() != scratch.len() {
        return Err(Error::Value(format!(
            "{} branch labels for {} shots",
            labels.len(),
            scratch.len()
        )));
    }
    if let Some(s) = labels.iter().position(|&l| l as usize >= branches) {
        return Err(Error::Value(format!(
            "shot {s} has branch label {}, expected one below {branches}",
            labels[s]
        )));
    }
    draw_rows(probs, branches, Some(labels), seed, shifts, out, scratch)
}

/// A uniformly random arrangement of the multiset in which branch `b` occurs `counts[b]` times,
/// written into `labels` (as long as the counts' sum): position `i` takes branch `b` with
/// probability (copies of `b` not yet placed) / (positions left), as a draw without
/// replacement. The words come from `seed`'s stream under a key of their own, so the
/// outcome draws of [`sample_branch_outcome_bits`] under the same seed are independent of them.
///
/// # Errors
/// [`Error::Value`] when there are more than `2^32` branches or the counts do not add up to
/// `labels.len()`.
pub fn arrange_branches(counts: &[u64], seed: u64, labels: &mut [u32]) -> Result<()> {
    if counts.len() > 1 << 32 {
        return Err(Error::Value(format!(
            "{} branches, expected at most 2**32",
            counts.len()
        )));
    }
    let total = counts
        .iter()
        .try_fold(0u64, |a, &c| a.checked_add(c))
        .filter(|&t| t == labels.len() as u64);
    if total.is_none() {
        return Err(Error::Value(format!(
            "the branch counts do not add up to the {} shots",
            labels.len()
        )));
    }
    let key = mix(seed ^ 0x4252_414E);
    let retry_key = mix(seed ^ 0x5245_5452);
    // Uniform in [0, n) (n > 0) from word `i`: Lemire's multiply-and-reject, exact; a rejection
    // (probability below n / 2^64) continues on a stream of its own for that position.
    let below = |n: u64, i: usize| -> u64 {
        let mut r = word(key, i);
        let mut j = 0;
        loop {
            let m = u128::from(r) * u128::from(n);
            // Low and high 64 bits of the product.
            #[allow(clippy::cast_possible_truncation)]
            let (low, high) = (m as u64, (m >> 64) as u64);
            if low >= n || low >= n.wrapping_neg() % n {
                return high;
            }
            r = word(mix(retry_key ^ i as u64), j);
            j += 1;
        }
    };
    if labels.is_empty() {
        return Ok(()); // also no branches at all
    }
    if counts.len() == 1 {
        labels.fill(0);
        return Ok(());
    }
    match counts.len() {
        2 => arrange_few::<2>(counts, labels, below),
        3 => arrange_few::<3>(counts, labels, below),
        4 => arrange_few::<4>(counts, labels, below),
        5..=8 => arrange_few::<8>(counts, labels, below),
        _ => arrange_many(counts, labels, below),
    }
    Ok(())
}

/// [`arrange_branches`] for many branches: a Fenwick tree of the remaining counts finds and
/// decrements a position's branch in `log2(branches)` steps.
fn arrange_many(counts: &[u64], labels: &mut [u32], below: impl Fn(u64, usize) -> u64) {
    let size = counts.len();
    let mut tree = vec![0u64; size + 1];
    for (b, &c) in counts.iter().enumerate() {
        let mut j = b + 1;
        while j <= size {
            tree[j] += c;
            j += j & j.wrapping_neg();
        }
    }
    let top = 1usize << (usize::BITS - 1 - size.leading_zeros());
    let mut left = labels.len() as u64;
    for (i, l) in labels.iter_mut().enumerate() {
        let mut r = below(left, i);
        // Largest prefix whose sum is <= r: branch `pos` (0-based) holds position r.
        let mut pos = 0;
        let mut step = top;
        while step > 0 {
            if pos + step <= size && tree[pos + step] <= r {
                pos += step;
                r -= tree[pos];
            }
            step >>= 1;
        }
        let mut j = pos + 1;
        while j <= size {
            tree[j] -= 1;
            j += j & j.wrapping_neg();
        }
        left -= 1;
        *l = pos as u32;
    }
}

/// [`arrange_branches`] for at most `N` branches (`N` a constant, so the scan unrolls into
/// registers): `ends[b]` is the number of copies of branches `0..=b` left, and position `r`
/// (counted over what is left) belongs to the number of ends it has reached. No branch in the
/// loop: an even split of shots would mispredict every other one.
fn arrange_few<const N: usize>(
    counts: &[u64],
    labels: &mut [u32],
    below: impl Fn(u64, usize) -> u64,
) {
    // Unused entries start at u64::MAX and stay above every position: they lose at most one
    // per shot.
    let mut ends = [u64::MAX; N];
    let mut acc = 0;
    for (e, &c) in ends.iter_mut().zip(counts) {
        acc += c;
        *e = acc;
    }
    let mut left = labels.len() as u64;
    for (i, l) in labels.iter_mut().enumerate() {
        let r = below(left, i);
        let b: u64 = ends.iter().map(|&e| u64::from(r >= e)).sum();
        for (j, e) in ends.iter_mut().enumerate() {
            *e -= u64::from(j as u64 >= b);
        }
        left -= 1;
        // Below N (at most 8).
        #[allow(clippy::cast_possible_truncation)]
        let label = b as u32;
        *l = label;
    }
}

/// The sampler behind both entry points: `labels` (none: every shot in branch 0) picks each
/// shot's row of `probs`.
// One function on purpose: the three steps share their tables and read top to bottom.
#[allow(clippy::too_many_lines)]
fn draw_rows(
    probs: &[f64],
    branches: usize,
    labels: Option<&[u32]>,
    seed: u64,
    shifts: &[u32],
    out: &mut [u8],
    scratch: &mut [u16],
) -> Result<()> {
    let shots = scratch.len();
    if branches == 0 || !probs.len().is_multiple_of(branches) {
        return Err(Error::Value(format!(
            "{} outcome probabilities do not split into {branches} branches",
            probs.len()
        )));
    }
    let k = probs.len() / branches;
    if !k.is_power_of_two() || k > 1 << 32 {
        return Err(Error::Value(format!(
            "expected a power of two (at most 2**32) of outcome probabilities, got {k}"
        )));
    }
    if let Some(i) = probs.iter().position(|p| !p.is_finite() || *p < 0.0) {
        let branch = if branches > 1 {
            format!("branch {}, ", i / k)
        } else {
            String::new()
        };
        return Err(Error::Value(format!(
            "{branch}outcome probability {} is {}, expected a finite non-negative number",
            i % k,
            probs[i]
        )));
    }
    let bits = k.trailing_zeros();
    if let Some(&s) = shifts.iter().find(|&&s| s >= bits) {
        return Err(Error::Value(format!(
            "bit {s} asked of outcomes of {bits} bits"
        )));
    }
    let width = shifts.len();
    if Some(out.len()) != shots.checked_mul(width) {
        return Err(Error::Value(format!(
            "the output holds {} bytes, expected {shots} shots x {width} bits",
            out.len()
        )));
    }
    let branch_of = |s: usize| labels.map_or(0, |l| l[s] as usize);
    let (key_high, key_low) = (mix(seed ^ 0x5348_4F54), mix(seed ^ 0x5041_434B));
    let parallel = shots > CHUNK && rayon::current_num_threads() > 1;
    if bits <= ONE_TABLE_BITS {
        // Tables that stay in cache: one pass, each shot drawn from its branch's table.
        let tables = probs
            .chunks_exact(k)
            .map(AliasTable::new)
            .collect::<Result<Vec<_>>>()?;
        if width == 0 || shots == 0 {
            return Ok(());
        }
        let writer = RowWriter::new(bits, shifts);
        let fill = |(c, rows): (usize, &mut [u8])| {
            for (i, r) in rows.chunks_exact_mut(width).enumerate() {
                let s = c * CHUNK + i;
                writer.write(tables[branch_of(s)].draw(word(key_high, s)), r);
            }
        };
        if parallel {
            out.par_chunks_mut(CHUNK * width).enumerate().for_each(fill);
        } else {
            out.chunks_mut(CHUNK * width).enumerate().for_each(fill);
        }
        return Ok(());
    }
    // Low and high halves (both at most 16 bits): outcome = high << low_bits | low. Runs of low
    // halves are kept per (branch, high half): group g = branch * per_branch + high.
    let low_bits = bits / 2;
    let row = 1usize << low_bits;
    let per_branch = k / row;
    let highs = probs
        .chunks_exact(k)
        .map(|p| {
            let marginal: Vec<f64> = p.chunks_exact(row).map(|r| r.iter().sum()).collect();
            AliasTable::new(&marginal) // checks the sum
        })
        .collect::<Result<Vec<_>>>()?;
    if width == 0 || shots == 0 {
        return Ok(());
    }
    let num_groups = branches * per_branch;
    let num_chunks = shots.div_ceil(CHUNK);
    // Shot s's group; drawn again in step 3 rather than stored (cheaper than the memory).
    let group_of = |s: usize| {
        let b = branch_of(s);
        b * per_branch + highs[b].draw(word(key_high, s)) as usize
    };

    // 1. How many shots of each chunk fell in each group.
    let tally = |c: usize| {
        let mut counts = vec![0usize; num_groups];
        for s in c * CHUNK..((c + 1) * CHUNK).min(shots) {
            counts[group_of(s)] += 1;
        }
        counts
    };
    let chunk_counts: Vec<Vec<usize>> = if parallel {
        (0..num_chunks).into_par_iter().map(tally).collect()
    } else {
        (0..num_chunks).map(tally).collect()
    };

    // Where each group's run of low halves starts, and each chunk's first unused entry.
    let mut start = vec![0usize; num_groups + 1];
    for g in 0..num_groups {
        start[g + 1] = start[g] + chunk_counts.iter().map(|c| c[g]).sum::<usize>();
    }
    let mut cursors: Vec<Vec<usize>> = Vec::with_capacity(num_chunks);
    let mut next = start[..num_groups].to_vec();
    for counts in &chunk_counts {
        cursors.push(next.clone());
        for (n, c) in next.iter_mut().zip(counts) {
            *n += c;
        }
    }
    drop(chunk_counts);

    // 2. The low halves, run by run, each from its conditional table.
    let mut runs: Vec<(usize, &mut [u16])> = Vec::with_capacity(num_groups);
    let mut rest: &mut [u16] = scratch;
    for g in 0..num_groups {
        let (run, tail) = rest.split_at_mut(start[g + 1] - start[g]);
        if !run.is_empty() {
            runs.push((g, run));
        }
        rest = tail;
    }
    let draw_run = |(g, run): (usize, &mut [u16])| -> Result<()> {
        // Group g's weights: row g of `row` entries (branch-major, then high half).
        let table = AliasTable::new(&probs[g * row..(g + 1) * row])?;
        for (i, l) in run.iter_mut().enumerate() {
            // Below 2^16: the low half has at most 16 bits.
            *l = table.draw(word(key_low, start[g] + i)) as u16;
        }
        Ok(())
    };
    if parallel {
        runs.into_par_iter().try_for_each(draw_run)?;
    } else {
        runs.into_iter().try_for_each(draw_run)?;
    }
    let lows: &[u16] = scratch;

    // 3. Every shot takes the next low half of its group; the rows are written out.
    let writer = RowWriter::new(bits, shifts);
    let fill = |((c, rows), mut cursor): ((usize, &mut [u8]), Vec<usize>)| {
        for (i, r) in rows.chunks_exact_mut(width).enumerate() {
            let g = group_of(c * CHUNK + i);
            let h = (g & (per_branch - 1)) as u64; // per_branch is a power of two
            let outcome = (h << low_bits) | u64::from(lows[cursor[g]]);
            cursor[g] += 1;
            writer.write(outcome, r);
        }
    };
    if parallel {
        out.par_chunks_mut(CHUNK * width)
            .enumerate()
            .zip(cursors)
            .for_each(fill);
    } else {
        out.chunks_mut(CHUNK * width)
            .enumerate()
            .zip(cursors)
            .for_each(fill);
    }
    Ok(())
}

/// Writes an outcome's bits as one row of `uint8` columns. Rows of up to 32 columns go through
/// a table that maps each byte of the outcome to the column bytes it sets (a few loads and one
/// copy rather than a shift and a store per column); wider rows take the plain loop.
struct RowWriter<'a> {
    shifts: &'a [u32],
    /// Per outcome byte `j` and value `v`: entry `256 j + v`, four little-endian words.
    lut: Vec<[u64; 4]>,
}

impl<'a> RowWriter<'a> {
    fn new(bits: u32, shifts: &'a [u32]) -> RowWriter<'a> {
        let mut lut = Vec::new();
        if shifts.len() <= 32 {
            lut = vec![[0u64; 4]; (bits as usize).div_ceil(8) * 256];
            for (c, &s) in shifts.iter().enumerate() {
                let j = s as usize / 8;
                for v in 0..256usize {
                    if (v >> (s % 8)) & 1 == 1 {
                        lut[j * 256 + v][c / 8] |= 1u64 << (8 * (c % 8));
                    }
                }
            }
        }
        RowWriter { shifts, lut }
    }

    #[inline]
    fn write(&self, outcome: u64, row: &mut [u8]) {
        if self.shifts.len() > 32 {
            for (bit, &s) in row.iter_mut().zip(self.shifts) {
                *bit = ((outcome >> s) & 1) as u8;
            }
            return;
        }
        let mut acc = [0u64; 4];
        for (j, entries) in self.lut.chunks_exact(256).enumerate() {
            let e = &entries[((outcome >> (8 * j)) & 0xFF) as usize];
            for (a, x) in acc.iter_mut().zip(e) {
                *a |= x;
            }
        }
        let mut words = row.chunks_exact_mut(8);
        let mut acc = acc.iter();
        for (dst, a) in (&mut words).zip(&mut acc) {
            dst.copy_from_slice(&a.to_le_bytes());
        }
        let tail = words.into_remainder();
        if let Some(a) = acc.next() {
            tail.copy_from_slice(&a.to_le_bytes()[..tail.len()]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::float_cmp)] // dyadic probabilities: the shares are exact
    fn alias_table_reproduces_the_probabilities_exactly_over_all_words() {
        // Enumerate the index bits and a fine grid of fractions: each outcome's share of the
        // draws equals its probability up to the grid's resolution.
        let probs = [0.5, 0.0, 0.125, 0.375, 0.0, 0.0, 0.0, 0.0];
        let table = AliasTable::new(&probs).unwrap();
        let steps = 1u64 << 12;
        let mut hits = [0u64; 8];
        for i in 0..8u64 {
            for f in 0..steps {
                let r = (i << 61) | (f << (61 - 12));
                hits[table.draw(r) as usize] += 1;
            }
        }
        for (h, p) in hits.iter().zip(probs) {
            assert_eq!(*h as f64 / (8 * steps) as f64, p);
        }
    }

    /// Each outcome's count in `out` (`m`-bit rows, most significant column first) is within
    /// 6 sigma of its binomial mean, and impossible outcomes never occur.
    fn assert_follows(out: &[u8], m: usize, probs: &[f64]) {
        let total: f64 = probs.iter().sum();
        let shots = out.len() / m;
        let mut counts = vec![0usize; 1 << m];
        for o in outcomes(out, m, m) {
            counts[o] += 1;
        }
        for (i, (&c, &p)) in counts.iter().zip(probs).enumerate() {
            let q = p / total;
            let mean = q * shots as f64;
            let sigma = (mean * (1.0 - q)).sqrt();
            if p == 0.0 {
                assert_eq!(c, 0, "outcome {i} is impossible");
            } else {
                assert!(
                    (c as f64 - mean).abs() < 6.0 * sigma,
                    "outcome {i}: {c} vs {mean}"
                );
            }
        }
    }

    /// Outcome of each row from columns holding bits `m-1 .. 0` in order.
    fn outcomes(out: &[u8], width: usize, m: usize) -> Vec<usize> {
        out.chunks_exact(width)
            .map(|r| r[..m].iter().fold(0, |acc, &b| (acc << 1) | usize::from(b)))
            .collect()
    }

    #[test]
    fn point_mass_and_column_order() {
        let mut probs = vec![0.0; 16];
        probs[0b1011] = 2.5;
        let shots = 1000;
        let mut out = vec![9u8; shots * 5];
        sample_outcome_bits(&probs, 1, &[3, 2, 1, 0, 0], &mut out, &mut vec![0; shots]).unwrap();
        for row in out.chunks_exact(5) {
            assert_eq!(row, [1, 0, 1, 1, 1]);
        }
        // No qubits measured: one outcome and no columns; no shots.
        sample_outcome_bits(&[1.0], 1, &[], &mut [], &mut vec![0; shots]).unwrap();
        sample_outcome_bits(&probs, 1, &[0], &mut [], &mut []).unwrap();
    }

    #[test]
    fn draws_follow_the_distribution_and_the_seed() {
        // 2^7 outcomes (high half 4 bits, low half 3), some impossible, over several chunks.
        let m = 7;
        let probs: Vec<f64> = (0..1usize << m)
            .map(|i| {
                if i % 5 == 0 {
                    0.0
                } else {
                    (i % 11) as f64 + 0.5
                }
            })
            .collect();
        let shots = 2 * CHUNK + 12_345;
        let shifts: Vec<u32> = (0..m as u32).rev().collect();
        let mut out = vec![0u8; shots * m];
        sample_outcome_bits(&probs, 42, &shifts, &mut out, &mut vec![0; shots]).unwrap();
        assert_follows(&out, m, &probs);
        // The same seed gives the same table; another seed another one.
        let mut again = vec![0u8; shots * m];
        sample_outcome_bits(&probs, 42, &shifts, &mut again, &mut vec![0; shots]).unwrap();
        assert_eq!(again, out);
        sample_outcome_bits(&probs, 43, &shifts, &mut again, &mut vec![0; shots]).unwrap();
        assert_ne!(again, out);
        // Rows wider than 32 columns take the plain loop and agree with the table path.
        let wide: Vec<u32> = shifts.iter().copied().cycle().take(5 * m + 1).collect();
        let mut wide_out = vec![0u8; shots * wide.len()];
        sample_outcome_bits(&probs, 42, &wide, &mut wide_out, &mut vec![0; shots]).unwrap();
        for (row, narrow) in wide_out.chunks_exact(wide.len()).zip(out.chunks_exact(m)) {
            for (c, &b) in row.iter().enumerate() {
                assert_eq!(b, narrow[c % m]);
            }
        }
    }

    #[test]
    fn two_level_draws_follow_a_sparse_distribution() {
        // 2^16 outcomes (two tables deep), 40 of them possible, spread over both halves.
        let m = 16usize;
        let mut probs = vec![0.0; 1 << m];
        for j in 0..40usize {
            probs[(j * 7919 + 13) % (1 << m)] = (j % 7 + 1) as f64;
        }
        let total: f64 = probs.iter().sum();
        let shots = CHUNK + 54_321;
        let shifts: Vec<u32> = (0..m as u32).rev().collect();
        let mut out = vec![0u8; shots * m];
        sample_outcome_bits(&probs, 9, &shifts, &mut out, &mut vec![0; shots]).unwrap();
        assert_follows(&out, m, &probs);
        // Consecutive shots are independent: the outcome of shot s says nothing of shot s + 1
        // (the runs of low halves are per high value, not per position).
        let o = outcomes(&out, m, m);
        let same = o.windows(2).filter(|w| w[0] == w[1]).count() as f64;
        let want: f64 = probs.iter().map(|p| (p / total).powi(2)).sum::<f64>() * (shots - 1) as f64;
        assert!(
            (same - want).abs() < 6.0 * want.sqrt(),
            "{same} repeats vs {want}"
        );
    }

    #[test]
    fn arrangements_keep_the_counts_and_spread_every_label_evenly() {
        // Few branches (the scan) and many (the tree), zero counts included.
        for counts in [
            vec![2u64, 3],
            vec![2, 0, 1],
            vec![3, 0, 5, 2],
            vec![1, 2, 0, 3, 1, 2],
            vec![1, 4, 0, 2, 3, 1, 2, 5, 1, 1, 2],
        ] {
            let total: u64 = counts.iter().sum();
            let n = total as usize;
            let seeds = 20_000u64;
            // freq[i][b]: how often position i took branch b over all seeds.
            let mut freq = vec![vec![0u64; counts.len()]; n];
            let mut labels = vec![0u32; n];
            for seed in 0..seeds {
                arrange_branches(&counts, seed, &mut labels).unwrap();
                let mut seen = vec![0u64; counts.len()];
                for (i, &l) in labels.iter().enumerate() {
                    seen[l as usize] += 1;
                    freq[i][l as usize] += 1;
                }
                assert_eq!(seen, counts, "seed {seed}");
            }
            for (i, row) in freq.iter().enumerate() {
                for (b, &f) in row.iter().enumerate() {
                    let q = counts[b] as f64 / total as f64;
                    let mean = q * seeds as f64;
                    let sigma = (mean * (1.0 - q)).sqrt();
                    if counts[b] == 0 {
                        assert_eq!(f, 0);
                    } else {
                        assert!(
                            (f as f64 - mean).abs() < 5.0 * sigma,
                            "position {i}, branch {b}: {f} vs {mean}"
                        );
                    }
                }
            }
            // Pairs are arranged without replacement: positions 0 and 1 both take branch b
            // with probability c (c - 1) / (n (n - 1)).
            let b = counts.iter().position(|&c| c >= 2).unwrap();
            let c = counts[b] as f64;
            let mut both = 0u64;
            for seed in 0..seeds {
                arrange_branches(&counts, seed, &mut labels).unwrap();
                both += u64::from(labels[0] as usize == b && labels[1] as usize == b);
            }
            let q = c * (c - 1.0) / (total as f64 * (total as f64 - 1.0));
            let mean = q * seeds as f64;
            assert!(
                (both as f64 - mean).abs() < 5.0 * (mean * (1.0 - q)).sqrt(),
                "{both} vs {mean}"
            );
        }
        // The same seed, the same arrangement.
        let counts = [40u64, 60];
        let (mut a, mut b) = (vec![0u32; 100], vec![0u32; 100]);
        arrange_branches(&counts, 5, &mut a).unwrap();
        arrange_branches(&counts, 5, &mut b).unwrap();
        assert_eq!(a, b);
        arrange_branches(&counts, 6, &mut b).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn branch_draws_follow_each_branchs_distribution() {
        // Two branches with disjoint outcomes, so each row's branch can be read back; both
        // sizes: one table (m = 6) and two levels (m = 14).
        for m in [6usize, 14] {
            let k = 1usize << m;
            let mut probs = vec![0.0; 2 * k];
            for j in 0..k {
                // Branch 0: even outcomes, weight by j % 3 + 1; branch 1: odd ones, uniform.
                if j % 2 == 0 && j % 64 < 16 {
                    probs[j] = (j % 3 + 1) as f64;
                } else if j % 2 == 1 && j % 64 < 16 {
                    probs[k + j] = 1.0;
                }
            }
            let counts = [CHUNK as u64 + 777, 5000];
            let shots = (counts[0] + counts[1]) as usize;
            let mut labels = vec![0u32; shots];
            arrange_branches(&counts, 3, &mut labels).unwrap();
            let shifts: Vec<u32> = (0..m as u32).rev().collect();
            let mut out = vec![0u8; shots * m];
            sample_branch_outcome_bits(
                &probs,
                2,
                &labels,
                3,
                &shifts,
                &mut out,
                &mut vec![0; shots],
            )
            .unwrap();
            let mut hits = vec![0usize; 2 * k];
            for (o, &l) in outcomes(&out, m, m).iter().zip(&labels) {
                assert_eq!(o % 2, l as usize, "outcome {o} of branch {l}");
                hits[l as usize * k + o] += 1;
            }
            for b in 0..2 {
                let total: f64 = probs[b * k..(b + 1) * k].iter().sum();
                for j in 0..k {
                    let q = probs[b * k + j] / total;
                    let mean = q * counts[b] as f64;
                    let c = hits[b * k + j] as f64;
                    assert!(
                        (c - mean).abs() <= 6.0 * (mean * (1.0 - q)).sqrt(),
                        "m {m}, branch {b}, outcome {j}: {c} vs {mean}"
                    );
                }
            }
        }
        // One branch gives the single-branch sampler's table.
        let probs: Vec<f64> = (0..1 << 14).map(|i| f64::from(i % 7)).collect();
        let shifts: Vec<u32> = (0..14).rev().collect();
        let shots = 3000;
        let (mut a, mut b) = (vec![0u8; shots * 14], vec![0u8; shots * 14]);
        sample_outcome_bits(&probs, 8, &shifts, &mut a, &mut vec![0; shots]).unwrap();
        let labels = vec![0u32; shots];
        sample_branch_outcome_bits(&probs, 1, &labels, 8, &shifts, &mut b, &mut vec![0; shots])
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn bad_branch_inputs_are_errors() {
        let mut labels = vec![0u32; 4];
        assert!(arrange_branches(&[1, 2], 0, &mut labels).is_err());
        assert!(arrange_branches(&[u64::MAX, 5], 0, &mut labels).is_err());
        assert!(arrange_branches(&[], 0, &mut labels).is_err());
        assert!(arrange_branches(&[], 0, &mut []).is_ok());
        let probs = [0.5, 0.5, 0.0, 1.0];
        let mut out = vec![0u8; 4];
        let bad = |probs: &[f64], branches: usize, labels: &[u32], out: &mut [u8]| {
            let mut scratch = vec![0u16; labels.len()];
            sample_branch_outcome_bits(probs, branches, labels, 0, &[0], out, &mut scratch).is_err()
        };
        assert!(!bad(&probs, 2, &[0, 1, 1, 0], &mut out));
        assert!(bad(&probs, 2, &[0, 2, 1, 0], &mut out)); // label out of range
        assert!(bad(&probs, 3, &[0, 1, 1, 0], &mut out)); // 4 weights in 3 rows
        assert!(bad(&probs, 0, &[], &mut []));
        assert!(bad(&[0.5, 0.5, 0.0, 0.0], 2, &[0, 0, 0, 0], &mut out)); // a row sums to 0
        assert!(bad(&probs, 2, &[0, 1, 1], &mut out)); // output length
        let mut scratch = vec![0u16; 3];
        assert!(sample_branch_outcome_bits(
            &probs,
            2,
            &[0, 1],
            0,
            &[0],
            &mut out[..3],
            &mut scratch
        )
        .is_err());
    }

    #[test]
    fn bad_inputs_are_errors() {
        let bad = |probs: &[f64], shifts: &[u32], out_len: usize| {
            sample_outcome_bits(probs, 0, shifts, &mut vec![0; out_len], &mut [0]).is_err()
        };
        assert!(bad(&[0.5, 0.25, 0.25], &[0], 1));
        assert!(bad(&[1.5, -0.5], &[0], 1));
        assert!(bad(&[0.0, 0.0], &[0], 1));
        assert!(bad(&[f64::NAN, 1.0], &[0], 1));
        assert!(bad(&[0.5, 0.5], &[1], 1));
        assert!(bad(&[], &[], 0));
        assert!(bad(&[0.5, 0.5], &[0], 2));
    }
}
