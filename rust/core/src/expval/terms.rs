//! Diagonal terms: masks over the bits of a row, and the tables they are read from.

use super::{Error, Result};

/// One diagonal term on the bits of a row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Term {
    /// Bits whose value flips the sign (`Z` positions).
    pub z: Vec<u32>,
    /// Projector positions and the value each must have (`0` or `1` positions).
    pub proj: Vec<(u32, bool)>,
}

impl Term {
    /// Builds a term from little-endian word masks (bit `k` of the row is bit `k % 64` of word
    /// `k / 64`): `z` marks `Z` positions, `p` projector positions and `v` their wanted values.
    ///
    /// Fails when a mask touches a bit at or above `num_bits`, when `v` has a bit outside `p`, or
    /// when `z` and `p` overlap (a position is one letter).
    ///
    /// # Errors
    /// [`Error::Value`] when a mask has the wrong length or sets bits beyond `num_bits`.
    pub fn from_masks(z: &[u64], p: &[u64], v: &[u64], num_bits: usize) -> Result<Term> {
        let mut term = Term::default();
        let words = z.len().max(p.len()).max(v.len());
        let word = |m: &[u64], w: usize| m.get(w).copied().unwrap_or(0);
        for w in 0..words {
            let (zw, pw, vw) = (word(z, w), word(p, w), word(v, w));
            if vw & !pw != 0 {
                return Err(Error::Value(format!(
                    "term has a projector value on bit {} that is not a projector position",
                    64 * w + (vw & !pw).trailing_zeros() as usize
                )));
            }
            if zw & pw != 0 {
                return Err(Error::Value(format!(
                    "term has both a Z and a projector on bit {}",
                    64 * w + (zw & pw).trailing_zeros() as usize
                )));
            }
            for (mask, is_z) in [(zw, true), (pw, false)] {
                let mut m = mask;
                while m != 0 {
                    let bit = 64 * w + m.trailing_zeros() as usize;
                    m &= m - 1;
                    if bit >= num_bits {
                        return Err(Error::Value(format!(
                            "term acts on bit {bit} but the rows have only {num_bits} bits"
                        )));
                    }
                    if is_z {
                        term.z.push(bit as u32);
                    } else {
                        term.proj.push((bit as u32, (vw >> (bit % 64)) & 1 == 1));
                    }
                }
            }
        }
        Ok(term)
    }

    /// The term's signs and non-zero lanes for one block of planes: a lane's value is
    /// `0` when its `nonzero` bit is clear, else `-1` when its `sign` bit is set, else `+1`.
    #[inline]
    pub(super) fn words(&self, planes: &[u64], valid: u64) -> (u64, u64) {
        let sign = self.z.iter().fold(0u64, |s, &b| s ^ planes[b as usize]);
        let nonzero = self.proj.iter().fold(valid, |n, &(b, want)| {
            let plane = planes[b as usize];
            n & if want { plane } else { !plane }
        });
        (sign, nonzero)
    }
}

/// `num_terms` terms from row-major mask tables of equal size (each term's masks are
/// `len / num_terms` consecutive words, see [`Term::from_masks`]); errors name the term.
///
/// # Errors
/// [`Error::Value`] naming the first term whose masks are invalid.
pub fn terms_from_masks(
    z: &[u64],
    p: &[u64],
    v: &[u64],
    num_terms: usize,
    num_bits: usize,
) -> Result<Vec<Term>> {
    let words = z.len().checked_div(num_terms).unwrap_or(0);
    if z.len() != p.len() || z.len() != v.len() || words * num_terms != z.len() {
        return Err(Error::Shape {
            location: "term masks".into(),
            message: format!(
                "z, p and v must each hold {num_terms} terms of equal width, got {}, {} and {} words",
                z.len(),
                p.len(),
                v.len()
            ),
        });
    }
    (0..num_terms)
        .map(|t| {
            let r = t * words..(t + 1) * words;
            Term::from_masks(&z[r.clone()], &p[r.clone()], &v[r], num_bits)
                .map_err(|e| e.within(format_args!("term {t}")))
        })
        .collect()
}
