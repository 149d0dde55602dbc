//! The measurements JSON of `GET jobs/{id}/artifacts/measurements` straight into packed rows.
//!
//! The body is `[{key: [[bit, ...], ...], ...}, ...]`: one object per circuit, mapping each
//! measurement key to its shots, each shot listing one 0/1 per qubit of the measurement's locus.
//! Column `j` of a key becomes bit `j` of that key's packed array ([`crate::layout`]).
//!
//! Two passes, so that every output buffer is allocated once at its final size:
//! 1. [`scan`] validates the whole body against exactly this shape (any JSON whitespace, nothing
//!    else) and records, per key, its decoded name, the byte range of its value, its shot count
//!    and its width. Every error carries the byte offset and the circuit, key, shot and qubit.
//! 2. [`fill`] walks each validated value range once more; there the only `0`/`1` bytes are the
//!    bits, in row-major order, so filling needs no parsing.
//!
//! Both passes take runs of shots in the two usual spellings (compact `[0,1],` and
//! `json.dumps`'s `[0, 1], `) a block at a time: the scan checks whole shots against a template
//! (`rows`), at memory speed. When it found every shot of a value but the first and last in one
//! spelling ([`KeySpan::spelling`]), the fill reads their digits at fixed offsets without
//! checking them again (a fixed stride for single bits, registers' clbits included), so each
//! byte is read once by each pass and the fill does no comparisons; otherwise it checks runs
//! again as it goes (single bits have their own stride walk). Any other spelling, and the first
//! byte that breaks a run, go through the general byte-by-byte path, which alone reports errors,
//! so error offsets and places do not depend on the fast paths.
//!
//! Large bodies use every thread of rayon's pool, for one large key too:
//! - The scan stays one walk through the body, but once it is 1 MiB into a value, the rest is
//!   cut into pieces, a batch at a time (256 KiB each at first, doubling up to 2 MiB, so that
//!   the last batch, which may reach past the value's end, costs little), that other threads
//!   check from their first `[` on against the usual spellings. When the walk arrives exactly at a piece's `[` at
//!   the start of a shot, it takes that piece's shots as checked and jumps to where the piece's
//!   run ended; pieces it never lands on (past the value's end, another spelling) are ignored. A
//!   piece only ever vouches for shots the walk would have accepted the same way, so errors are
//!   still found by the walk alone, at the same offsets.
//! - The points where the walk took a piece are shot boundaries with known shot indices
//!   ([`KeySpan::splits`]); the fill cuts the value there and fills the pieces in parallel, each
//!   into its own rows. Distinct keys (or registers) are filled in parallel as well.
//!
//! The fill's fixed-offset reads use BMI2 `PEXT` where the CPU has a fast one (one extract per 4
//! compact or 3 spaced digits, `crate::pack::gather_strided`), and otherwise a portable gather
//! by multiplication; both give identical bytes.
//!
//! Measured (release, one 4M x 20-bit key, 168 MB, one core, Zen 4): the scan runs at 17-19 GB/s,
//! near a plain read of the body (21-23 GB/s); the unchecked fill ran at about 6.5 GB/s with the
//! portable gather, and the whole parse at 4.2 GB/s; with `PEXT` the whole parse runs at 6.3-7.2
//! GB/s (so the fill at roughly 11 GB/s). The fill's extraction, not the second read of the
//! body, is what a one-pass design could save; folding the extraction into the scan would need
//! the shot count before the output exists (or a copy), for at most the scan's share of the time
//! (now about 40%).

use rayon::prelude::*;

use crate::alloc;
use crate::error::{Error, Result};
use crate::layout;
use crate::registers::{self, KeyInfo, RegisterPlan};

mod fill;
mod rows;
mod scan;
#[cfg(test)]
mod tests;

pub use fill::fill;
pub use scan::scan;

/// One packed array: `num_shots` rows of `layout::num_bytes(num_bits)` bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedBits {
    /// Measurement key, or register name in registers mode.
    pub name: String,
    pub num_shots: usize,
    pub num_bits: usize,
    pub data: Vec<u8>,
}

