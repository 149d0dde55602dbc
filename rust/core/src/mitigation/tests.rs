use super::*;

/// Dense reference: the column-normalised reduced matrix of `outcomes` (as integers).
fn dense(outcomes: &[u32], n: usize, p01: &[f64], p10: &[f64]) -> Vec<Vec<f64>> {
    let m = outcomes.len();
    let mut a = vec![vec![0.0; m]; m];
    for (i, &o) in outcomes.iter().enumerate() {
        for (j, &t) in outcomes.iter().enumerate() {
            let mut v = 1.0;
            for k in 0..n {
                let (ob, tb) = ((o >> k) & 1, (t >> k) & 1);
                v *= match (ob, tb) {
                    (0, 0) => 1.0 - p01[k],
                    (1, 0) => p01[k],
                    (0, _) => p10[k],
                    _ => 1.0 - p10[k],
                };
            }
            a[i][j] = v;
        }
    }
    for j in 0..m {
        let c: f64 = (0..m).map(|i| a[i][j]).sum();
        for row in &mut a {
            row[j] /= c;
        }
    }
    a
}

fn packed(outcomes: &[u32], n: usize) -> Vec<u8> {
    let nb = crate::layout::num_bytes(n);
    outcomes
        .iter()
        .flat_map(|&o| (0..nb).rev().map(move |b| (o >> (8 * b)) as u8))
        .collect()
}

#[test]
fn matvec_matches_dense_matrix_and_solution_solves_it() {
    // One, two and three chunks of bits.
    for n in [5, 11, 23] {
        check_against_dense(n);
    }
}

fn check_against_dense(n: usize) {
    let outcomes: Vec<u32> = (0..300u32)
        .map(|i| i.wrapping_mul(2_654_435_761u32) % (1 << n))
        .collect();
    let mut outcomes = outcomes;
    outcomes.sort_unstable();
    outcomes.dedup();
    let p01: Vec<f64> = (0..n).map(|k| 0.01 + 0.003 * k as f64).collect();
    let p10: Vec<f64> = (0..n).map(|k| 0.05 - 0.002 * k as f64).collect();
    let rows = packed(&outcomes, n);
    let errors = ReadoutErrors {
        p01: &p01,
        p10: &p10,
    };
    let reduced = Reduced::new(&rows, n, &errors, None).unwrap();
    let a = dense(&outcomes, n, &p01, &p10);
    let m = outcomes.len();
    let x: Vec<f64> = (0..m).map(|i| (i as f64).sin()).collect();
    let mut y = vec![0.0; m];
    reduced.matvec(&x, &mut y);
    for i in 0..m {
        let want: f64 = (0..m).map(|j| a[i][j] * x[j]).sum();
        assert!((y[i] - want).abs() < 1e-12);
    }
    reduced.rmatvec(&x, &mut y);
    for j in 0..m {
        let want: f64 = (0..m).map(|i| a[i][j] * x[i]).sum();
        assert!((y[j] - want).abs() < 1e-12);
    }
    let probs = vec![1.0 / m as f64; m];
    let (q, stats) = mitigate(&reduced, &probs, 1e-12, 200).unwrap();
    assert!(stats.relative_residual <= 1e-12);
    for i in 0..m {
        let back: f64 = (0..m).map(|j| a[i][j] * q[j]).sum();
        assert!((back - probs[i]).abs() < 1e-12);
    }
    let gamma = inverse_one_norm(&reduced, 1e-10, 200).unwrap();
    assert!(gamma >= 1.0);
}

#[test]
fn distance_limits_the_pairs() {
    let n = 4;
    let outcomes = [0u32, 1, 3, 7, 15];
    let rows = packed(&outcomes, n);
    let p = vec![0.1; n];
    let errors = ReadoutErrors { p01: &p, p10: &p };
    let reduced = Reduced::new(&rows, n, &errors, Some(1)).unwrap();
    // Column of 0000 sees only 0000 and 0001 (distance <= 1).
    let mut y = vec![0.0; 5];
    reduced.rmatvec(&[1.0, 0.0, 0.0, 0.0, 0.0], &mut y);
    let c0 = 0.9f64.powi(4) + 0.1 * 0.9f64.powi(3);
    assert!((y[0] - 0.9f64.powi(4) / c0).abs() < 1e-12);
    assert!(y[2..].iter().all(|v| *v == 0.0));
}

#[test]
fn bad_errors_are_rejected() {
    let rows = packed(&[0, 1], 1);
    let errors = ReadoutErrors {
        p01: &[0.6],
        p10: &[0.5],
    };
    assert!(Reduced::new(&rows, 1, &errors, None).is_err());
    let errors = ReadoutErrors {
        p01: &[0.1, 0.1],
        p10: &[0.1],
    };
    assert!(Reduced::new(&rows, 1, &errors, None).is_err());
}
