// Exact float comparisons are intended: these sums of +-1 and of small integers are exact.
#![allow(clippy::float_cmp)]

use super::*;

/// A tiny deterministic generator so the tests need no extra crate.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let x = self.0;
        x ^ (x >> 29)
    }
}

fn random_rows(rng: &mut Lcg, n: usize, num_bits: usize, garbage: bool) -> Vec<u8> {
    let nb = layout::num_bytes(num_bits);
    let mut data: Vec<u8> = (0..n * nb).map(|_| rng.next() as u8).collect();
    if !garbage {
        for row in data.chunks_mut(nb.max(1)) {
            if nb > 0 {
                row[0] &= layout::first_byte_mask(num_bits);
            }
        }
    }
    data
}

/// Per-shot value by the definition, bit by bit.
fn naive_value(row: &[u8], term: &Term) -> f64 {
    let ok = term
        .proj
        .iter()
        .all(|&(b, want)| layout::get_bit(row, b as usize) == want);
    if !ok {
        return 0.0;
    }
    let parity = term
        .z
        .iter()
        .filter(|&&b| layout::get_bit(row, b as usize))
        .count();
    if parity % 2 == 0 {
        1.0
    } else {
        -1.0
    }
}

fn random_term(rng: &mut Lcg, num_bits: usize) -> Term {
    let mut t = Term::default();
    for b in 0..num_bits as u32 {
        match rng.next() % 5 {
            0 | 1 => t.z.push(b),
            2 => t.proj.push((b, rng.next() % 2 == 1)),
            _ => {}
        }
    }
    t
}

#[test]
fn transpose_matches_naive() {
    let mut rng = Lcg(7);
    let mut a = [0u64; 64];
    for x in &mut a {
        *x = rng.next();
    }
    let orig = a;
    transpose64(&mut a);
    for (i, row) in a.iter().enumerate() {
        for (j, col) in orig.iter().enumerate() {
            assert_eq!((row >> j) & 1, (col >> i) & 1, "i={i} j={j}");
        }
    }
}

#[test]
fn term_sums_match_definition() {
    let mut rng = Lcg(11);
    for num_bits in [0usize, 1, 7, 8, 9, 20, 63, 64, 65, 130] {
        for n in [0usize, 1, 63, 64, 65, 200] {
            let data = random_rows(&mut rng, n, num_bits, true);
            let rows = Rows::new(&data, n, num_bits).unwrap();
            let terms: Vec<Term> = (0..6).map(|_| random_term(&mut rng, num_bits)).collect();
            let refs: Vec<&Term> = terms.iter().collect();
            let sums = term_sums(&rows, &refs);
            let nb = layout::num_bytes(num_bits);
            for (t, s) in terms.iter().zip(&sums) {
                let want: f64 = (0..n)
                    .map(|i| naive_value(&data[i * nb..(i + 1) * nb], t))
                    .sum();
                assert_eq!(*s as f64, want, "bits={num_bits} n={n} term={t:?}");
            }
        }
    }
}

#[test]
fn masks_round_trip_and_validate() {
    let t = Term::from_masks(&[0b101, 1], &[0b010], &[0b010], 65).unwrap();
    assert_eq!(t.z, vec![0, 2, 64]);
    assert_eq!(t.proj, vec![(1, true)]);
    assert!(Term::from_masks(&[0, 1], &[], &[], 64).is_err());
    assert!(Term::from_masks(&[1], &[1], &[0], 4).is_err());
    assert!(Term::from_masks(&[], &[2], &[1], 4).is_err());
}

