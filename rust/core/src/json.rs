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
//!    bits, in row-major order, so filling is a plain byte loop with no parsing.
//!
//! Pass 2 runs over keys (or registers) in parallel when the body is large.

use std::collections::HashSet;
use std::fmt::Write as _;

use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::layout;
use crate::registers::{self, KeyInfo};

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
    let mut bits = value.iter().filter(|&&b| b & 0xfe == b'0').map(|&b| b & 1);
    for row in dst.chunks_exact_mut(row_bytes) {
        for j in 0..num_bits {
            match bits.next() {
                Some(bit) => {
                    let (byte, mask) = layout::bit_position(row_bytes, bit_offset + j);
                    if bit != 0 {
                        row[byte] |= mask;
                    }
                }
                None => return,
            }
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
}

/// Validates a measurements body and returns, per circuit, its keys in order (see module docs).
pub fn scan(body: &[u8]) -> Result<Vec<Vec<KeySpan>>> {
    let mut s = Scanner { b: body, pos: 0 };
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
            if width == Some(1) {
                shot += self.skip_single_bit_shots();
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

    /// Skips a run of complete single-bit shots followed by a comma, spelled `[d],` or `[d], `
    /// (the layouts servers and `json.dumps` write), and returns how many it skipped. Anything
    /// else, including the list's last shot, is left to the general path. Each step compares
    /// whole words: the mask ignores bit 0 of the digit byte, so `0` and `1` both match.
    #[inline]
    fn skip_single_bit_shots(&mut self) -> usize {
        const COMPACT_MASK: u64 = 0xffff_feff_ffff_feff;
        const COMPACT: u64 = u64::from_le_bytes(*b"[0],[0],");
        const SPACED_MASK: u64 = 0x0000_00ff_ffff_feff;
        const SPACED: u64 = u64::from_le_bytes(*b"[0], \0\0\0") & SPACED_MASK;
        let b = self.b;
        let mut pos = self.pos;
        let mut n = 0usize;
        let word = |at: usize| -> Option<u64> {
            let bytes: [u8; 8] = b.get(at..at + 8)?.try_into().ok()?;
            Some(u64::from_le_bytes(bytes))
        };
        while let Some(w) = word(pos) {
            if w & COMPACT_MASK == COMPACT {
                pos += 8;
                n += 2;
            } else if w & SPACED_MASK == SPACED {
                // Before the one-shot compact test, which would also match its first 4 bytes.
                pos += 5;
                n += 1;
            } else if w & 0xffff_feff == COMPACT & 0xffff_ffff {
                pos += 4;
                n += 1;
            } else {
                break;
            }
        }
        self.pos = pos;
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
}
