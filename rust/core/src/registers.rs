//! Qiskit-on-IQM measurement keys and their assembly into one packed array per classical register.
//!
//! Qiskit-on-IQM sends one `measure` per measured clbit, keyed
//! `<creg>_<creg_len>_<creg_idx>_<clbit_idx>`; the register name may itself contain `_`, so the
//! last three `_`-separated fields are the numbers (the greedy `^(.*)_(\d+)_(\d+)_(\d+)$`). Grouping
//! the keys by `creg_idx` gives what a Qiskit sampler reports: one array per register, registers
//! in ascending `creg_idx`, clbit `clbit_idx` of the register taken from that key's single bit,
//! unmeasured clbits zero.

use std::collections::BTreeMap;
use std::collections::HashMap;

use crate::alloc;
use crate::error::{Error, Result};
use crate::layout;

/// The four fields of a Qiskit-on-IQM measurement key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterKey<'a> {
    /// Register name (may contain `_`, may be empty).
    pub creg: &'a str,
    /// Number of clbits in the register.
    pub creg_len: usize,
    /// Position of the register among the circuit's registers.
    pub creg_idx: usize,
    /// Index of the measured clbit inside the register.
    pub clbit_idx: usize,
}

/// Parses `<creg>_<creg_len>_<creg_idx>_<clbit_idx>`; `None` when the key does not have that form
/// (numbers are ASCII digits and must fit in a `usize`).
#[must_use]
pub fn parse_key(key: &str) -> Option<RegisterKey<'_>> {
    let mut fields = key.rsplitn(4, '_');
    let clbit_idx = parse_number(fields.next()?)?;
    let creg_idx = parse_number(fields.next()?)?;
    let creg_len = parse_number(fields.next()?)?;
    let creg = fields.next()?;
    Some(RegisterKey {
        creg,
        creg_len,
        creg_idx,
        clbit_idx,
    })
}

fn parse_number(field: &str) -> Option<usize> {
    if field.is_empty() || !field.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    field.parse().ok()
}

/// Widest register accepted. The width comes from the key's text, not from data in the body,
/// so without a cap a short key like `c_80000000000_0_0` would ask for gigabytes per shot.
pub const MAX_REGISTER_BITS: usize = 1 << 20;

/// What the planner needs to know about one measurement key.
#[derive(Debug, Clone, Copy)]
pub struct KeyInfo<'a> {
    pub name: &'a str,
    pub num_shots: usize,
    /// Qubits per shot (0 when the key has no shots, where it is unknown).
    pub num_bits: usize,
}

/// One register to build: its name, width and shot count, and which key fills which clbit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisterPlan {
    pub name: String,
    pub creg_idx: usize,
    /// Register width (`creg_len`).
    pub num_bits: usize,
    pub num_shots: usize,
    /// `(key index, clbit index)`, sorted by clbit.
    pub members: Vec<(usize, usize)>,
}

impl RegisterPlan {
    /// Bytes of the packed register array.
    ///
    /// # Errors
    /// [`Error::Value`] when the size overflows `usize`.
    pub fn num_bytes_total(&self) -> Result<usize> {
        self.num_shots
            .checked_mul(layout::num_bytes(self.num_bits))
            .ok_or_else(|| {
                Error::Value(format!(
                    "register {:?} of {} bits with {} shots is too large",
                    self.name, self.num_bits, self.num_shots
                ))
            })
    }
}

