//! Qiskit's classic result format from packed registers: memory strings and counts.
//!
//! A Qiskit memory string lists the classical registers from the highest register index to the
//! lowest, separated by single spaces, each register's bits from its highest clbit to clbit 0
//! (so `'10 1'` is register 1 = `0b10`, register 0 = `0b1`). Counts map each distinct string to
//! how many shots produced it, in the order outcomes first appear.
//!
//! Inputs are the registers in ascending register index, each as packed rows in the layout of
//! [`crate::layout`]. Strings are written straight from the packed bytes through a 256-entry
//! table (eight characters per byte); counts are taken on packed rows (see [`crate::counts`]),
//! and only the distinct outcomes are ever formatted.

use crate::alloc;
use crate::counts::count_rows;
use crate::error::{Error, Result};
use crate::layout::{first_byte_mask, num_bytes, row_to_u64, write_bitstring};
use rayon::prelude::*;

/// One classical register: `rows * num_bytes(num_bits)` packed bytes.
#[derive(Debug, Clone, Copy)]
pub struct RegisterRows<'a> {
    /// Packed rows, one per shot.
    pub data: &'a [u8],
    /// Bits per row (the register's size).
    pub num_bits: usize,
}

/// Above this many output bytes, lines are written in parallel.
const PARALLEL_MIN_BYTES: usize = 1 << 18;

