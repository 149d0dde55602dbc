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
//! Both passes take runs of shots in the two usual spellings (compact `[0,1],` and `json.dumps`'s
//! `[0, 1], `) a block at a time: the scan checks whole shots against a template, and the fill
//! reads the digits of multi-bit shots at fixed offsets (`rows`; single bits have their own
//! stride walk). Any other spelling, and the first byte that breaks a run, go through the general
//! byte-by-byte path, which alone reports errors, so error offsets and places do not depend on
//! the fast paths.
//!
//! Pass 2 runs over keys (or registers) in parallel when the body is large. Pass 1 is sequential:
//! it runs at memory speed on the usual spellings, a small part of the whole parse.

use std::collections::HashSet;
use std::fmt::Write as _;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::layout;
use crate::registers::{self, KeyInfo};

mod rows;
use rows::Template;

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
}

/// Bodies smaller than this are filled on the calling thread (spawning costs more than it saves).
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// Parses a measurements body into one list of packed arrays per circuit, in key order.
///
/// With `registers`, keys are Qiskit-on-IQM keys and each circuit gives one array per classical
/// register instead, ordered by register index (see [`crate::registers`]).
pub fn parse(body: &[u8], registers: bool) -> Result<Vec<Vec<NamedBits>>> {
    let circuits = scan(body)?;
    let parallel = body.len() >= PARALLEL_MIN_BYTES;
    if registers {
        fill_registers(body, &circuits, parallel)
    } else {
        fill_keys(body, &circuits, parallel)
    }
}