/// A validated key: its name and where its value lies in the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySpan {
    pub name: String,
    /// Byte range of the value (from its `[` to just past its `]`).
    pub start: usize,
    pub end: usize,
    pub num_shots: usize,
    /// Qubits per shot; 0 when the key has no shots (the width is then unknown).
    pub num_bits: usize,
    /// Points where the scan found shots by pieces on several threads, as (offset of the shot's
    /// `[`, shot index), in order: the fill splits the value there (see [`fill_span`]). Empty
    /// for values scanned on one thread.
    pub splits: Vec<(usize, usize)>,
    /// `Some(spaced)` when the scan checked every shot but the first and the last against one
    /// of the usual spellings (compact or `json.dumps`'s): the fill then reads their bits at
    /// fixed offsets without checking them again.
    pub spelling: Option<bool>,
}

/// Bodies smaller than this are filled on the calling thread (spawning costs more than it saves).
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// The output of one parse may take at most this many times the body's size...
///
/// In keys mode every output bit costs at least two body bytes (`0,`), so the output is always
/// far below the body's size. In registers mode a register's width comes from a key's text
/// (`c_1000_0_0`), so a short body could ask for a huge output; a register of 500 clbits with one
/// of them measured costs 63 output bytes per 4-byte shot `[0],` (about 16x), so 64x leaves room
/// for any real job while a 31 KiB body can no longer ask for gigabytes.
pub const OUTPUT_CAP_FACTOR: usize = 64;
/// ...or this many bytes (64 MiB), whichever is larger, so that small bodies are never refused.
pub const OUTPUT_CAP_FLOOR: usize = 64 << 20;

/// The most output bytes a parse of a `body_len`-byte body (or register assembly from
/// `body_len` bytes of packed keys) may produce.
#[must_use]
pub fn output_cap(body_len: usize) -> usize {
    body_len
        .saturating_mul(OUTPUT_CAP_FACTOR)
        .max(OUTPUT_CAP_FLOOR)
}

/// Checks a parse's total output size against [`output_cap`].
fn check_cap(needed: usize, body_len: usize) -> Result<()> {
    let cap = output_cap(body_len);
    if needed > cap {
        return Err(Error::TooLarge {
            needed,
            cap,
            body: body_len,
        });
    }
    Ok(())
}

/// Parses a measurements body into one list of packed arrays per circuit, in key order.
///
/// With `registers`, keys are Qiskit-on-IQM keys and each circuit gives one array per classical
/// register instead, ordered by register index (see [`crate::registers`]).
///
/// # Errors
/// [`Error::Json`] for a malformed body (with its byte offset and place), [`Error::Value`] /
/// [`Error::Shape`] for bad register keys, [`Error::TooLarge`] when the output would exceed
/// [`output_cap`], [`Error::Alloc`] when it cannot be allocated.
pub fn parse(body: &[u8], registers: bool) -> Result<Vec<Vec<NamedBits>>> {
    let circuits = scan(body)?;
    let parallel = body.len() >= PARALLEL_MIN_BYTES;
    fill_all(body, &circuits, registers, parallel)
}

/// [`parse`] with every value longer than `piece_bytes` split into pieces of that many bytes,
/// whatever the body's size: the same result or error as [`parse`], for tests and fuzzing of
/// the split (small pieces are checked on the calling thread, the fills run on the pool).
///
/// # Errors
/// As [`parse`].
pub fn parse_in_pieces(
    body: &[u8],
    registers: bool,
    piece_bytes: usize,
) -> Result<Vec<Vec<NamedBits>>> {
    parse_with(
        body,
        registers,
        scan::ScanOptions {
            fast: true,
            piece_bytes: Some(piece_bytes),
        },
    )
}

fn parse_with(
    body: &[u8],
    registers: bool,
    options: scan::ScanOptions,
) -> Result<Vec<Vec<NamedBits>>> {
    let circuits = scan::scan_with(body, options)?;
    let parallel = options.piece_bytes.is_some() || body.len() >= PARALLEL_MIN_BYTES;
    fill_all(body, &circuits, registers, parallel)
}

fn fill_all(
    body: &[u8],
    circuits: &[Vec<KeySpan>],
    registers: bool,
    parallel: bool,
) -> Result<Vec<Vec<NamedBits>>> {
    if registers {
        fill_registers(body, circuits, parallel)
    } else {
        fill_keys(body, circuits, parallel)
    }
}

/// Sum of output sizes, saturating (anything that large is over the cap anyway).
fn total_bytes(sizes: impl Iterator<Item = usize>) -> usize {
    sizes.fold(0usize, usize::saturating_add)
}