#[test]
fn worked_example() {
    // Shots 00, 01, 11, 11: ZZ = 0.5, IZ = -0.5, ZI = 0, I0 = 0.25, I1 = 0.75, 11 = 0.5.
    let data = [0u8, 1, 3, 3];
    let terms = vec![
        Term {
            z: vec![0, 1],
            proj: vec![],
        },
        Term {
            z: vec![0],
            proj: vec![],
        },
        Term {
            z: vec![1],
            proj: vec![],
        },
        Term {
            z: vec![],
            proj: vec![(0, false)],
        },
        Term {
            z: vec![],
            proj: vec![(0, true)],
        },
        Term {
            z: vec![],
            proj: vec![(0, true), (1, true)],
        },
    ];
    let ptr: Vec<usize> = (0..=6).collect();
    let idx: Vec<usize> = (0..6).collect();
    let coeffs = vec![1.0; 6];
    let sums = Sums {
        ptr: &ptr,
        terms: &idx,
        coeffs: &coeffs,
    };
    let out =
        expectation_values(&data, 1, 4, 2, &terms, sums, &[0; 6], &[0, 1, 2, 3, 4, 5]).unwrap();
    assert_eq!(out, vec![0.5, -0.5, 0.0, 0.25, 0.75, 0.5]);
    let err = expectation_values(&[], 1, 0, 2, &terms, sums, &[0], &[0]).unwrap_err();
    assert!(matches!(err, Error::Value(_)));
}

#[test]
fn many_cells_and_parallel_path_agree_with_definition() {
    let mut rng = Lcg(3);
    let (cells, shots, bits) = (3usize, 40_000usize, 20usize);
    let data = random_rows(&mut rng, cells * shots, bits, true);
    let terms: Vec<Term> = (0..10).map(|_| random_term(&mut rng, bits)).collect();
    // Observable o = term o with coefficient (o + 1) / 2, plus term 0.
    let mut ptr = vec![0];
    let mut idx = Vec::new();
    let mut coeffs = Vec::new();
    for o in 0..10 {
        idx.extend([o, 0]);
        coeffs.extend([f64::midpoint(o as f64, 1.0), -1.0]);
        ptr.push(idx.len());
    }
    let sums = Sums {
        ptr: &ptr,
        terms: &idx,
        coeffs: &coeffs,
    };
    let out_cell: Vec<usize> = (0..30).map(|k| k / 10).collect();
    let out_obs: Vec<usize> = (0..30).map(|k| k % 10).collect();
    let out =
        expectation_values(&data, cells, shots, bits, &terms, sums, &out_cell, &out_obs).unwrap();
    let nb = layout::num_bytes(bits);
    for k in 0..30 {
        let c = out_cell[k];
        let mean = |t: &Term| {
            (0..shots)
                .map(|i| {
                    let r = (c * shots + i) * nb;
                    naive_value(&data[r..r + nb], t)
                })
                .sum::<f64>()
                / shots as f64
        };
        let o = out_obs[k];
        let want = f64::midpoint(o as f64, 1.0) * mean(&terms[o]) - mean(&terms[0]);
        assert!((out[k] - want).abs() < 1e-12, "k={k}: {} vs {want}", out[k]);
    }
    // The same call kept on the calling thread gives the same values, and the setting is
    // scoped: restored afterwards, also by the explicit setter.
    let serial = on_calling_thread(|| {
        assert!(!use_pool(usize::MAX));
        expectation_values(&data, cells, shots, bits, &terms, sums, &out_cell, &out_obs).unwrap()
    });
    assert_eq!(serial, out);
    assert_eq!(use_pool(usize::MAX), rayon::current_num_threads() > 1);
    assert!(!set_on_calling_thread(true));
    assert!(!use_pool(usize::MAX));
    assert!(set_on_calling_thread(false));
}

#[test]
fn moments_merge_is_exact_for_constants_and_matches_two_pass() {
    let xs: Vec<f64> = (0..1000)
        .map(|i| f64::from((i * 37) % 11) * 0.3 - 1.0)
        .collect();
    let one = |x: f64| Moments {
        n: 1,
        mean: x,
        m2: 0.0,
    };
    let m = xs
        .iter()
        .fold(Moments::default(), |acc, &x| acc.merge(one(x)));
    let mean = xs.iter().sum::<f64>() / 1000.0;
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / 1000.0;
    assert!((m.mean - mean).abs() < 1e-12 && (m.variance() - var).abs() < 1e-12);
    let c = (0..77).fold(Moments::default(), |acc, _| acc.merge(one(0.7)));
    assert_eq!(c.variance(), 0.0);
}

