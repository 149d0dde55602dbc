use super::pext;
use super::*;
use crate::layout::{first_byte_mask, get_bit, num_bytes, set_bit};
use crate::Error;

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
            let dst = &out[r..=r];
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

#[test]
fn the_first_sample_decides_the_mode() {
    assert_eq!(Mode::of_first(None), Mode::Int);
    assert_eq!(Mode::of_first(Some("0x1f")), Mode::Hex);
    assert_eq!(Mode::of_first(Some("0101")), Mode::Binary);
}

#[test]
fn samples_infer_width_and_write_rows() {
    let samples = || {
        [
            Ok::<_, Error>(Sample::Binary(b"0001")),
            Ok(Sample::Small(5)),
            Ok(Sample::Big(vec![0, 1, 0])),
        ]
    };
    // "0001" asks for 4 bits, 5 for 3, 0x0100 for 9.
    let n = infer_num_bits(samples(), None).unwrap();
    assert_eq!(n, 9);
    let mut out = vec![0u8; 3 * num_bytes(n)];
    write_samples(samples(), n, &mut out).unwrap();
    assert_eq!(out, [0, 1, 0, 5, 1, 0]);
    let err = write_samples([Ok::<_, Error>(Sample::Negative)], 3, &mut [0u8]).unwrap_err();
    assert!(err.to_string().contains("num_bits=3"), "{err}");
}

#[test]
fn counts_expand_key_by_key_and_skip_non_positive_counts() {
    let mut plan = CountsPlan::default();
    plan.begin_mapping();
    assert!(plan.add(2).unwrap());
    assert!(!plan.add(0).unwrap());
    assert!(!plan.add(-3).unwrap());
    plan.begin_mapping();
    assert!(plan.add(1).unwrap());
    assert_eq!(plan.per_mapping, [2, 1]);
    assert_eq!(plan.output_bytes(3).unwrap(), 3);
    let mut out = vec![0u8; 3];
    let keys = [Ok::<_, Error>(Sample::Small(6)), Ok(Sample::Small(1))];
    write_counts(keys, &plan.reps, 3, &mut out).unwrap();
    assert_eq!(out, [6, 6, 1]);
    let mut huge = CountsPlan::default();
    huge.begin_mapping();
    huge.add(i64::MAX).unwrap();
    huge.begin_mapping();
    huge.add(i64::MAX).unwrap();
    huge.begin_mapping();
    huge.add(i64::MAX).unwrap();
    assert!(matches!(huge.total(), Err(Error::Alloc(_))));
}

/// Random bytes (padding bits set too), `rows` rows of `num_bytes(n)`.
fn random_rows(rows: usize, n: usize, seed: u64) -> Vec<u8> {
    let b = bits(rows * num_bytes(n) * 8, seed);
    b.chunks_exact(8)
        .map(|c| c.iter().fold(0u8, |v, &x| (v << 1) | u8::from(x)))
        .collect()
}

#[test]
fn word_kernels_match_bit_by_bit_references() {
    // Row counts around the 8-byte windows; index lists that take the run and the table paths.
    for n in [1, 3, 7, 8, 9, 16, 20, 24, 57, 63, 64, 65, 128] {
        let nb = num_bytes(n);
        for rows in [0, 1, 2, 7, 8, 9, 33, 64, 65, 130] {
            let src = random_rows(rows, n, (n * 100 + rows) as u64);
            let mut counts = vec![0u64; rows];
            bitcount_rows(&src, n, &mut counts).unwrap();
            for (r, &c) in counts.iter().enumerate() {
                let row = &src[r * nb..(r + 1) * nb];
                assert_eq!(c, (0..n).filter(|&k| get_bit(row, k)).count() as u64);
            }
            let picks: [Vec<usize>; 4] = [
                vec![n - 1],
                (0..n.min(22)).collect(),
                (0..n).step_by(3).collect(),
                (0..n).rev().chain(0..n.min(5)).collect(),
            ];
            for idx in picks {
                let onb = num_bytes(idx.len());
                let mut out = vec![0xa5u8; rows * onb];
                gather_bits(&src, n, &idx, &mut out).unwrap();
                for r in 0..rows {
                    let (srow, orow) = (&src[r * nb..(r + 1) * nb], &out[r * onb..(r + 1) * onb]);
                    for (j, &k) in idx.iter().enumerate() {
                        assert_eq!(get_bit(orow, j), get_bit(srow, k), "n={n} r={r} j={j}");
                    }
                    assert_eq!(orow[0] & !first_byte_mask(idx.len()), 0, "padding is zero");
                }
            }
            let (idx, sel) = (vec![0, n / 2, n - 1], vec![true, false, true]);
            let Some((mask, want)) = postselect_mask(n, &idx, &sel).unwrap() else {
                continue; // n == 1 or 2: contradictory conditions (tested elsewhere)
            };
            let kept = postselect_rows(&src, &mask, &want).unwrap();
            let expected: Vec<u8> = src
                .chunks_exact(nb)
                .filter(|row| idx.iter().zip(&sel).all(|(&k, &s)| get_bit(row, k) == s))
                .flatten()
                .copied()
                .collect();
            assert_eq!(kept, expected, "n={n} rows={rows}");
        }
    }
}

