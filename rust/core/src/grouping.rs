//! Qubit-wise commuting groups of Pauli terms, for measuring many terms with one circuit.
//!
//! A term is given by little-endian word masks `x` and `z` over qubits (`X`: x, `Z`: z, `Y`: both,
//! projectors carry their basis the same way). Two terms can be measured together when, on every
//! qubit both act on, they use the same basis. Greedy largest-first colouring: terms sorted by
//! weight (descending, ties by index) go to the first group they fit.

use crate::error::{Error, Result};

/// Group index for every term (groups numbered in order of creation).
///
/// `x` and `z` hold `num_terms * words` little-endian words each (term `t` is
/// `x[t * words..(t + 1) * words]`).
///
/// # Errors
/// [`Error::Value`] when the masks do not hold `num_terms` rows of `words` words.
pub fn group_qubitwise(x: &[u64], z: &[u64], num_terms: usize, words: usize) -> Result<Vec<usize>> {
    let size = num_terms
        .checked_mul(words)
        .ok_or_else(|| Error::Value("too many terms".into()))?;
    if x.len() != size || z.len() != size {
        return Err(Error::Shape {
            location: "term masks".into(),
            message: format!(
                "expected {num_terms} terms of {words} words, got {} and {} words",
                x.len(),
                z.len()
            ),
        });
    }
    let weight = |t: usize| -> u32 {
        (0..words)
            .map(|w| (x[t * words + w] | z[t * words + w]).count_ones())
            .sum()
    };
    let mut order: Vec<usize> = (0..num_terms).collect();
    order.sort_by_key(|&t| (std::cmp::Reverse(weight(t)), t));

    // Per group: its combined x and z masks.
    let mut gx: Vec<u64> = Vec::new();
    let mut gz: Vec<u64> = Vec::new();
    let mut num_groups = 0usize;
    let mut out = vec![0usize; num_terms];
    for t in order {
        let (tx, tz) = (
            &x[t * words..(t + 1) * words],
            &z[t * words..(t + 1) * words],
        );
        let fits = |g: usize| {
            (0..words).all(|w| {
                let (ax, az) = (gx[g * words + w], gz[g * words + w]);
                let shared = (ax | az) & (tx[w] | tz[w]);
                shared & ((ax ^ tx[w]) | (az ^ tz[w])) == 0
            })
        };
        let g = if let Some(g) = (0..num_groups).find(|&g| fits(g)) {
            g
        } else {
            gx.extend_from_slice(tx);
            gz.extend_from_slice(tz);
            num_groups += 1;
            num_groups - 1
        };
        for w in 0..words {
            gx[g * words + w] |= tx[w];
            gz[g * words + w] |= tz[w];
        }
        out[t] = g;
    }
    Ok(out)
}

/// [`group_qubitwise`] on each segment `ptr[i]..ptr[i + 1]` of the terms separately (terms of
/// different parameter sets never share a circuit); group indices restart at 0 per segment.
///
/// # Errors
/// [`Error::Value`] when the masks or the segment offsets are inconsistent.
pub fn group_segments(x: &[u64], z: &[u64], words: usize, ptr: &[usize]) -> Result<Vec<usize>> {
    let num_terms = match x.len().checked_div(words) {
        Some(n) => n,
        None => ptr.last().copied().unwrap_or(0),
    };
    if ptr.first().copied().unwrap_or(0) != 0
        || ptr.windows(2).any(|w| w[0] > w[1])
        || ptr.last().copied().unwrap_or(0) != num_terms
    {
        return Err(Error::Value(format!(
            "segment offsets must rise from 0 to the number of terms ({num_terms})"
        )));
    }
    let mut out = Vec::with_capacity(num_terms);
    for w in ptr.windows(2) {
        let (a, b) = (w[0] * words, w[1] * words);
        out.extend(group_qubitwise(
            &x[a..b.min(x.len())],
            &z[a..b.min(z.len())],
            w[1] - w[0],
            words,
        )?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Masks of a label over `I X Y Z` (rightmost char on qubit 0), one word.
    fn masks(labels: &[&str]) -> (Vec<u64>, Vec<u64>) {
        let mut x = Vec::new();
        let mut z = Vec::new();
        for l in labels {
            let (mut xs, mut zs) = (0u64, 0u64);
            for (q, c) in l.chars().rev().enumerate() {
                match c {
                    'X' => xs |= 1 << q,
                    'Z' => zs |= 1 << q,
                    'Y' => {
                        xs |= 1 << q;
                        zs |= 1 << q;
                    }
                    _ => {}
                }
            }
            x.push(xs);
            z.push(zs);
        }
        (x, z)
    }

    #[test]
    fn groups_are_qubitwise_commuting_and_few() {
        let labels = ["XX", "YY", "ZZ", "XI", "IX", "ZI", "IZ", "XY"];
        let (x, z) = masks(&labels);
        let g = group_qubitwise(&x, &z, labels.len(), 1).unwrap();
        // XX, XI, IX together; ZZ, ZI, IZ together; YY and XY alone.
        assert_eq!(g[0], g[3]);
        assert_eq!(g[0], g[4]);
        assert_eq!(g[2], g[5]);
        assert_eq!(g[2], g[6]);
        let distinct: std::collections::BTreeSet<_> = g.iter().collect();
        assert_eq!(distinct.len(), 4);
        for a in 0..labels.len() {
            for b in 0..labels.len() {
                if g[a] == g[b] {
                    let shared = (x[a] | z[a]) & (x[b] | z[b]);
                    assert_eq!(shared & ((x[a] ^ x[b]) | (z[a] ^ z[b])), 0);
                }
            }
        }
    }

    #[test]
    fn segments_are_grouped_separately() {
        let (x, z) = masks(&["ZZ", "XX", "ZZ", "ZI"]);
        let g = group_segments(&x, &z, 1, &[0, 2, 4]).unwrap();
        assert_eq!(g, vec![0, 1, 0, 0]);
        assert!(group_segments(&x, &z, 1, &[0, 3]).is_err());
        assert_eq!(group_segments(&[], &[], 0, &[0, 2]).unwrap(), vec![0, 0]);
    }

    #[test]
    fn identity_and_empty_inputs() {
        assert_eq!(
            group_qubitwise(&[], &[], 0, 1).unwrap(),
            Vec::<usize>::new()
        );
        assert_eq!(group_qubitwise(&[0, 0], &[0, 0], 2, 1).unwrap(), vec![0, 0]);
        assert!(group_qubitwise(&[0], &[], 1, 1).is_err());
    }
}