fn fill_keys(
    body: &[u8],
    circuits: &[Vec<KeySpan>],
    parallel: bool,
) -> Result<Vec<Vec<NamedBits>>> {
    let size = |k: &KeySpan| k.num_shots.saturating_mul(layout::num_bytes(k.num_bits));
    check_cap(total_bytes(circuits.iter().flatten().map(size)), body.len())?;
    let build = |k: &KeySpan| -> Result<NamedBits> {
        let row_bytes = layout::num_bytes(k.num_bits);
        let mut data = alloc::zeroed(alloc::checked_size(k.num_shots, row_bytes, &k.name)?)?;
        fill_span(body, k, k.num_bits, &mut data, row_bytes, 0, parallel);
        Ok(NamedBits {
            name: k.name.clone(),
            num_shots: k.num_shots,
            num_bits: k.num_bits,
            data,
        })
    };
    let jobs: Vec<&KeySpan> = circuits.iter().flatten().collect();
    let built: Vec<NamedBits> = if parallel {
        jobs.into_par_iter().map(build).collect::<Result<_>>()?
    } else {
        jobs.into_iter().map(build).collect::<Result<_>>()?
    };
    let mut built = built.into_iter();
    Ok(circuits
        .iter()
        .map(|keys| built.by_ref().take(keys.len()).collect())
        .collect())
}

/// [`fill`] for one key's value: `dst` holds its `k.num_shots` rows. With `parallel`, the value
/// is cut at its [`KeySpan::splits`] and the pieces are filled on rayon's pool, each into its
/// own rows (a split is the `[` of shot `s`, so the piece from there fills rows `s..`).
pub fn fill_span(
    body: &[u8],
    k: &KeySpan,
    num_bits: usize,
    dst: &mut [u8],
    row_bytes: usize,
    bit_offset: usize,
    parallel: bool,
) {
    // Single bits may go anywhere in a row (registers); wider keys fill whole rows.
    let uniform = k.spelling.filter(|_| {
        k.num_bits == num_bits
            && (num_bits == 1 || (bit_offset == 0 && row_bytes == layout::num_bytes(num_bits)))
    });
    // A piece's first row is shot 0 (read digit by digit) only in the first piece, and its last
    // row is the value's last shot only in the last piece.
    let fill_piece = |value: &[u8], rows: &mut [u8], first: bool, last: bool| match uniform {
        Some(spaced) if num_bits == 1 => {
            fill::fill_uniform_single(value, spaced, rows, row_bytes, bit_offset, first, last);
        }
        Some(spaced) => fill::fill_uniform(value, num_bits, spaced, rows, row_bytes, first, last),
        None => fill(value, num_bits, rows, row_bytes, bit_offset),
    };
    if !parallel || k.splits.is_empty() {
        fill_piece(&body[k.start..k.end], dst, true, true);
        return;
    }
    let mut pieces: Vec<(&[u8], &mut [u8])> = Vec::with_capacity(k.splits.len() + 1);
    let mut rest = dst;
    let (mut from, mut first_shot) = (k.start, 0usize);
    for &(at, shot) in &k.splits {
        let rows = shot.saturating_sub(first_shot).saturating_mul(row_bytes);
        let (head, tail) = rest.split_at_mut(rows.min(rest.len()));
        pieces.push((&body[from..at], head));
        rest = tail;
        // The piece starts one byte early, at the separator before the `[`: the fills take
        // their value's first byte as its opening `[`, never as a bit.
        (from, first_shot) = (at - 1, shot);
    }
    pieces.push((&body[from..k.end], rest));
    let count = pieces.len();
    pieces
        .into_par_iter()
        .enumerate()
        .for_each(|(i, (value, rows))| fill_piece(value, rows, i == 0, i + 1 == count));
}

/// The register plans of every circuit, in order, each with its circuit index.
///
/// # Errors
/// Planning errors (bad keys), prefixed with the circuit.
pub fn plan_registers(circuits: &[Vec<KeySpan>]) -> Result<Vec<(usize, RegisterPlan)>> {
    let mut jobs = Vec::new();
    for (c, keys) in circuits.iter().enumerate() {
        let infos: Vec<KeyInfo<'_>> = keys
            .iter()
            .map(|k| KeyInfo {
                name: &k.name,
                num_shots: k.num_shots,
                num_bits: k.num_bits,
            })
            .collect();
        let plans = registers::plan(&infos).map_err(|e| in_circuit(c, e))?;
        jobs.extend(plans.into_iter().map(|p| (c, p)));
    }
    Ok(jobs)
}