/// Reference estimator by the definition: per-shot part values, flips `XORed` into the rows.
fn naive_estimate(
    groups: &[Group<'_>],
    parts: &[Part],
    cells: usize,
    offsets: &[f64],
) -> Estimates {
    let r_count = groups[0].num_rand;
    let mut evs = offsets.to_vec();
    let mut var = vec![0.0; cells];
    let mut rand_evs = vec![offsets.to_vec(); r_count];
    for part in parts {
        let g = &groups[part.group];
        let nb = layout::num_bytes(g.rows.num_bits);
        let shots = g.rows.num_rows / g.num_rand;
        let mut all = Vec::new();
        for r in 0..g.num_rand {
            let mut vals = Vec::new();
            for i in 0..shots {
                let mut row = g.rows.data[(r * shots + i) * nb..(r * shots + i + 1) * nb].to_vec();
                if let Some(f) = g.flips {
                    for (x, y) in row.iter_mut().zip(&f[r * nb..(r + 1) * nb]) {
                        *x ^= y;
                    }
                }
                vals.push(
                    part.entries
                        .iter()
                        .map(|&(t, c)| c * naive_value(&row, &g.terms[t]))
                        .sum::<f64>(),
                );
            }
            rand_evs[r][part.cell] += vals.iter().sum::<f64>() / shots as f64;
            all.extend(vals);
        }
        let n = all.len() as f64;
        let mean = all.iter().sum::<f64>() / n;
        evs[part.cell] += mean;
        var[part.cell] += all.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n / n;
    }
    let ese: Vec<f64> = var.iter().map(|v| v.sqrt()).collect();
    let stds = if r_count > 1 {
        (0..cells)
            .map(|k| {
                let r = r_count as f64;
                let m = rand_evs.iter().map(|e| e[k]).sum::<f64>() / r;
                (rand_evs.iter().map(|e| (e[k] - m).powi(2)).sum::<f64>() / (r - 1.0)).sqrt()
                    / r.sqrt()
            })
            .collect()
    } else {
        ese.clone()
    };
    Estimates {
        evs,
        stds,
        ensemble_standard_error: ese,
    }
}

#[test]
fn estimate_matches_definition_with_and_without_flips() {
    let mut rng = Lcg(99);
    for (num_rand, with_flips) in [(1usize, false), (1, true), (4, true), (3, false)] {
        let specs = [(9usize, 130usize), (3, 70), (66, 65)];
        let datas: Vec<Vec<u8>> = specs
            .iter()
            .map(|&(bits, shots)| random_rows(&mut rng, shots * num_rand, bits, true))
            .collect();
        let flips: Vec<Vec<u8>> = specs
            .iter()
            .map(|&(bits, _)| random_rows(&mut rng, num_rand, bits, false))
            .collect();
        let groups: Vec<Group<'_>> = specs
            .iter()
            .enumerate()
            .map(|(i, &(bits, shots))| Group {
                rows: Rows::new(&datas[i], shots * num_rand, bits).unwrap(),
                num_rand,
                flips: with_flips.then(|| &flips[i][..]),
                terms: (0..5).map(|_| random_term(&mut rng, bits)).collect(),
            })
            .collect();
        let parts = vec![
            Part {
                group: 0,
                cell: 0,
                entries: vec![(0, 0.5), (1, -1.5), (4, 2.0)],
            },
            Part {
                group: 1,
                cell: 0,
                entries: vec![(2, 0.25)],
            },
            Part {
                group: 2,
                cell: 1,
                entries: vec![(3, 1.0), (0, 1.0)],
            },
            Part {
                group: 0,
                cell: 2,
                entries: vec![(1, 3.0)],
            },
            // A term listed twice in one part (its pair is its own square).
            Part {
                group: 1,
                cell: 2,
                entries: vec![(2, 1.0), (4, -0.75), (2, -0.5)],
            },
        ];
        let offsets = [0.5, 0.0, -1.0, 2.0];
        let got = estimate(&groups, &parts, 4, &offsets).unwrap();
        let want = naive_estimate(&groups, &parts, 4, &offsets);
        for (a, b) in [
            (&got.evs, &want.evs),
            (&got.stds, &want.stds),
            (&got.ensemble_standard_error, &want.ensemble_standard_error),
        ] {
            for (x, y) in a.iter().zip(b.iter()) {
                assert!((x - y).abs() < 1e-12, "{a:?} vs {b:?}");
            }
        }
        // Cell 3 has only its identity offset.
        assert_eq!((got.evs[3], got.stds[3]), (2.0, 0.0));
    }
}

#[test]
fn estimate_rejects_bad_inputs() {
    let data = [0u8; 4];
    let g = |n| Group {
        rows: Rows::new(&data, 4, 3).unwrap(),
        num_rand: n,
        flips: None,
        terms: vec![Term {
            z: vec![0],
            proj: vec![],
        }],
    };
    let part = |group, cell, t| Part {
        group,
        cell,
        entries: vec![(t, 1.0)],
    };
    assert!(estimate(&[g(1), g(2)], &[], 1, &[0.0]).is_err());
    assert!(estimate(&[g(3)], &[], 1, &[0.0]).is_err());
    assert!(matches!(
        estimate(&[g(1)], &[part(1, 0, 0)], 1, &[0.0]),
        Err(Error::Index(_))
    ));
    assert!(matches!(
        estimate(&[g(1)], &[part(0, 1, 0)], 1, &[0.0]),
        Err(Error::Index(_))
    ));
    assert!(matches!(
        estimate(&[g(1)], &[part(0, 0, 1)], 1, &[0.0]),
        Err(Error::Index(_))
    ));
    let empty = Group {
        rows: Rows::new(&[], 0, 3).unwrap(),
        num_rand: 1,
        flips: None,
        terms: vec![],
    };
    assert!(estimate(&[empty], &[], 1, &[0.0]).is_err());
    let flips = [0u8; 3];
    let bad = Group {
        flips: Some(&flips),
        ..g(2)
    };
    assert!(estimate(&[bad], &[], 1, &[0.0]).is_err());
}

#[test]
fn estimate_and_expectation_values_agree_on_single_term_parts() {
    // The two kernels read terms differently (narrow rows take a fixed-array path in both);
    // on the same rows each single-term part's mean must be the term's mean.
    let mut rng = Lcg(7);
    for (bits, shots) in [
        (64usize, 5_000usize),
        (20, 40_000),
        (100, 3_000),
        (64, 40_000),
    ] {
        let data = random_rows(&mut rng, shots, bits, true);
        let mut terms: Vec<Term> = (0..12).map(|_| random_term(&mut rng, bits)).collect();
        // Pure-Z terms (one popcount in the narrow paths) next to terms with projectors.
        terms.push(Term {
            z: (0..bits as u32).step_by(3).collect(),
            proj: Vec::new(),
        });
        terms.push(Term {
            z: vec![1],
            proj: vec![(0, true), (bits as u32 - 1, false)],
        });
        let nt = terms.len();
        let ptr: Vec<usize> = (0..=nt).collect();
        let idx: Vec<usize> = (0..nt).collect();
        let ones = vec![1.0; nt];
        let sums = Sums {
            ptr: &ptr,
            terms: &idx,
            coeffs: &ones,
        };
        let zeros = vec![0usize; nt];
        let means = expectation_values(&data, 1, shots, bits, &terms, sums, &zeros, &idx).unwrap();
        let group = Group {
            rows: Rows::new(&data, shots, bits).unwrap(),
            num_rand: 1,
            flips: None,
            terms,
        };
        let parts: Vec<Part> = (0..nt)
            .map(|t| Part {
                group: 0,
                cell: t,
                entries: vec![(t, 1.0)],
            })
            .collect();
        let est = estimate(&[group], &parts, nt, &vec![0.0; nt]).unwrap();
        for (t, &mean) in means.iter().enumerate() {
            if shots <= CHUNK {
                // One chunk: the same integer sum divided once.
                assert_eq!(est.evs[t], mean, "bits {bits}, term {t}");
            } else {
                assert!((est.evs[t] - mean).abs() < 1e-14, "bits {bits}, term {t}");
            }
            // A term's variance is (n * #nonzero - sum^2) / n^2 >= 0.
            assert!(est.ensemble_standard_error[t] >= 0.0);
        }
    }
}