fn fill_keys(
    body: &[u8],
    circuits: &[Vec<KeySpan>],
    parallel: bool,
) -> Result<Vec<Vec<NamedBits>>> {
    let build = |k: &KeySpan| -> Result<NamedBits> {
        let row_bytes = layout::num_bytes(k.num_bits);
        // Cannot overflow: the body holds at least one byte per bit.
        let mut data = registers::zeroed(k.num_shots * row_bytes)?;
        fill(&body[k.start..k.end], k.num_bits, &mut data, row_bytes, 0);
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

fn fill_registers(
    body: &[u8],
    circuits: &[Vec<KeySpan>],
    parallel: bool,
) -> Result<Vec<Vec<NamedBits>>> {
    let mut jobs = Vec::new();
    let mut counts = Vec::with_capacity(circuits.len());
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
        counts.push(plans.len());
        jobs.extend(plans.into_iter().map(|p| (c, p)));
    }
    let build = |(c, plan): (usize, registers::RegisterPlan)| -> Result<NamedBits> {
        let row_bytes = layout::num_bytes(plan.num_bits);
        let mut data = registers::zeroed(plan.num_bytes_total().map_err(|e| in_circuit(c, e))?)?;
        for &(key, clbit) in &plan.members {
            let k = &circuits[c][key];
            fill(&body[k.start..k.end], 1, &mut data, row_bytes, clbit);
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

/// Writes the bits of one validated value range into `dst`: the `i`-th `0`/`1` byte of `value` is
/// bit `bit_offset + i % num_bits` of row `i / num_bits`. Extra bits (impossible after [`scan`])
/// are ignored rather than written out of bounds.
pub fn fill(value: &[u8], num_bits: usize, dst: &mut [u8], row_bytes: usize, bit_offset: usize) {
    if num_bits == 0 || row_bytes == 0 {
        return;
    }
    if num_bits == 1 {
        fill_single_bit(value, dst, row_bytes, bit_offset);
        return;
    }
    if bit_offset == 0
        && row_bytes == layout::num_bytes(num_bits)
        && value.len() >= TEMPLATE_MIN_BYTES
    {
        fill_multi_bit(value, num_bits, dst, row_bytes);
        return;
    }
    fill_any(value, num_bits, dst, row_bytes, bit_offset);
}

/// [`fill`] for any layout: every `0`/`1` byte of `value` in turn.
fn fill_any(value: &[u8], num_bits: usize, dst: &mut [u8], row_bytes: usize, bit_offset: usize) {
    let mut bits = value.iter().filter(|&&b| b & 0xfe == b'0').map(|&b| b & 1);
    for row in dst.chunks_exact_mut(row_bytes) {
        for j in 0..num_bits {
            match bits.next() {
                Some(bit) => {
                    // Branch-free: random bits would defeat the branch predictor.
                    let (byte, mask) = layout::bit_position(row_bytes, bit_offset + j);
                    row[byte] |= mask & bit.wrapping_neg();
                }
                None => return,
            }
        }
    }
}

/// Values shorter than this are filled by [`fill_any`]: building the templates of
/// [`fill_multi_bit`] costs more than they save there (measured: 60 shots of 2 bits).
const TEMPLATE_MIN_BYTES: usize = 1024;

/// Bytes of shots that [`fill_multi_bit`] checks before extracting their bits.
const FILL_RUN_BYTES: usize = 16 << 10;

/// [`fill`] for whole rows of two or more bits: runs of shots in the compact or `json.dumps`
/// spelling are read at fixed offsets ([`Template`]); any other shot digit by digit.
fn fill_multi_bit(value: &[u8], num_bits: usize, dst: &mut [u8], row_bytes: usize) {
    let spellings = [
        Template::new(num_bits, false),
        Template::new(num_bits, true),
    ];
    let shots = dst.len() / row_bytes;
    let is_bit = |b: u8| b & 0xfe == b'0';
    // Every `[` after the value's own opens a shot.
    let next_shot = |from: usize| {
        value
            .get(from..)
            .and_then(|rest| rest.iter().position(|&b| b == b'['))
            .map(|i| from + i)
    };
    let Some(mut pos) = next_shot(1) else {
        return;
    };
    let mut row = 0usize;
    let mut current = 0usize;
    while row < shots {
        let rest = &value[pos..];
        // Check and extract about 16 KiB at a time, so the extraction reads from L1.
        let cap = |t: &Template| (shots - row).min(FILL_RUN_BYTES / t.period() + 1);
        let mut run = spellings[current].count(rest, cap(&spellings[current]));
        if run == 0 {
            current ^= 1;
            run = spellings[current].count(rest, cap(&spellings[current]));
        }
        if run > 0 {
            let t = &spellings[current];
            t.extract(
                rest,
                &mut dst[row * row_bytes..(row + run) * row_bytes],
                row_bytes,
            );
            row += run;
            pos += run * t.period();
            continue;
        }
        // Another spelling (or the list's last shot): its bits are its next `num_bits` digits.
        let out = &mut dst[row * row_bytes..(row + 1) * row_bytes];
        for j in 0..num_bits {
            let Some(at) = value[pos..]
                .iter()
                .position(|&b| is_bit(b))
                .map(|i| pos + i)
            else {
                return;
            };
            let (byte, mask) = layout::bit_position(row_bytes, j);
            out[byte] |= mask & (value[at] & 1).wrapping_neg();
            pos = at + 1;
        }
        row += 1;
        match next_shot(pos) {
            Some(p) => pos = p,
            None => return,
        }
    }
}

/// [`fill`] for one bit per shot (every Qiskit-on-IQM key): a fixed byte and shift for every row.
fn fill_single_bit(value: &[u8], dst: &mut [u8], row_bytes: usize, bit_offset: usize) {
    let (byte, mask) = layout::bit_position(row_bytes, bit_offset);
    let shift = mask.trailing_zeros();
    let is_bit = |b: u8| b & 0xfe == b'0';
    // Consecutive bits are at least 4 bytes apart (`d],[d`), so when the byte 4 after a bit is a
    // bit it is the next one, and when it is not but the byte 5 after is (`d], [d`), that one is:
    // compact and spaced bodies need one or two tests per shot instead of four or five.
    let mut pos = 0usize;
    for row in dst.chunks_exact_mut(row_bytes) {
        let at = match (value.get(pos + 3), value.get(pos + 4)) {
            (Some(&b), _) if is_bit(b) => pos + 3,
            (Some(_), Some(&b)) if is_bit(b) => pos + 4,
            _ => match value
                .get(pos..)
                .and_then(|rest| rest.iter().position(|&b| is_bit(b)))
            {
                Some(i) => pos + i,
                None => return,
            },
        };
        row[byte] |= (value[at] & 1) << shift;
        pos = at + 1;
    }
}

/// Where a problem is, for error messages.
#[derive(Clone, Copy, Default)]
struct Ctx<'a> {
    circuit: Option<usize>,
    key: Option<&'a str>,
    shot: Option<usize>,
    qubit: Option<usize>,
}

impl Ctx<'_> {
    fn render(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        if let Some(c) = self.circuit {
            parts.push(format!("circuit {c}"));
        }
        if let Some(k) = self.key {
            parts.push(format!("key {}", short_repr(k)));
        }
        if let Some(s) = self.shot {
            parts.push(format!("shot {s}"));
        }
        if let Some(q) = self.qubit {
            parts.push(format!("qubit {q}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!(" ({})", parts.join(", "))
        }
    }
}

/// A key for an error message: quoted, escaped, and cut short if very long.
fn short_repr(key: &str) -> String {
    const MAX: usize = 80;
    if key.chars().count() <= MAX {
        format!("{key:?}")
    } else {
        let head: String = key.chars().take(MAX).collect();
        format!("{head:?}...")
    }
}

#[inline]
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\r' | b'\t')
}

/// Bytes that may continue a JSON number token.
#[inline]
fn continues_number(b: u8) -> bool {
    b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'+' | b'-')
}

struct Scanner<'a> {
    b: &'a [u8],
    pos: usize,
    /// The compact and spaced spellings of the last width seen (keys of one body usually
    /// share a few widths, so this saves rebuilding them per key).
    spellings: Option<(usize, [Template; 2])>,
    /// The spelling (index into `spellings`) of the last run skipped: tried first next time.
    last_spelling: usize,
    /// Whether to skip runs of shots in the usual spellings (off only to test those skips
    /// against the general path).
    fast: bool,
}

/// Validates a measurements body and returns, per circuit, its keys in order (see module docs).
pub fn scan(body: &[u8]) -> Result<Vec<Vec<KeySpan>>> {
    scan_with(body, true)
}

fn scan_with(body: &[u8], fast: bool) -> Result<Vec<Vec<KeySpan>>> {
    let mut s = Scanner {
        b: body,
        pos: 0,
        spellings: None,
        last_spelling: 0,
        fast,
    };
    s.body()
}

impl<'a> Scanner<'a> {
    #[inline]
    fn peek(&self) -> Option<u8> {
        self.b.get(self.pos).copied()
    }

    #[inline]
    fn skip_ws(&mut self) {
        while let Some(&c) = self.b.get(self.pos) {
            if !is_ws(c) {
                break;
            }
            self.pos += 1;
        }
    }

    fn error(&self, offset: usize, ctx: Ctx<'_>, message: impl Into<String>) -> Error {
        Error::Json {
            offset,
            context: ctx.render(),
            message: message.into(),
        }
    }

    /// "expected X, got <what is at pos>".
    fn expected(&self, what: &str, ctx: Ctx<'_>) -> Error {
        self.error(
            self.pos,
            ctx,
            format!("expected {what}, got {}", self.describe()),
        )
    }

    /// Names the JSON value or character at the current position.
    fn describe(&self) -> String {
        let rest = &self.b[self.pos.min(self.b.len())..];
        let Some(&c) = rest.first() else {
            return "the end of the body (truncated?)".to_owned();
        };
        match c {
            b't' if rest.starts_with(b"true") => "true (a bool)".to_owned(),
            b'f' if rest.starts_with(b"false") => "false (a bool)".to_owned(),
            b'n' if rest.starts_with(b"null") => "null".to_owned(),
            b'"' => "a string".to_owned(),
            b'[' => "a list".to_owned(),
            b'{' => "an object".to_owned(),
            b'-' | b'0'..=b'9' => {
                let len = rest.iter().take_while(|&&x| continues_number(x)).count();
                let shown = &rest[..len.min(24)];
                let mut text = String::from_utf8_lossy(shown).into_owned();
                if len > shown.len() {
                    text.push_str("...");
                }
                format!("the number {text}")
            }
            b' ' | b'\n' | b'\r' | b'\t' => "whitespace".to_owned(),
            0x21..=0x7e => format!("'{}'", c as char),
            _ => format!("the byte 0x{c:02x}"),
        }
    }

    fn body(&mut self) -> Result<Vec<Vec<KeySpan>>> {
        let ctx = Ctx::default();
        self.skip_ws();
        if self.peek() != Some(b'[') {
            return Err(self.expected("a list of circuits", ctx));
        }
        self.pos += 1;
        self.skip_ws();
        let mut circuits = Vec::new();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                let c = circuits.len();
                circuits.push(self.circuit(c)?);
                self.skip_ws();
                match self.peek() {
                    Some(b',') => {
                        self.pos += 1;
                        self.skip_ws();
                    }
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => {
                        let ctx = Ctx {
                            circuit: Some(c),
                            ..Ctx::default()
                        };
                        return Err(self.expected("',' or ']' after a circuit", ctx));
                    }
                }
            }
        }
        self.skip_ws();
        if self.pos != self.b.len() {
            return Err(self.expected("the end of the body after the list", ctx));
        }
        Ok(circuits)
    }

    fn circuit(&mut self, circuit: usize) -> Result<Vec<KeySpan>> {
        let ctx = Ctx {
            circuit: Some(circuit),
            ..Ctx::default()
        };
        if self.peek() != Some(b'{') {
            return Err(self.expected("an object mapping measurement keys to shots", ctx));
        }
        self.pos += 1;
        self.skip_ws();
        let mut keys: Vec<KeySpan> = Vec::new();
        let mut seen: HashSet<String> = HashSet::new();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(keys);
        }
        loop {
            if self.peek() != Some(b'"') {
                return Err(self.expected("a string key", ctx));
            }
            let key_offset = self.pos;
            let name = self.string(ctx)?;
            let kctx = Ctx {
                key: Some(&name),
                ..ctx
            };
            if seen.contains(&name) {
                return Err(self.error(
                    key_offset,
                    kctx,
                    "duplicate key (its shots would overwrite the earlier ones)",
                ));
            }
            self.skip_ws();
            if self.peek() != Some(b':') {
                return Err(self.expected("':' after the key", kctx));
            }
            self.pos += 1;
            self.skip_ws();
            let start = self.pos;
            let (num_shots, num_bits) = self.value(kctx)?;
            keys.push(KeySpan {
                name: name.clone(),
                start,
                end: self.pos,
                num_shots,
                num_bits,
            });
            seen.insert(name);
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(keys);
                }
                _ => return Err(self.expected("',' or '}' after a key's shots", ctx)),
            }
        }
    }

    /// One key's value: a list of shots. Returns (shots, qubits per shot).
    fn value(&mut self, ctx: Ctx<'_>) -> Result<(usize, usize)> {
        if self.peek() != Some(b'[') {
            return Err(self.expected("a list of shots", ctx));
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok((0, 0));
        }
        let mut shot = 0usize;
        let mut width: Option<usize> = None;
        loop {
            if let Some(w @ 1..) = width.filter(|_| self.fast) {
                shot += self.skip_shot_runs(w);
                self.skip_ws();
            }
            let sctx = Ctx {
                shot: Some(shot),
                ..ctx
            };
            let shot_start = self.pos;
            let n = self.shot(sctx, width)?;
            match width {
                None => width = Some(n),
                Some(w) if w != n => {
                    return Err(self.error(
                        shot_start,
                        sctx,
                        format!("ragged shots: this shot has {n} qubits but shot 0 has {w}"),
                    ))
                }
                Some(_) => {}
            }
            shot += 1;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok((shot, width.unwrap_or(0)));
                }
                _ => return Err(self.expected("',' or ']' after a shot", sctx)),
            }
        }
    }

    /// One shot: a list of 0/1. Returns its qubit count. `width` (from shot 0) stops a long
    /// ragged shot at its first extra qubit.
    #[inline]
    fn shot(&mut self, ctx: Ctx<'_>, width: Option<usize>) -> Result<usize> {
        if self.peek() != Some(b'[') {
            return Err(self.expected("a list of qubit values (one shot)", ctx));
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(0);
        }
        let limit = width.unwrap_or(usize::MAX);
        let mut q = 0usize;
        loop {
            // Fast path: a run of "d," (a bit, then another qubit follows).
            let run_start = q;
            while q < limit {
                match self.b.get(self.pos..self.pos + 2) {
                    Some(&[c, b',']) if c & 0xfe == b'0' => {
                        self.pos += 2;
                        q += 1;
                    }
                    _ => break,
                }
            }
            if q > run_start {
                self.skip_ws();
            }
            let c = self.peek().unwrap_or(0);
            let next = self.b.get(self.pos + 1).copied().unwrap_or(b' ');
            if c & 0xfe != b'0' || continues_number(next) {
                let qctx = Ctx {
                    qubit: Some(q),
                    ..ctx
                };
                return Err(self.expected("0 or 1", qctx));
            }
            if q == limit {
                let qctx = Ctx {
                    qubit: Some(q),
                    ..ctx
                };
                return Err(self.error(
                    self.pos,
                    qctx,
                    format!("ragged shots: this shot has more than {limit} qubits, as shot 0 has"),
                ));
            }
            self.pos += 1;
            q += 1;
            self.skip_ws();
            match self.peek() {
                Some(b',') => {
                    self.pos += 1;
                    self.skip_ws();
                }
                Some(b']') => {
                    self.pos += 1;
                    return Ok(q);
                }
                _ => {
                    let qctx = Ctx {
                        qubit: Some(q - 1),
                        ..ctx
                    };
                    return Err(self.expected("',' or ']' after a qubit value", qctx));
                }
            }
        }
    }

    /// Skips a run of complete shots of `width` bits followed by a comma, each spelled compactly
    /// (`[0,1],`) or as `json.dumps` writes it (`[0, 1], `; see [`rows`]), and returns how many it
    /// skipped. Anything else, including the list's last shot, is left to the general path.
    #[inline]
    fn skip_shot_runs(&mut self, width: usize) -> usize {
        if self.spellings.as_ref().is_none_or(|(w, _)| *w != width) {
            let both = [Template::new(width, false), Template::new(width, true)];
            self.spellings = Some((width, both));
        }
        let Some((_, spellings)) = &self.spellings else {
            return 0;
        };
        let mut n = 0usize;
        // A spaced single-bit shot starts with a whole compact one (`[0], ` and `[0],`), so at
        // width 1 the spaced spelling goes first lest each run stop after one shot. Otherwise
        // the body's last spelling goes first.
        let mut current = if width == 1 { 1 } else { self.last_spelling };
        // Alternate between the spellings until neither matches. A run only ends where its
        // spelling fails, so after a run only the other one is worth trying.
        let mut missed = 0;
        while missed < 2 {
            let t = &spellings[current];
            let run = t.count(&self.b[self.pos..], usize::MAX);
            if run == 0 {
                missed += 1;
            } else {
                missed = 1;
                self.pos += run * t.period();
                n += run;
                self.last_spelling = current;
            }
            current ^= 1;
        }
        n
    }

    /// A JSON string at `pos` (which holds `"`), decoded.
    fn string(&mut self, ctx: Ctx<'_>) -> Result<String> {
        let open = self.pos;
        self.pos += 1;
        let mut out: Vec<u8> = Vec::new();
        let mut run = self.pos; // start of the current run of plain bytes
        loop {
            let Some(c) = self.peek() else {
                return Err(self.error(
                    self.pos,
                    ctx,
                    "unterminated string (the body ends inside a key)",
                ));
            };
            match c {
                b'"' => {
                    out.extend_from_slice(&self.b[run..self.pos]);
                    self.pos += 1;
                    break;
                }
                b'\\' => {
                    out.extend_from_slice(&self.b[run..self.pos]);
                    self.escape(&mut out, ctx)?;
                    run = self.pos;
                }
                0x00..=0x1f => {
                    return Err(self.error(
                        self.pos,
                        ctx,
                        format!("control character 0x{c:02x} inside a string (must be escaped)"),
                    ))
                }
                _ => self.pos += 1,
            }
        }
        String::from_utf8(out).map_err(|e| {
            // Escapes produce valid UTF-8, so a bad sequence is raw in the body; find it.
            let raw = &self.b[open + 1..self.pos - 1];
            let bad = match std::str::from_utf8(raw) {
                Err(raw_err) => open + 1 + raw_err.valid_up_to(),
                Ok(_) => open + 1 + e.utf8_error().valid_up_to(),
            };
            self.error(bad, ctx, "invalid UTF-8 in a key")
        })
    }

    /// One escape sequence at `pos` (which holds `\`), appended to `out` as UTF-8.
    fn escape(&mut self, out: &mut Vec<u8>, ctx: Ctx<'_>) -> Result<()> {
        let at = self.pos;
        let Some(&c) = self.b.get(at + 1) else {
            return Err(self.error(at, ctx, "unterminated escape sequence"));
        };
        let simple = match c {
            b'"' => Some(b'"'),
            b'\\' => Some(b'\\'),
            b'/' => Some(b'/'),
            b'b' => Some(0x08),
            b'f' => Some(0x0c),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            _ => None,
        };
        if let Some(byte) = simple {
            out.push(byte);
            self.pos += 2;
            return Ok(());
        }
        if c != b'u' {
            return Err(self.error(
                at,
                ctx,
                format!("invalid escape sequence '\\{}'", c.escape_ascii()),
            ));
        }
        let hi = self.hex4(at, ctx)?;
        self.pos = at + 6;
        let code = match hi {
            0xd800..=0xdbff => {
                // A high surrogate must be followed by an escaped low surrogate.
                let low_at = self.pos;
                let lo = if self.b.get(low_at) == Some(&b'\\')
                    && self.b.get(low_at + 1) == Some(&b'u')
                {
                    self.hex4(low_at, ctx)?
                } else {
                    0
                };
                if !(0xdc00..=0xdfff).contains(&lo) {
                    return Err(self.error(at, ctx, "unpaired UTF-16 surrogate in a \\u escape"));
                }
                self.pos = low_at + 6;
                0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
            }
            0xdc00..=0xdfff => {
                return Err(self.error(at, ctx, "unpaired UTF-16 surrogate in a \\u escape"))
            }
            _ => hi,
        };
        // Surrogates are excluded above, so this is always a valid scalar value.
        let ch = char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER);
        let mut buf = [0u8; 4];
        out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        Ok(())
    }

    /// The four hex digits of the `\uXXXX` escape starting at `at`.
    fn hex4(&self, at: usize, ctx: Ctx<'_>) -> Result<u32> {
        let digits = self.b.get(at + 2..at + 6);
        let parsed = digits.and_then(|d| {
            d.iter().try_fold(0u32, |acc, &h| {
                (h as char).to_digit(16).map(|v| acc * 16 + v)
            })
        });
        parsed.ok_or_else(|| self.error(at, ctx, "invalid \\u escape (needs four hex digits)"))
    }
}