/// Groups the keys of one circuit into registers, ordered by `creg_idx`.
///
/// Errors (all `ValueError` in Python) name the offending key(s): a key not of the form
/// `<creg>_<creg_len>_<creg_idx>_<clbit_idx>`, a clbit index not below the register length, a key
/// whose shots measure other than one qubit, two keys of one register index that disagree on the
/// register's name or length or on the shot count, two keys for the same clbit, and two register
/// indices sharing one name (they would collide as `DataBin` fields).
///
/// # Errors
/// See above.
pub fn plan(keys: &[KeyInfo<'_>]) -> Result<Vec<RegisterPlan>> {
    // creg_idx -> (plan, index of the first key seen for it)
    let mut regs: BTreeMap<usize, (RegisterPlan, usize)> = BTreeMap::new();
    for (i, key) in keys.iter().enumerate() {
        let rk = parse_key(key.name).ok_or_else(|| {
            Error::Value(format!(
                "key {:?} is not a Qiskit-on-IQM measurement key \
                 '<creg>_<creg_len>_<creg_idx>_<clbit_idx>'",
                key.name
            ))
        })?;
        if rk.creg_len > MAX_REGISTER_BITS {
            return Err(Error::Value(format!(
                "key {:?}: register length {} exceeds the supported {MAX_REGISTER_BITS} bits",
                key.name, rk.creg_len
            )));
        }
        if rk.clbit_idx >= rk.creg_len {
            return Err(Error::Value(format!(
                "key {:?}: clbit index {} is out of range for register {:?} of {} bits",
                key.name, rk.clbit_idx, rk.creg, rk.creg_len
            )));
        }
        if key.num_shots > 0 && key.num_bits != 1 {
            return Err(Error::Shape {
                location: format!("key {:?}", key.name),
                message: format!(
                    "a Qiskit-on-IQM key measures one qubit per shot, but its shots have {} \
                     qubits",
                    key.num_bits
                ),
            });
        }
        match regs.get_mut(&rk.creg_idx) {
            None => {
                let plan = RegisterPlan {
                    name: rk.creg.to_owned(),
                    creg_idx: rk.creg_idx,
                    num_bits: rk.creg_len,
                    num_shots: key.num_shots,
                    members: vec![(i, rk.clbit_idx)],
                };
                regs.insert(rk.creg_idx, (plan, i));
            }
            Some((plan, first)) => {
                let first_name = keys[*first].name;
                if plan.name != rk.creg || plan.num_bits != rk.creg_len {
                    return Err(Error::Value(format!(
                        "keys {first_name:?} and {:?} disagree on the name or length of register \
                         {}",
                        key.name, rk.creg_idx
                    )));
                }
                if plan.num_shots != key.num_shots {
                    return Err(Error::Shape {
                        location: format!("register {:?}", plan.name),
                        message: format!(
                            "keys {first_name:?} and {:?} have different shot counts ({} and {})",
                            key.name, plan.num_shots, key.num_shots
                        ),
                    });
                }
                plan.members.push((i, rk.clbit_idx));
            }
        }
    }
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (plan, _) in regs.values() {
        if let Some(other) = by_name.insert(plan.name.as_str(), plan.creg_idx) {
            return Err(Error::Value(format!(
                "registers {other} and {} are both named {:?}",
                plan.creg_idx, plan.name
            )));
        }
    }
    let mut out = Vec::with_capacity(regs.len());
    for (_, (mut plan, _)) in regs {
        plan.members.sort_by_key(|&(_, clbit)| clbit);
        if let Some(w) = plan.members.windows(2).find(|w| w[0].1 == w[1].1) {
            return Err(Error::Value(format!(
                "keys {:?} and {:?} both measure clbit {} of register {:?}",
                keys[w[0].0].name, keys[w[1].0].name, w[0].1, plan.name
            )));
        }
        out.push(plan);
    }
    Ok(out)
}

/// Builds one register from already packed single-bit keys (`key_data[i]` holds key `i`: one byte
/// per shot, bit 0 at value 1, padding ignored).
///
/// # Errors
/// [`Error::Shape`] when a key's data is not one byte per shot, or the size overflows.
pub fn assemble(plan: &RegisterPlan, key_data: &[&[u8]]) -> Result<Vec<u8>> {
    let row_bytes = layout::num_bytes(plan.num_bits);
    let mut out = alloc::zeroed(plan.num_bytes_total()?)?;
    if row_bytes == 0 {
        return Ok(out);
    }
    for &(key, clbit) in &plan.members {
        let src = key_data.get(key).copied().unwrap_or(&[]);
        if plan.num_shots > 0 && src.len() != plan.num_shots {
            return Err(Error::Shape {
                location: format!("register {:?}, clbit {clbit}", plan.name),
                message: format!(
                    "expected {} packed single-bit shots, got {} bytes",
                    plan.num_shots,
                    src.len()
                ),
            });
        }
        let (byte, mask) = layout::bit_position(row_bytes, clbit);
        let shift = mask.trailing_zeros();
        for (row, &b) in out.chunks_exact_mut(row_bytes).zip(src) {
            row[byte] |= (b & 1) << shift;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(name: &str, num_shots: usize, num_bits: usize) -> KeyInfo<'_> {
        KeyInfo {
            name,
            num_shots,
            num_bits,
        }
    }

    #[test]
    fn parses_greedy_names() {
        let k = parse_key("my_reg_2_3_1").unwrap();
        assert_eq!(
            (k.creg, k.creg_len, k.creg_idx, k.clbit_idx),
            ("my_reg", 2, 3, 1)
        );
        let k = parse_key("_1_0_0").unwrap();
        assert_eq!(k.creg, "");
        let k = parse_key("a_b_c_10_02_7").unwrap();
        assert_eq!(
            (k.creg, k.creg_len, k.creg_idx, k.clbit_idx),
            ("a_b_c", 10, 2, 7)
        );
        for bad in [
            "m",
            "c_1_0",
            "1_0_0",
            "c_1_0_x",
            "c_1__0",
            "c_1_0_-1",
            "c_1_0_ 1",
            "c_99999999999999999999999_0_0",
        ] {
            assert!(parse_key(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn plans_in_creg_order() {
        let keys = [
            info("bb_2_1_1", 3, 1),
            info("a_1_0_0", 3, 1),
            info("bb_2_1_0", 3, 1),
        ];
        let p = plan(&keys).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!((p[0].name.as_str(), p[0].num_bits), ("a", 1));
        assert_eq!(p[1].name, "bb");
        assert_eq!(p[1].members, vec![(2, 0), (0, 1)]);
    }

    #[test]
    fn plan_errors_name_keys() {
        let e = plan(&[info("m", 1, 1)]).unwrap_err().to_string();
        assert!(e.contains("\"m\""), "{e}");
        let e = plan(&[info("c_2_0_2", 1, 1)]).unwrap_err().to_string();
        assert!(e.contains("out of range"), "{e}");
        let e = plan(&[info("c_2_0_1", 1, 2)]).unwrap_err().to_string();
        assert!(e.contains("2 qubits"), "{e}");
        let e = plan(&[info("c_2_0_0", 3, 1), info("c_2_0_1", 4, 1)])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("c_2_0_0") && e.contains("c_2_0_1") && e.contains("3 and 4"),
            "{e}"
        );
        let e = plan(&[info("c_2_0_0", 3, 1), info("d_2_0_1", 3, 1)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("disagree"), "{e}");
        let e = plan(&[info("c_2_0_1", 3, 1), info("c_2_0_01", 3, 1)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("both measure clbit 1"), "{e}");
        let e = plan(&[info("c_1_0_0", 3, 1), info("c_1_1_0", 3, 1)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("both named"), "{e}");
        let e = plan(&[info("c_80000000000_0_0", 1, 1)])
            .unwrap_err()
            .to_string();
        assert!(e.contains("exceeds the supported"), "{e}");
        assert!(plan(&[info("c_1048576_0_1048575", 1, 1)]).is_ok());
        // Zero shots: width unknown, accepted.
        assert!(plan(&[info("c_3_0_2", 0, 0)]).is_ok());
    }

    #[test]
    fn assembles_clbits() {
        let keys = [info("c_3_0_0", 2, 1), info("c_3_0_2", 2, 1)];
        let p = plan(&keys).unwrap();
        let a: &[u8] = &[1, 0];
        let b: &[u8] = &[1, 1];
        let out = assemble(&p[0], &[a, b]).unwrap();
        assert_eq!(out, vec![0b101, 0b100]);
        let keys = [info("r_9_0_8", 1, 1), info("r_9_0_0", 1, 1)];
        let p = plan(&keys).unwrap();
        let one: &[u8] = &[0xff];
        assert_eq!(assemble(&p[0], &[one, one]).unwrap(), vec![1, 1]);
    }
}
