//! Pass 1: validates a measurements body and records where each key's value lies.

use std::collections::HashSet;

use rayon::prelude::*;

use super::rows::Template;
use super::KeySpan;
use crate::error::{Error, Location, Result};

/// Where a problem is, for error messages.
#[derive(Clone, Copy, Default)]
struct Ctx<'a> {
    circuit: Option<usize>,
    key: Option<&'a str>,
    shot: Option<usize>,
    qubit: Option<usize>,
}

impl Ctx<'_> {
    fn location(&self) -> Location {
        Location {
            circuit: self.circuit,
            key: self.key.map(Location::quote_key),
            position: Vec::new(),
            shot: self.shot,
            qubit: self.qubit,
        }
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
    /// Bytes per piece when a long value is checked on several threads; `None` scans on the
    /// calling thread alone.
    piece_bytes: Option<usize>,
    /// Runs of shots checked ahead by other threads (see [`Scanner::check_ahead`]), in body
    /// order; `hints[next_hint..]` have not been reached yet.
    hints: Vec<Hint>,
    next_hint: usize,
    /// No new hints are computed before this offset (the end of the last batch), so a value in
    /// another spelling costs one batch per batch length, not one per shot.
    hints_until: usize,
    /// Shots of the current value skipped by runs of each spelling (hints included).
    templated: [usize; 2],
    /// Piece size of the next batch of the current value: it starts small and doubles up to
    /// `piece_bytes`, so that checking ahead past the end of a value (its last batch) costs at
    /// most about as much as the value itself.
    piece_now: usize,
    /// Where the current value starts: no pieces before the walk is `SPLIT_AFTER_BYTES` into
    /// it, so shorter values (most keys of a many-key body) are never split.
    value_start: usize,
}

/// A run of whole shots in the usual spellings that a piece found at `start` (a `[`): `shots`
/// shots, each with its separator, ending at `end`. Checked without knowing whether `start`
/// begins a shot at all; the scanner uses it only when its own walk arrives at `start` at the
/// start of a shot, where it would have checked exactly these bytes the same way.
#[derive(Clone, Copy, Debug)]
struct Hint {
    start: usize,
    shots: usize,
    end: usize,
    /// Of `shots`, how many in each spelling.
    by_spelling: [usize; 2],
}

/// How a scan runs (tests force pieces of a few bytes; see [`scan_with`]).
#[derive(Clone, Copy, Debug)]
pub(super) struct ScanOptions {
    /// Skip runs of shots in the usual spellings.
    pub fast: bool,
    /// Split long values into pieces of this many bytes, checked in parallel.
    pub piece_bytes: Option<usize>,
}

/// Bytes of body per piece when a value is checked on several threads: large enough that a
/// batch costs far more than handing it to rayon, small enough that a batch reaching past the
/// end of its value wastes little.
pub(super) const PIECE_BYTES: usize = 2 << 20;

/// Piece size of a value's first batch (at most).
const FIRST_PIECE_BYTES: usize = 256 << 10;

/// A value is split only once the walk is this far into it (at most one piece).
const SPLIT_AFTER_BYTES: usize = 1 << 20;

/// Pieces per batch at least (more when the pool is larger).
const MIN_PIECES_PER_BATCH: usize = 4;

/// Validates a measurements body and returns, per circuit, its keys in order (see module docs).
///
/// # Errors
/// [`Error::Json`] at the first byte that breaks the shape, with its place.
pub fn scan(body: &[u8]) -> Result<Vec<Vec<KeySpan>>> {
    let split = body.len() >= super::PARALLEL_MIN_BYTES && rayon::current_num_threads() > 1;
    scan_with(
        body,
        ScanOptions {
            fast: true,
            piece_bytes: split.then_some(PIECE_BYTES),
        },
    )
}

pub(super) fn scan_with(body: &[u8], options: ScanOptions) -> Result<Vec<Vec<KeySpan>>> {
    let mut s = Scanner {
        b: body,
        pos: 0,
        spellings: None,
        last_spelling: 0,
        fast: options.fast,
        piece_bytes: options
            .piece_bytes
            .filter(|_| options.fast)
            .map(|n| n.max(1)),
        hints: Vec::new(),
        next_hint: 0,
        hints_until: 0,
        templated: [0; 2],
        piece_now: 0,
        value_start: 0,
    };
    s.body()
}