/// Checks that every register holds whole rows and that all have the same number of rows;
/// returns that number. Registers of zero bits carry no rows, so `shots` says how many there
/// are when every register is empty (it must agree with the others otherwise).
///
/// # Errors
/// [`Error::Shape`] naming the register whose size or row count is off.
pub fn check(regs: &[RegisterRows<'_>], shots: usize) -> Result<usize> {
    for (i, r) in regs.iter().enumerate() {
        let nb = num_bytes(r.num_bits);
        let ok = if nb == 0 {
            r.data.is_empty()
        } else {
            r.data.len() == shots * nb
        };
        if !ok {
            return Err(Error::Shape {
                location: format!("register {i}"),
                message: format!(
                    "{} bytes is not {shots} rows of {nb} bytes ({} bits)",
                    r.data.len(),
                    r.num_bits
                ),
            });
        }
    }
    Ok(shots)
}

/// Characters in one memory string: all bits plus one space between registers.
#[must_use]
pub fn line_width(regs: &[RegisterRows<'_>]) -> usize {
    if regs.is_empty() {
        return 0;
    }
    regs.iter().map(|r| r.num_bits).sum::<usize>() + regs.len() - 1
}

/// Writes the memory string of row `shot` into `out` (exactly [`line_width`] bytes).
fn write_line(regs: &[RegisterRows<'_>], shot: usize, out: &mut [u8]) {
    let mut pos = 0;
    for (k, r) in regs.iter().rev().enumerate() {
        if k > 0 {
            out[pos] = b' ';
            pos += 1;
        }
        let nb = num_bytes(r.num_bits);
        if nb == 0 {
            continue;
        }
        let row = &r.data[shot * nb..(shot + 1) * nb];
        write_bitstring(row, r.num_bits, &mut out[pos..pos + r.num_bits]);
        pos += r.num_bits;
    }
}

/// All memory strings, one after another (`shots * line_width` ASCII bytes, no separators).
///
/// # Errors
/// See [`check`]; [`Error::Value`] if the output would not fit in memory.
pub fn format_memory(regs: &[RegisterRows<'_>], shots: usize) -> Result<Vec<u8>> {
    check(regs, shots)?;
    let width = line_width(regs);
    let total = width
        .checked_mul(shots)
        .ok_or_else(|| Error::Value(format!("{shots} memory strings of {width} characters")))?;
    let mut out = alloc::zeroed(total)?;
    if width == 0 {
        return Ok(out);
    }
    if total >= PARALLEL_MIN_BYTES {
        out.par_chunks_mut(width)
            .enumerate()
            .for_each(|(s, line)| write_line(regs, s, line));
    } else {
        for (s, line) in out.chunks_mut(width).enumerate() {
            write_line(regs, s, line);
        }
    }
    Ok(out)
}

/// Distinct memory strings in first-occurrence order, with their counts.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MemoryCounts {
    /// The distinct strings, concatenated (each [`line_width`] bytes).
    pub strings: Vec<u8>,
    /// How many shots gave each string.
    pub counts: Vec<u64>,
    /// Characters per string.
    pub width: usize,
}

/// Joins the registers' rows into one row per shot that identifies the whole outcome: a true
/// bit-level concatenation (register 0 lowest) when the registers fit in 64 bits together,
/// otherwise the registers' padding-masked bytes side by side. Returns rows and bits per row.
fn joint_rows(regs: &[RegisterRows<'_>], shots: usize) -> Result<(Vec<u8>, usize)> {
    let total_bits: usize = regs.iter().map(|r| r.num_bits).sum();
    if total_bits <= 64 {
        let nb = num_bytes(total_bits);
        let mut out = alloc::zeroed(alloc::checked_size(shots, nb, "joint rows")?)?;
        for (s, row) in out.chunks_mut(nb.max(1)).enumerate().take(shots) {
            let mut v = 0u64;
            let mut shift = 0;
            for r in regs {
                let rb = num_bytes(r.num_bits);
                if rb > 0 {
                    v |= row_to_u64(&r.data[s * rb..(s + 1) * rb], r.num_bits) << shift;
                }
                shift += r.num_bits;
            }
            let bytes = v.to_be_bytes();
            row.copy_from_slice(&bytes[8 - nb..]);
        }
        Ok((out, total_bits))
    } else {
        let key_bytes: usize = regs.iter().map(|r| num_bytes(r.num_bits)).sum();
        let mut out = alloc::zeroed(alloc::checked_size(shots, key_bytes, "joint rows")?)?;
        for (s, row) in out.chunks_mut(key_bytes).enumerate() {
            let mut pos = 0;
            for r in regs {
                let rb = num_bytes(r.num_bits);
                if rb == 0 {
                    continue;
                }
                row[pos..pos + rb].copy_from_slice(&r.data[s * rb..(s + 1) * rb]);
                row[pos] &= first_byte_mask(r.num_bits);
                pos += rb;
            }
        }
        Ok((out, key_bytes * 8))
    }
}

/// Counts of the memory strings, in first-occurrence order, computed on packed rows.
///
/// # Errors
/// See [`check`].
pub fn format_counts(regs: &[RegisterRows<'_>], shots: usize) -> Result<MemoryCounts> {
    check(regs, shots)?;
    let width = line_width(regs);
    if regs.is_empty() || shots == 0 {
        return Ok(MemoryCounts {
            width,
            ..MemoryCounts::default()
        });
    }
    let (joint, bits) = joint_rows(regs, shots)?;
    let (first_rows, counts) = if bits == 0 {
        (vec![0], vec![shots as u64])
    } else {
        let h = count_rows(&joint, bits, false)?;
        (h.first_rows, h.counts)
    };
    let mut strings = alloc::zeroed(alloc::checked_size(first_rows.len(), width, "counts keys")?)?;
    if width > 0 {
        for (line, &s) in strings.chunks_mut(width).zip(&first_rows) {
            write_line(regs, s, line);
        }
    }
    Ok(MemoryCounts {
        strings,
        counts,
        width,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::set_bit;
    use std::collections::HashMap;

    /// Packs rows given as bit lists (bit k = element k).
    fn pack(rows: &[Vec<u8>], num_bits: usize) -> Vec<u8> {
        let nb = num_bytes(num_bits);
        let mut out = vec![0u8; rows.len() * nb];
        for (r, bits) in rows.iter().enumerate() {
            for (k, &b) in bits.iter().enumerate() {
                if b != 0 {
                    set_bit(&mut out[r * nb..(r + 1) * nb], k);
                }
            }
        }
        out
    }

    /// The reference: bits joined per register (clbit 0 first), registers joined by spaces,
    /// the whole string reversed (what iqm-client's formatter does).
    fn reference(regs: &[Vec<Vec<u8>>], shots: usize) -> Vec<String> {
        (0..shots)
            .map(|s| {
                let parts: Vec<String> = regs
                    .iter()
                    .map(|r| r[s].iter().map(|b| char::from(b'0' + b)).collect())
                    .collect();
                parts.join(" ").chars().rev().collect()
            })
            .collect()
    }

    fn lcg(seed: &mut u64) -> u64 {
        *seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        *seed >> 33
    }

    #[test]
    fn protocol_examples() {
        // {"bb_2_1_1":[[0],[1],[1]], "a_1_0_0":[[1],[1],[0]]} -> ['00 1','10 1','10 0']
        let a = pack(&[vec![1], vec![1], vec![0]], 1);
        let bb = pack(&[vec![0, 0], vec![0, 1], vec![0, 1]], 2);
        let regs = [
            RegisterRows {
                data: &a,
                num_bits: 1,
            },
            RegisterRows {
                data: &bb,
                num_bits: 2,
            },
        ];
        let mem = format_memory(&regs, 3).unwrap();
        assert_eq!(mem, b"00 110 110 0");
        let c = format_counts(&regs, 3).unwrap();
        assert_eq!(c.strings, b"00 110 110 0"[..12].to_vec());
        assert_eq!(c.counts, vec![1, 1, 1]);
    }

    #[test]
    fn matches_reference_on_random_shapes() {
        let mut seed = 7u64;
        for sizes in [
            vec![1usize],
            vec![8],
            vec![9],
            vec![64],
            vec![65],
            vec![3, 0, 5],
            vec![1; 20],
            vec![20],
            vec![7, 9, 64, 1],
            vec![33, 33],
        ] {
            for shots in [0usize, 1, 5, 300] {
                let bits: Vec<Vec<Vec<u8>>> = sizes
                    .iter()
                    .map(|&n| {
                        (0..shots)
                            .map(|_| {
                                (0..n)
                                    .map(|_| u8::from(lcg(&mut seed).is_multiple_of(3)))
                                    .collect()
                            })
                            .collect()
                    })
                    .collect();
                let packed: Vec<Vec<u8>> =
                    bits.iter().zip(&sizes).map(|(r, &n)| pack(r, n)).collect();
                // Garbage in the padding must not show.
                let mut packed = packed;
                for (p, &n) in packed.iter_mut().zip(&sizes) {
                    let nb = num_bytes(n);
                    if n % 8 != 0 {
                        for row in p.chunks_mut(nb) {
                            row[0] |= !first_byte_mask(n);
                        }
                    }
                }
                let regs: Vec<RegisterRows<'_>> = packed
                    .iter()
                    .zip(&sizes)
                    .map(|(d, &n)| RegisterRows {
                        data: d,
                        num_bits: n,
                    })
                    .collect();
                let want = reference(&bits, shots);
                let width = line_width(&regs);
                let mem = format_memory(&regs, shots).unwrap();
                let got: Vec<String> = if width == 0 {
                    vec![String::new(); shots]
                } else {
                    mem.chunks(width)
                        .map(|c| String::from_utf8(c.to_vec()).unwrap())
                        .collect()
                };
                assert_eq!(got, want, "sizes {sizes:?} shots {shots}");

                let c = format_counts(&regs, shots).unwrap();
                let mut order: Vec<String> = Vec::new();
                let mut tally: HashMap<String, u64> = HashMap::new();
                for s in &want {
                    if !tally.contains_key(s) {
                        order.push(s.clone());
                    }
                    *tally.entry(s.clone()).or_default() += 1;
                }
                let got_keys: Vec<String> = if c.width == 0 {
                    vec![String::new(); c.counts.len()]
                } else {
                    c.strings
                        .chunks(c.width)
                        .map(|x| String::from_utf8(x.to_vec()).unwrap())
                        .collect()
                };
                assert_eq!(got_keys, order, "sizes {sizes:?} shots {shots}");
                let want_counts: Vec<u64> = order.iter().map(|k| tally[k]).collect();
                assert_eq!(c.counts, want_counts);
            }
        }
    }

    #[test]
    fn parallel_path_matches_serial() {
        let shots = 40_000;
        let mut seed = 3u64;
        let rows: Vec<Vec<u8>> = (0..shots)
            .map(|_| (0..13).map(|_| (lcg(&mut seed) & 1) as u8).collect())
            .collect();
        let data = pack(&rows, 13);
        let regs = [RegisterRows {
            data: &data,
            num_bits: 13,
        }];
        let mem = format_memory(&regs, shots).unwrap();
        for (s, line) in mem.chunks(13).enumerate().step_by(997) {
            let want: String = rows[s].iter().rev().map(|b| char::from(b'0' + b)).collect();
            assert_eq!(line, want.as_bytes());
        }
    }

    #[test]
    fn rejects_bad_shapes() {
        let data = [0u8; 5];
        let regs = [RegisterRows {
            data: &data,
            num_bits: 9,
        }];
        let err = format_memory(&regs, 3).unwrap_err();
        assert!(err.to_string().contains("register 0"), "{err}");
        assert!(format_counts(&regs, 2).is_err());
    }

    #[test]
    fn no_registers_or_empty_registers() {
        assert!(format_memory(&[], 4).unwrap().is_empty());
        assert_eq!(format_counts(&[], 4).unwrap().counts, Vec::<u64>::new());
        let regs = [RegisterRows {
            data: &[],
            num_bits: 0,
        }];
        assert_eq!(line_width(&regs), 0);
        let c = format_counts(&regs, 4).unwrap();
        assert_eq!(c.counts, vec![4]);
    }
}