/// Renders a packed array as Qiskit bitstrings, one per shot (for tests and debugging).
pub fn bitstrings(a: &NamedBits) -> Vec<String> {
    let row_bytes = layout::num_bytes(a.num_bits);
    (0..a.num_shots)
        .map(|s| {
            let row = &a.data[s * row_bytes..(s + 1) * row_bytes];
            let mut out = String::with_capacity(a.num_bits);
            for k in (0..a.num_bits).rev() {
                let _ = out.write_char(if layout::get_bit(row, k) { '1' } else { '0' });
            }
            out
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_ok(body: &str) -> Vec<Vec<NamedBits>> {
        parse(body.as_bytes(), false).unwrap()
    }

    fn err(body: &str) -> String {
        parse(body.as_bytes(), false).unwrap_err().to_string()
    }

    #[test]
    fn empty_shapes() {
        assert!(parse_ok("[]").is_empty());
        assert!(parse_ok(" \n[ \t]\r\n").is_empty());
        let c = parse_ok("[{}, {}]");
        assert_eq!(c.len(), 2);
        assert!(c[0].is_empty() && c[1].is_empty());
        let c = parse_ok(r#"[{"m": []}]"#);
        assert_eq!((c[0][0].num_shots, c[0][0].num_bits), (0, 0));
        let c = parse_ok(r#"[{"m": [[], []]}]"#);
        assert_eq!((c[0][0].num_shots, c[0][0].num_bits), (2, 0));
        assert!(c[0][0].data.is_empty());
    }

    #[test]
    fn bits_land_in_locus_order() {
        let c =
            parse_ok(r#"[{"m": [[0,0],[1,1],[1,0]], "x": [[1]]}, {"y": [[0,0,0,0,0,0,0,0,1]]}]"#);
        assert_eq!(c[0][0].name, "m");
        assert_eq!(bitstrings(&c[0][0]), ["00", "11", "01"]);
        assert_eq!(c[0][0].data, vec![0, 3, 1]);
        assert_eq!(bitstrings(&c[0][1]), ["1"]);
        assert_eq!(c[1][0].data, vec![1, 0]);
        assert_eq!(c[1][0].num_bits, 9);
    }

    #[test]
    fn whitespace_anywhere() {
        let c = parse_ok(" [ { \"m\" :\n [ [ 1 , 0 ] ,\t[0,1 ] ] } ] ");
        assert_eq!(bitstrings(&c[0][0]), ["01", "10"]);
    }

    #[test]
    fn escaped_keys() {
        let c = parse_ok(r#"[{"caf\u00e9 \"q\"\\\/\n": [[1]], "\ud83d\ude00": [[0]]}]"#);
        assert_eq!(c[0][0].name, "café \"q\"\\/\n");
        assert_eq!(c[0][1].name, "\u{1f600}");
        let c = parse_ok("[{\"caf\u{e9}\": [[1]]}]");
        assert_eq!(c[0][0].name, "café");
    }

    #[test]
    fn bad_bits() {
        for (body, needle) in [
            (r#"[{"m": [[2]]}]"#, "the number 2"),
            (r#"[{"m": [[-1]]}]"#, "the number -1"),
            (r#"[{"m": [[0.0]]}]"#, "the number 0.0"),
            (r#"[{"m": [[1e0]]}]"#, "the number 1e0"),
            (r#"[{"m": [[01]]}]"#, "the number 01"),
            (r#"[{"m": [[true]]}]"#, "true (a bool)"),
            (r#"[{"m": [[false]]}]"#, "false (a bool)"),
            (r#"[{"m": [[null]]}]"#, "null"),
            (r#"[{"m": [["1"]]}]"#, "a string"),
        ] {
            let e = err(body);
            assert!(e.contains(needle), "{body}: {e}");
            assert!(e.contains("circuit 0, key \"m\", shot 0, qubit 0"), "{e}");
            assert!(e.contains("at byte 9"), "{e}");
        }
        let e = err(r#"[{"m": [[0],[1]]}, {"k": [[0,1],[1,7]]}]"#);
        assert!(e.contains("circuit 1, key \"k\", shot 1, qubit 1"), "{e}");
        assert!(e.contains("at byte 35"), "{e}");
    }

    #[test]
    fn ragged_shots() {
        let e = err(r#"[{"m": [[0,1],[1]]}]"#);
        assert!(
            e.contains("shot 1") && e.contains("1 qubits but shot 0 has 2"),
            "{e}"
        );
        let e = err(r#"[{"m": [[0,1],[1,1,1]]}]"#);
        assert!(
            e.contains("shot 1, qubit 2") && e.contains("more than 2"),
            "{e}"
        );
        let e = err(r#"[{"m": [[0],[]]}]"#);
        assert!(e.contains("0 qubits but shot 0 has 1"), "{e}");
    }

    #[test]
    fn malformed() {
        for (body, needle) in [
            ("", "the end of the body"),
            ("{}", "expected a list of circuits"),
            ("null", "expected a list of circuits"),
            ("[", "the end of the body"),
            ("[{", "the end of the body"),
            (r#"[{"m""#, "':'"),
            (r#"[{"m": [[0],"#, "the end of the body"),
            (r#"[{"m": [[0]"#, "',' or ']' after a shot"),
            (r#"[{"m": [[0]]}"#, "',' or ']' after a circuit"),
            (r#"[{"m": [[0]]},]"#, "expected an object"),
            (r#"[{"m": [[0],]}]"#, "a list of qubit values"),
            (r#"[{"m": [[0,]]}]"#, "0 or 1"),
            (r#"[{"m": [[0]],}]"#, "a string key"),
            (r#"[{1: [[0]]}]"#, "a string key, got the number 1"),
            (r#"[{"m": [0, 1]}]"#, "a list of qubit values"),
            (r#"[{"m": 1}]"#, "a list of shots"),
            (r#"[{"m": [[0]]}] x"#, "the end of the body after the list"),
            (r#"[{"m": [[0]]}][]"#, "the end of the body after the list"),
            (r#"[{"m": [[0]] "k": [[1]]}]"#, "',' or '}'"),
            (r#"[{"m\q": [[0]]}]"#, "invalid escape"),
            (r#"[{"\ud800": [[0]]}]"#, "unpaired"),
            (r#"[{"\udc00x": [[0]]}]"#, "unpaired"),
            (r#"[{"\u12": [[0]]}]"#, "four hex digits"),
            ("[{\"a\tb\": [[0]]}]", "control character"),
            (r#"[{"m": [[0]], "m": [[1]]}]"#, "duplicate key"),
            ("[{\"m\": [[0\u{a0}]]}]", "0xc2"),
        ] {
            let e = err(body);
            assert!(e.contains(needle), "{body:?}: {e}");
            assert!(e.contains("at byte"), "{e}");
        }
        assert!(err("").contains("at byte 0"));
        assert!(err(r#"[{"m": [[0]], "m": [[1]]}]"#).contains("at byte 14"));
    }

    #[test]
    fn single_bit_fast_path_edges() {
        // Every spelling around the word-at-a-time paths gives the same bits.
        let want = ["0", "1", "1", "0", "1"];
        for body in [
            r#"[{"m":[[0],[1],[1],[0],[1]]}]"#,
            r#"[{"m": [[0], [1], [1], [0], [1]]}]"#,
            "[{\"m\":[[0],\n[1],  [1],\r\n\t[0] ,[1]]}]",
            r#"[{"m":[[0],[1],[ 1 ],[0], [1] ]}]"#,
            r#"[{"m":[[0],[1],[1],[0],[1]],"x":[[1],[1]]}]"#,
        ] {
            let c = parse_ok(body);
            assert_eq!(bitstrings(&c[0][0]), want, "{body}");
        }
        for n in 0..20 {
            let shots: Vec<String> = (0..n).map(|s| format!("[{}]", (s * 7 / 3) % 2)).collect();
            for sep in [",", ", ", " , ", ",\n"] {
                let body = format!("[{{\"m\":[{}]}}]", shots.join(sep));
                let c = parse_ok(&body);
                let got = bitstrings(&c[0][0]);
                let exp: Vec<String> = (0..n).map(|s| ((s * 7 / 3) % 2).to_string()).collect();
                assert_eq!(got, exp, "{body}");
            }
        }
        // Errors inside or right after a fast run keep their exact shot and offset.
        let e = err(r#"[{"m":[[0],[1],[1],[0],[2],[1]]}]"#);
        assert!(
            e.contains("shot 4, qubit 0") && e.contains("at byte 24"),
            "{e}"
        );
        let e = err(r#"[{"m":[[0],[1],[1],[0],[1],]}]"#);
        assert!(e.contains("shot 5") && e.contains("at byte 27"), "{e}");
        let e = err(r#"[{"m":[[0],[1],[1],[0],[1],[1,0]]}]"#);
        assert!(
            e.contains("shot 5, qubit 1") && e.contains("more than 1"),
            "{e}"
        );
        let e = err(r#"[{"m":[[0],[1],[1],[0],[1],[]]}]"#);
        assert!(e.contains("shot 5") && e.contains("0 qubits"), "{e}");
        let e = err(r#"[{"m":[[0],[1],[1],[0],[1],[true]]}]"#);
        assert!(e.contains("shot 5, qubit 0") && e.contains("bool"), "{e}");
        let e = err(r#"[{"m":[[0],[1],[1],[0],[1],[10]]}]"#);
        assert!(
            e.contains("shot 5, qubit 0") && e.contains("the number 10"),
            "{e}"
        );
    }

    #[test]
    fn multi_bit_fast_path_edges() {
        for body in [
            r#"[{"m":[[0,1,1],[1,0,0],[1 ,1,0]]}]"#,
            r#"[{"m": [[0, 1, 1], [1, 0, 0], [1, 1, 0]]}]"#,
            "[{\"m\":[[0,\n1,\t1],[1,0\n,0],[ 1,  1,0 ]]}]",
        ] {
            let c = parse_ok(body);
            assert_eq!(bitstrings(&c[0][0]), ["110", "001", "011"], "{body}");
        }
        let e = err(r#"[{"m": [[0, 1, 1], [1, 0, 0, 1]]}]"#);
        assert!(
            e.contains("shot 1, qubit 3") && e.contains("more than 3"),
            "{e}"
        );
        let e = err(r#"[{"m":[[0,1,1],[1,0,0,1]]}]"#);
        assert!(
            e.contains("shot 1, qubit 3") && e.contains("more than 3"),
            "{e}"
        );
        let e = err(r#"[{"m":[[0,1,1],[1,0,2]]}]"#);
        assert!(
            e.contains("shot 1, qubit 2") && e.contains("at byte 20"),
            "{e}"
        );
        let e = err(r#"[{"m":[[0,1,1],[1,0,]]}]"#);
        assert!(e.contains("shot 1, qubit 2"), "{e}");
    }

    #[test]
    fn invalid_utf8_key() {
        let body = b"[{\"a\xff\": [[0]]}]";
        let e = parse(body, false).unwrap_err().to_string();
        assert!(e.contains("UTF-8") && e.contains("at byte 4"), "{e}");
    }

    #[test]
    fn registers_mode() {
        let body = r#"[{"bb_2_1_1":[[0],[1],[1]], "a_1_0_0":[[1],[1],[0]]}, {}, {"c_3_0_0":[[1],[0]], "c_3_0_2":[[1],[1]]}]"#;
        let c = parse(body.as_bytes(), true).unwrap();
        assert_eq!(c.len(), 3);
        assert_eq!(c[0][0].name, "a");
        assert_eq!(bitstrings(&c[0][0]), ["1", "1", "0"]);
        assert_eq!(c[0][1].name, "bb");
        assert_eq!(bitstrings(&c[0][1]), ["00", "10", "10"]);
        assert!(c[1].is_empty());
        assert_eq!(bitstrings(&c[2][0]), ["101", "100"]);
        let e = parse(br#"[{}, {"m": [[1]]}]"#, true)
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("circuit 1: key \"m\""), "{e}");
        let e = parse(br#"[{"c_2_0_0": [[1]], "c_2_0_1": []}]"#, true)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("circuit 0, register \"c\"") && e.contains("1 and 0"),
            "{e}"
        );
        let c = parse(br#"[{"c_2_0_0": [], "c_2_0_1": []}]"#, true).unwrap();
        assert_eq!((c[0][0].num_shots, c[0][0].num_bits), (0, 2));
    }

    #[test]
    fn large_body_matches_small_path() {
        // Above the parallel threshold; compare with a direct per-shot computation.
        let shots = 60_000;
        let nkeys = 6;
        let mut body = String::from("[");
        let mut expected = Vec::new();
        for c in 0..2 {
            if c > 0 {
                body.push(',');
            }
            body.push('{');
            let mut circ = Vec::new();
            for k in 0..nkeys {
                if k > 0 {
                    body.push(',');
                }
                let width = 1 + (k * 5) % 11;
                body.push_str(&format!("\"k{k}\":["));
                let mut strings = Vec::new();
                for s in 0..shots {
                    if s > 0 {
                        body.push(',');
                    }
                    body.push('[');
                    let mut bits = String::new();
                    for j in 0..width {
                        let bit = (s * 7 + j * 3 + k + c) % 5 < 2;
                        if j > 0 {
                            body.push(',');
                        }
                        body.push(if bit { '1' } else { '0' });
                        bits.insert(0, if bit { '1' } else { '0' });
                    }
                    body.push(']');
                    strings.push(bits);
                }
                body.push(']');
                circ.push(strings);
            }
            body.push('}');
            expected.push(circ);
        }
        body.push(']');
        assert!(body.len() > PARALLEL_MIN_BYTES);
        let c = parse(body.as_bytes(), false).unwrap();
        for (ci, circ) in c.iter().enumerate() {
            for (ki, key) in circ.iter().enumerate() {
                assert_eq!(bitstrings(key), expected[ci][ki]);
            }
        }
    }

    /// The general path alone: no skipped runs, and every bit found byte by byte.
    fn parse_general(body: &[u8]) -> Result<Vec<Vec<NamedBits>>> {
        let circuits = scan_with(body, false)?;
        Ok(circuits
            .iter()
            .map(|keys| {
                keys.iter()
                    .map(|k| {
                        let row_bytes = layout::num_bytes(k.num_bits);
                        let mut data = vec![0u8; k.num_shots * row_bytes];
                        fill_any(&body[k.start..k.end], k.num_bits, &mut data, row_bytes, 0);
                        NamedBits {
                            name: k.name.clone(),
                            num_shots: k.num_shots,
                            num_bits: k.num_bits,
                            data,
                        }
                    })
                    .collect()
            })
            .collect())
    }

    /// The same result (or the same error, offset and place included) with and without the
    /// fast paths.
    fn same_as_general(body: &[u8]) -> Result<Vec<Vec<NamedBits>>> {
        let fast = parse(body, false);
        let general = parse_general(body);
        assert_eq!(fast, general, "{}", String::from_utf8_lossy(body));
        // The template fill on every multi-bit key, short values included.
        if let (Ok(spans), Ok(general)) = (scan(body), &general) {
            for (k, g) in spans.iter().flatten().zip(general.iter().flatten()) {
                if k.num_bits >= 2 {
                    let mut data = vec![0u8; g.data.len()];
                    let row_bytes = layout::num_bytes(k.num_bits);
                    fill_multi_bit(&body[k.start..k.end], k.num_bits, &mut data, row_bytes);
                    assert_eq!(data, g.data, "{}", String::from_utf8_lossy(body));
                }
            }
        }
        fast
    }

    fn pseudo_bits(shots: usize, width: usize, seed: usize) -> Vec<Vec<u8>> {
        (0..shots)
            .map(|s| {
                (0..width)
                    .map(|j| (((s * 131 + j * 37 + seed) * 2_654_435_761) >> 9) as u8 & 1)
                    .collect()
            })
            .collect()
    }

    #[derive(Clone, Copy, Debug)]
    enum Spelling {
        Compact,
        Spaced,
        /// Per shot: compact, spaced or odd whitespace, and either separator.
        Mixed,
    }

    /// A key's value (`[[...], ...]`) in one spelling.
    fn spell(bits: &[Vec<u8>], spelling: Spelling) -> String {
        let mut out = String::from("[");
        for (s, shot) in bits.iter().enumerate() {
            let digits: Vec<String> = shot.iter().map(|b| b.to_string()).collect();
            let pick = (s * 7 + s / 3) % 5;
            let (inner, sep) = match spelling {
                Spelling::Compact => (",", ","),
                Spelling::Spaced => (", ", ", "),
                Spelling::Mixed => [
                    (",", ","),
                    (", ", ", "),
                    (",", ", "),
                    (", ", ","),
                    (" ,\n ", " ,\t"),
                ][pick],
            };
            if s > 0 {
                out.push_str(sep);
            }
            out.push('[');
            out.push_str(&digits.join(inner));
            out.push(']');
        }
        out.push(']');
        out
    }

    fn expected_strings(bits: &[Vec<u8>]) -> Vec<String> {
        bits.iter()
            .map(|shot| shot.iter().rev().map(|b| b.to_string()).collect())
            .collect()
    }

    const FAST_WIDTHS: [usize; 9] = [1, 2, 7, 8, 9, 20, 63, 64, 65];
    const SPELLINGS: [Spelling; 3] = [Spelling::Compact, Spelling::Spaced, Spelling::Mixed];

    #[test]
    fn fast_paths_match_the_general_path_and_the_bits() {
        for width in FAST_WIDTHS {
            for spelling in SPELLINGS {
                for shots in [1, 2, 3, 11, 37] {
                    let bits = pseudo_bits(shots, width, width + shots);
                    let other = pseudo_bits(5, width, 3);
                    let body = format!(
                        r#"[{{"a": [[1]], "m": {}, "z": [[0, 1]]}}, {{"m":{}}}]"#,
                        spell(&bits, spelling),
                        spell(&other, Spelling::Spaced),
                    );
                    let c = same_as_general(body.as_bytes()).unwrap();
                    assert_eq!(bitstrings(&c[0][1]), expected_strings(&bits), "{body}");
                    assert_eq!(bitstrings(&c[1][0]), expected_strings(&other), "{body}");
                    assert_eq!(bitstrings(&c[0][2]), ["10"]);
                }
            }
        }
    }

    #[test]
    fn fast_path_errors_match_the_general_path() {
        // Every byte of a key's shots replaced, removed or doubled, or the body cut there:
        // the same result or error, offset included, as without the fast paths.
        for width in FAST_WIDTHS {
            for spelling in SPELLINGS {
                let bits = pseudo_bits(23, width, width);
                let value = spell(&bits, spelling);
                let body = format!(r#"[{{"m": {value}, "k": [[1]]}}]"#);
                let start = body.find(&value).unwrap();
                let end = start + value.len() + 2;
                let step = (value.len() / 150).max(1);
                for at in (start..end).step_by(step) {
                    let b = body.as_bytes();
                    same_as_general(&b[..at]).unwrap_err();
                    for new in [b'0', b'1', b'2', b' ', b',', b']', b'[', b'e', b'.'] {
                        let mut m = b.to_vec();
                        m[at] = new;
                        let _ = same_as_general(&m);
                        m.insert(at, new);
                        let _ = same_as_general(&m);
                    }
                    let mut m = b.to_vec();
                    m.remove(at);
                    let _ = same_as_general(&m);
                }
            }
        }
    }

    /// Byte offset of digit `qubit` of shot `shot` in a body of `spell(bits, spelling)` at
    /// `start` (compact or spaced only).
    fn digit_offset(
        start: usize,
        width: usize,
        spelling: Spelling,
        shot: usize,
        qubit: usize,
    ) -> usize {
        let stride = match spelling {
            Spelling::Compact => 2,
            _ => 3,
        };
        start + 1 + shot * (stride * width + 2) + 1 + stride * qubit
    }

    #[test]
    fn errors_inside_long_runs_are_exact() {
        for width in [2, 7, 8, 9, 20, 63, 64, 65] {
            for spelling in [Spelling::Compact, Spelling::Spaced] {
                let bits = pseudo_bits(60, width, 5);
                let value = spell(&bits, spelling);
                let head = r#"[{"ok": [[0]], "m": "#;
                let body = format!("{head}{value}}}]");
                let start = head.len();
                assert_eq!(parse_ok(&body)[0][1].num_shots, 60);

                // A bad digit in the middle of an otherwise valid run.
                let (shot, qubit) = (41, width / 2);
                let at = digit_offset(start, width, spelling, shot, qubit);
                for bad in [b'2', b't', b'-'] {
                    let mut b = body.clone().into_bytes();
                    b[at] = bad;
                    let e = parse(&b, false).unwrap_err().to_string();
                    assert!(
                        e.contains(&format!(
                            "at byte {at} (circuit 0, key \"m\", shot {shot}, qubit {qubit})"
                        )),
                        "w{width} {spelling:?}: {e}"
                    );
                }
                // A digit followed by more digits (`10`), or by a fraction (`1.0`).
                for extra in ["0", ".0", "e0"] {
                    let mut b = body.clone();
                    b.insert_str(at + 1, extra);
                    let e = err(&b);
                    assert!(e.contains(&format!("at byte {at} (")), "{e}");
                    assert!(e.contains(&format!("shot {shot}, qubit {qubit})")), "{e}");
                }

                // A ragged shot after many good ones: one qubit short, one too many.
                let mut short = bits.clone();
                short[shot].pop();
                let b = format!("{head}{}}}]", spell(&short, spelling));
                let e = err(&b);
                let shot_at = digit_offset(start, width, spelling, shot, 0) - 1;
                assert!(e.contains(&format!("at byte {shot_at} (")), "{e}");
                assert!(
                    e.contains(&format!("shot {shot}): ragged shots: this shot has {} qubits but shot 0 has {width}", width - 1)),
                    "{e}"
                );
                let mut long = bits.clone();
                long[shot].push(1);
                let b = format!("{head}{}}}]", spell(&long, spelling));
                let e = err(&b);
                let extra_at = digit_offset(start, width, spelling, shot, width);
                assert!(e.contains(&format!("at byte {extra_at} (")), "{e}");
                assert!(e.contains(&format!("shot {shot}, qubit {width})")), "{e}");
                assert!(e.contains(&format!("more than {width} qubits")), "{e}");

                // Truncated in the middle of a run: at a digit, and just after a separator.
                let e = err(&body[..at]);
                assert!(e.contains(&format!("at byte {at} (")), "{e}");
                assert!(e.contains(&format!("shot {shot}, qubit {qubit})")), "{e}");
                assert!(e.contains("the end of the body"), "{e}");
                let next = digit_offset(start, width, spelling, shot + 1, 0) - 1;
                let e = err(&body[..next]);
                assert!(e.contains(&format!("at byte {next} (")), "{e}");
                assert!(e.contains(&format!("shot {})", shot + 1)), "{e}");
                assert!(e.contains("the end of the body"), "{e}");

                // A bool where a bit belongs, and a trailing comma after the run.
                let mut b = body.clone();
                b.replace_range(at..at + 1, "true");
                assert!(err(&b).contains("true (a bool)"));
                let mut b = body.clone();
                let close = start + value.len() - 1;
                b.insert(close, ',');
                let e = err(&b);
                assert!(e.contains(&format!("at byte {} (", close + 1)), "{e}");
                assert!(
                    e.contains("shot 60)") && e.contains("a list of qubit values"),
                    "{e}"
                );
            }
        }
    }

    #[test]
    fn mixed_spellings_and_duplicates_around_runs() {
        // Spellings switching inside one key, a run ending at a key boundary, a duplicate key
        // after a long run.
        let a = pseudo_bits(30, 9, 1);
        let b = pseudo_bits(30, 9, 2);
        let mut value = spell(&a, Spelling::Compact);
        value.pop();
        value.push(',');
        value.push_str(&spell(&b, Spelling::Spaced)[1..]);
        let body = format!(r#"[{{"m": {value}}}]"#);
        let c = same_as_general(body.as_bytes()).unwrap();
        let mut both = a.clone();
        both.extend(b.iter().cloned());
        assert_eq!(bitstrings(&c[0][0]), expected_strings(&both));
        let body = format!(r#"[{{"m": {value}, "m": [[1]]}}]"#);
        let e = err(&body);
        assert!(
            e.contains(&format!("at byte {} (", 9 + value.len())) && e.contains("duplicate key"),
            "{e}"
        );
    }
}