fn fill_registers(
    body: &[u8],
    circuits: &[Vec<KeySpan>],
    parallel: bool,
) -> Result<Vec<Vec<NamedBits>>> {
    let jobs = plan_registers(circuits)?;
    let mut counts = vec![0usize; circuits.len()];
    for (c, _) in &jobs {
        counts[*c] += 1;
    }
    let sizes = jobs
        .iter()
        .map(|(_, p)| p.num_shots.saturating_mul(layout::num_bytes(p.num_bits)));
    check_cap(total_bytes(sizes), body.len())?;
    let build = |(c, plan): (usize, RegisterPlan)| -> Result<NamedBits> {
        let row_bytes = layout::num_bytes(plan.num_bits);
        let mut data = alloc::zeroed(plan.num_bytes_total().map_err(|e| in_circuit(c, e))?)?;
        for &(key, clbit) in &plan.members {
            fill_span(
                body,
                &circuits[c][key],
                1,
                &mut data,
                row_bytes,
                clbit,
                parallel,
            );
        }
        Ok(NamedBits {
            name: plan.name,
            num_shots: plan.num_shots,
            num_bits: plan.num_bits,
            data,
        })
    };
    let built: Vec<NamedBits> = if parallel {
        jobs.into_par_iter().map(build).collect::<Result<_>>()?
    } else {
        jobs.into_iter().map(build).collect::<Result<_>>()?
    };
    let mut built = built.into_iter();
    Ok(counts
        .into_iter()
        .map(|n| built.by_ref().take(n).collect())
        .collect())
}

/// One already packed measurement key: its description, the bytes per shot of its array, and
/// its data in C order.
#[derive(Debug, Clone, Copy)]
pub struct PackedKey<'a> {
    pub info: KeyInfo<'a>,
    pub row_bytes: usize,
    pub data: &'a [u8],
}

/// Groups already packed Qiskit-on-IQM single-bit keys into one packed array per classical
/// register, in register order.
///
/// # Errors
/// A key whose array width does not match its bit count ([`Error::Shape`]), planning errors, and
/// [`Error::TooLarge`] when the registers would exceed [`output_cap`] of the keys' packed bytes.
pub fn assemble_registers(keys: &[PackedKey<'_>]) -> Result<Vec<NamedBits>> {
    for k in keys {
        let want = layout::num_bytes(k.info.num_bits);
        if k.row_bytes != want {
            return Err(Error::Shape {
                location: format!("key {:?}", k.info.name),
                message: format!(
                    "array has {} bytes per shot, expected {want} for {} bits",
                    k.row_bytes, k.info.num_bits
                ),
            });
        }
    }
    let infos: Vec<KeyInfo<'_>> = keys.iter().map(|k| k.info).collect();
    let data: Vec<&[u8]> = keys.iter().map(|k| k.data).collect();
    let plans = registers::plan(&infos)?;
    // The same cap as a parse, relative to the packed keys (a body holds at least four bytes
    // per packed byte of a single-bit key, so this is never looser than the parse's cap).
    let sizes = plans
        .iter()
        .map(|p| p.num_shots.saturating_mul(layout::num_bytes(p.num_bits)));
    check_cap(
        total_bytes(sizes),
        total_bytes(keys.iter().map(|k| k.data.len())),
    )?;
    plans
        .into_iter()
        .map(|plan| {
            let bytes = registers::assemble(&plan, &data)?;
            Ok(NamedBits {
                name: plan.name,
                num_shots: plan.num_shots,
                num_bits: plan.num_bits,
                data: bytes,
            })
        })
        .collect()
}

/// Prefixes an error from register planning with the circuit it belongs to.
fn in_circuit(circuit: usize, err: Error) -> Error {
    match err {
        Error::Value(m) => Error::Value(format!("circuit {circuit}: {m}")),
        Error::Shape { location, message } => Error::Shape {
            location: format!("circuit {circuit}, {location}"),
            message,
        },
        other => other,
    }
}
/// Renders a packed array as Qiskit bitstrings, one per shot (for tests and debugging).
#[must_use]
pub fn bitstrings(a: &NamedBits) -> Vec<String> {
    let row_bytes = layout::num_bytes(a.num_bits);
    (0..a.num_shots)
        .map(|s| {
            let row = &a.data[s * row_bytes..(s + 1) * row_bytes];
            let mut out = vec![b'0'; a.num_bits];
            layout::write_bitstring(row, a.num_bits, &mut out);
            out.into_iter().map(char::from).collect()
        })
        .collect()
}