impl Scanner<'_> {
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

    /// After an item of a list or object: skips whitespace, then either a `,` and the
    /// whitespace after it (`Some(false)`: another item follows) or `close` (`Some(true)`: the
    /// container ended). `None` leaves the position on whatever came instead.
    #[inline]
    fn next_item(&mut self, close: u8) -> Option<bool> {
        self.skip_ws();
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                self.skip_ws();
                Some(false)
            }
            Some(b) if b == close => {
                self.pos += 1;
                Some(true)
            }
            _ => None,
        }
    }

    // A method, like every other error helper of the scanner, so call sites read alike.
    #[allow(clippy::unused_self)]
    fn error(&self, offset: usize, ctx: Ctx<'_>, message: impl Into<String>) -> Error {
        Error::Json {
            offset,
            location: Box::new(ctx.location()),
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
                match self.next_item(b']') {
                    Some(false) => {}
                    Some(true) => break,
                    None => {
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
            let (num_shots, num_bits, splits) = self.value(kctx)?;
            // Shot 0 (width unknown yet) and the last shot (no separator) never go by runs, so
            // when one spelling's runs took all the others, the fill may take them unchecked.
            let spelling = (0..2).find(|&i| num_shots >= 3 && self.templated[i] == num_shots - 2);
            keys.push(KeySpan {
                name: name.clone(),
                start,
                end: self.pos,
                num_shots,
                num_bits,
                splits,
                spelling: spelling.map(|i| i == 1),
            });
            seen.insert(name);
            match self.next_item(b'}') {
                Some(false) => {}
                Some(true) => return Ok(keys),
                None => return Err(self.expected("',' or '}' after a key's shots", ctx)),
            }
        }
    }

    /// One key's value: a list of shots. Returns (shots, qubits per shot, split points: see
    /// [`KeySpan::splits`]).
    #[allow(clippy::type_complexity)]
    fn value(&mut self, ctx: Ctx<'_>) -> Result<(usize, usize, Vec<(usize, usize)>)> {
        if self.peek() != Some(b'[') {
            return Err(self.expected("a list of shots", ctx));
        }
        self.pos += 1;
        self.skip_ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok((0, 0, Vec::new()));
        }
        // Hints belong to one value: they were checked at this value's width.
        self.hints.clear();
        self.next_hint = 0;
        self.hints_until = 0;
        self.templated = [0; 2];
        self.piece_now = self.piece_bytes.unwrap_or(0).min(FIRST_PIECE_BYTES);
        self.value_start = self.pos;
        let mut splits = Vec::new();
        let mut shot = 0usize;
        let mut width: Option<usize> = None;
        loop {
            if let Some(w @ 1..) = width.filter(|_| self.fast) {
                shot += self.skip_shots(w, shot, &mut splits);
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
            match self.next_item(b']') {
                Some(false) => {}
                Some(true) => {
                    self.hints.clear();
                    return Ok((shot, width.unwrap_or(0), splits));
                }
                None => return Err(self.expected("',' or ']' after a shot", sctx)),
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
            match self.next_item(b']') {
                Some(false) => {}
                Some(true) => return Ok(q),
                None => {
                    let qctx = Ctx {
                        qubit: Some(q - 1),
                        ..ctx
                    };
                    return Err(self.expected("',' or ']' after a qubit value", qctx));
                }
            }
        }
    }

    /// Skips the shots of `width` bits that runs in the usual spellings cover from here (shot
    /// `shot` starts at `pos`), with the hints of other threads when the value is long, and
    /// returns how many it skipped. Each hint used is a point where the fill may split the value
    /// too: it is pushed onto `splits` as (offset, shot).
    fn skip_shots(&mut self, width: usize, shot: usize, splits: &mut Vec<(usize, usize)>) -> usize {
        let mut n = 0usize;
        loop {
            // Hints behind us were not landed on (another spelling in between): never used.
            while self
                .hints
                .get(self.next_hint)
                .is_some_and(|h| h.start < self.pos)
            {
                self.next_hint += 1;
            }
            if self.next_hint == self.hints.len() {
                if let Some(piece) = self.piece_bytes {
                    let now = self.piece_now;
                    if self.pos >= self.hints_until
                        && self.b.len() - self.pos > now
                        && self.pos - self.value_start >= piece.min(SPLIT_AFTER_BYTES)
                    {
                        self.check_ahead(width, now);
                        self.piece_now = now.saturating_mul(2).min(piece);
                    }
                }
            }
            let split_at = self.piece_bytes.map_or(usize::MAX, |piece| {
                self.value_start
                    .saturating_add(piece.min(SPLIT_AFTER_BYTES))
            });
            let limit = match self.hints.get(self.next_hint) {
                Some(h) if h.start == self.pos => {
                    if h.shots > 0 {
                        splits.push((h.start, shot + n));
                    }
                    self.pos = h.end;
                    n += h.shots;
                    self.templated[0] += h.by_spelling[0];
                    self.templated[1] += h.by_spelling[1];
                    self.next_hint += 1;
                    continue;
                }
                Some(h) => h.start,
                // Walk on alone up to where splitting starts (the first shot at or past it),
                // then check ahead from there.
                None if self.pos < split_at => {
                    n += self.skip_shot_runs(width, split_at, true);
                    if self.pos < split_at {
                        return n;
                    }
                    continue;
                }
                None => usize::MAX,
            };
            n += self.skip_shot_runs(width, limit, false);
            if self.pos != limit {
                return n;
            }
        }
    }

    /// Checks the next batch of pieces of the body (from `pos`, a shot's start) on rayon's pool:
    /// each piece from its first `[` runs the usual spellings as far as its end, giving one
    /// [`Hint`]. A piece past the end of the value (or in another spelling) gives a hint that the
    /// scanner never lands on; errors are never found here, only by the scanner's own walk.
    fn check_ahead(&mut self, width: usize, piece: usize) {
        self.ensure_spellings(width);
        let Some((_, spellings)) = &self.spellings else {
            return;
        };
        let count = rayon::current_num_threads().max(MIN_PIECES_PER_BATCH);
        let from = self.pos;
        let until = from
            .saturating_add(count.saturating_mul(piece))
            .min(self.b.len());
        let bounds: Vec<(usize, usize)> = (0..count)
            .map(|i| {
                let lo = from.saturating_add(i.saturating_mul(piece)).min(until);
                (lo, lo.saturating_add(piece).min(until))
            })
            .filter(|(lo, hi)| lo < hi)
            .collect();
        let b = self.b;
        let run = |&(lo, hi): &(usize, usize)| -> Option<Hint> {
            let start = if lo == from {
                from
            } else {
                lo + b[lo..hi].iter().position(|&c| c == b'[')?
            };
            let (by_spelling, end) = runs_from(b, start, hi, spellings, width);
            Some(Hint {
                start,
                shots: by_spelling[0] + by_spelling[1],
                end,
                by_spelling,
            })
        };
        // Small batches (only tests make them) are not worth handing to other threads.
        self.hints = if until - from >= FIRST_PIECE_BYTES {
            bounds.par_iter().filter_map(run).collect()
        } else {
            bounds.iter().filter_map(run).collect()
        };
        self.next_hint = 0;
        self.hints_until = until;
    }

    fn ensure_spellings(&mut self, width: usize) {
        if self.spellings.as_ref().is_none_or(|(w, _)| *w != width) {
            let both = [Template::new(width, false), Template::new(width, true)];
            self.spellings = Some((width, both));
        }
    }

    /// Skips a run of complete shots of `width` bits followed by a comma, each spelled compactly
    /// (`[0,1],`) or as `json.dumps` writes it (`[0, 1], `; see [`rows`]), none of them past
    /// `limit` (or, with `past`, until one ends at or past it), and returns how many it skipped.
    /// Anything else, including the list's last shot, is left to the general path.
    #[inline]
    fn skip_shot_runs(&mut self, width: usize, limit: usize, past: bool) -> usize {
        self.ensure_spellings(width);
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
            let left = limit.saturating_sub(self.pos);
            let max = if past {
                left.div_ceil(t.period())
            } else {
                left / t.period()
            };
            let run = t.count(&self.b[self.pos..], max);
            if run == 0 {
                missed += 1;
            } else {
                missed = 1;
                self.pos += run * t.period();
                n += run;
                self.templated[current] += run;
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

/// The shots of `width` bits in the usual spellings from `start` on, as
/// [`Scanner::skip_shot_runs`] takes them, until one ends at or past `until`: returns (shots,
/// offset after the last one), the shots counted per spelling.
fn runs_from(
    b: &[u8],
    start: usize,
    until: usize,
    spellings: &[Template; 2],
    width: usize,
) -> ([usize; 2], usize) {
    let (mut pos, mut n) = (start, [0usize; 2]);
    let mut current = usize::from(width == 1);
    let mut missed = 0;
    while missed < 2 && pos < until {
        let t = &spellings[current];
        let run = t.count(&b[pos..], (until - pos).div_ceil(t.period()));
        if run == 0 {
            missed += 1;
        } else {
            missed = 1;
            pos += run * t.period();
            n[current] += run;
        }
        current ^= 1;
    }
    (n, pos)
}