/// Gather bit by bit (the definition): new bit `j` of a row is old bit `idx[j]`.
fn reference_gather(src: &[u8], n: usize, idx: &[usize]) -> Vec<u8> {
    let (nb, onb) = (num_bytes(n), num_bytes(idx.len()));
    let rows = src.len().checked_div(nb).unwrap_or(0);
    let mut out = vec![0u8; rows * onb];
    for r in 0..rows {
        let srow = &src[r * nb..(r + 1) * nb];
        let orow = &mut out[r * onb..(r + 1) * onb];
        for (j, &k) in idx.iter().enumerate() {
            if get_bit(srow, k) {
                set_bit(orow, j);
            }
        }
    }
    out
}

/// Index lists of every shape the gather plans for: in order (sparse, dense, across words),
/// reversed, shuffled with repeats, sorted with repeats, single bits, 64 and 65 outputs.
fn gather_patterns(n: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut x = seed | 1;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut pats: Vec<Vec<usize>> = vec![
        (0..n).step_by(3).collect(),
        (0..n).collect(),
        (0..n).rev().collect(),
        vec![n - 1],
        vec![0],
        (0..n).filter(|k| k % 7 != 3).collect(),
    ];
    for len in [1usize, 8, 9, 22, 64, 65, 130] {
        let picks: Vec<usize> = (0..len).map(|_| (next() % n as u64) as usize).collect();
        let mut sorted = picks.clone();
        sorted.sort_unstable();
        let mut strict = sorted.clone();
        strict.dedup();
        pats.extend([picks, sorted, strict]);
    }
    pats
}

#[test]
fn pext_and_portable_gathers_give_identical_bytes() {
    for n in [1usize, 5, 8, 9, 20, 63, 64, 65, 100, 128, 129, 200] {
        let nb = num_bytes(n);
        for rows in [0usize, 1, 2, 3, 7, 8, 9, 17, 100] {
            let src = random_rows(rows, n, (n * 1000 + rows) as u64);
            for idx in gather_patterns(n, (n * 31 + rows) as u64) {
                let onb = num_bytes(idx.len());
                let want = reference_gather(&src, n, &idx);
                // Garbage-filled outputs: every byte, padding included, must be written.
                let mut auto = vec![0xa5u8; rows * onb];
                gather_bits(&src, n, &idx, &mut auto).unwrap();
                let mut portable = vec![0x5au8; rows * onb];
                gather_bits_portable(&src, n, &idx, &mut portable).unwrap();
                assert_eq!(portable, want, "portable n={n} rows={rows} idx={idx:?}");
                assert_eq!(auto, want, "dispatch n={n} rows={rows} idx={idx:?}");
                // The PEXT kernel on every pattern, whether or not dispatch would pick it.
                let mut forced = vec![0xc3u8; rows * onb];
                let ops = pext::plan(&idx);
                if pext::gather(&src, nb, &ops, &mut forced, onb) {
                    assert_eq!(forced, want, "pext n={n} rows={rows} idx={idx:?}");
                } else {
                    assert!(!fast_pext());
                }
            }
        }
    }
}

#[test]
fn gather_plans_merge_increasing_runs_per_word() {
    let plan = |idx: &[usize]| pext::plan(idx);
    // 22 of 64 bits in order: one extract.
    let picks: Vec<usize> = (0..64).step_by(3).collect();
    assert_eq!(plan(&picks).len(), 1);
    // Reversed or repeated bits start a new op each time.
    assert_eq!(plan(&[3, 2, 1]).len(), 3);
    assert_eq!(plan(&[5, 5, 6]).len(), 2);
    // Crossing a source word or an output word splits an op.
    assert_eq!(plan(&[10, 70]).len(), 2);
    let all: Vec<usize> = (0..130).collect();
    let ops = plan(&all);
    assert_eq!(ops.len(), 3);
    assert_eq!(
        (ops[2].src, ops[2].dst, ops[2].shift, ops[2].mask),
        (2, 2, 0, 0b11)
    );
    assert_eq!(plan(&[]), vec![]);
}
