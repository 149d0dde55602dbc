use std::fmt::Write as _;

use super::fill::{fill_any, fill_multi_bit};
use super::rows::Template;
use super::scan::{self, scan_with, ScanOptions};
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
    let c = parse_ok(r#"[{"m": [[0,0],[1,1],[1,0]], "x": [[1]]}, {"y": [[0,0,0,0,0,0,0,0,1]]}]"#);
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
        (r"[{1: [[0]]}]", "a string key, got the number 1"),
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
            let _ = write!(body, "\"k{k}\":[");
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
    let circuits = scan_with(
        body,
        ScanOptions {
            fast: false,
            piece_bytes: None,
        },
    )?;
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
    // Values split into pieces of a few bytes (a size that varies with the body, so that the
    // many bodies of a test cover many sizes): the same again, in both modes.
    let piece = 1 + body.len() % 29;
    let split = pieces(piece);
    assert_eq!(
        parse_with(body, false, split),
        general,
        "piece {piece}: {}",
        String::from_utf8_lossy(body)
    );
    let registers = parse(body, true);
    assert_eq!(parse_with(body, true, split), registers, "piece {piece}");
    // Registers filled straight from the body match registers assembled from the general
    // path's keys.
    if let (Ok(registers), Ok(keys)) = (&registers, &general) {
        assert_eq!(
            registers,
            &assembled(keys),
            "{}",
            String::from_utf8_lossy(body)
        );
    }
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

/// Each circuit's keys grouped into registers by [`assemble_registers`] (from packed keys).
fn assembled(circuits: &[Vec<NamedBits>]) -> Vec<Vec<NamedBits>> {
    circuits
        .iter()
        .map(|keys| {
            let packed: Vec<PackedKey<'_>> = keys
                .iter()
                .map(|k| PackedKey {
                    info: KeyInfo {
                        name: &k.name,
                        num_shots: k.num_shots,
                        num_bits: k.num_bits,
                    },
                    row_bytes: layout::num_bytes(k.num_bits),
                    data: &k.data,
                })
                .collect();
            assemble_registers(&packed).unwrap()
        })
        .collect()
}

#[test]
fn registers_from_long_single_bit_keys_match_assembly() {
    // Qiskit-on-IQM keys (one clbit each, two registers, clbits out of order) with many shots
    // in every spelling, whole and in pieces.
    for spelling in SPELLINGS {
        let mut body = String::from("[{");
        let keys = [(0, 2), (1, 0), (0, 0), (0, 9), (1, 1), (0, 1)];
        for (i, (reg, clbit)) in keys.into_iter().enumerate() {
            let bits = pseudo_bits(50, 1, i);
            let size = if reg == 0 { 10 } else { 2 };
            if i > 0 {
                body.push_str(", ");
            }
            let value = spell(&bits, spelling);
            let _ = write!(body, "\"r{reg}_{size}_{reg}_{clbit}\": {value}");
        }
        body.push_str("}]");
        let general = parse_general(body.as_bytes()).unwrap();
        let want = assembled(&general);
        assert_eq!(parse(body.as_bytes(), true).unwrap(), want, "{spelling:?}");
        for piece in [1, 4, 5, 9, 17, 64] {
            let got = parse_with(body.as_bytes(), true, pieces(piece)).unwrap();
            assert_eq!(got, want, "{spelling:?} piece {piece}");
        }
    }
}

fn pieces(piece_bytes: usize) -> ScanOptions {
    ScanOptions {
        fast: true,
        piece_bytes: Some(piece_bytes),
    }
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
        let digits: Vec<String> = shot.iter().map(std::string::ToString::to_string).collect();
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
        .map(|shot| {
            shot.iter()
                .rev()
                .map(std::string::ToString::to_string)
                .collect()
        })
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
                e.contains(&format!(
                    "shot {shot}): ragged shots: this shot has {} qubits but shot 0 has {width}",
                    width - 1
                )),
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
            b.replace_range(at..=at, "true");
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

#[test]
fn the_output_is_capped_relative_to_the_body() {
    // 300 registers of 2^20 clbits from their keys' text alone, four shots each: 150 MiB of
    // output from a 13 KB body.
    let mut body = String::from("[{");
    for i in 0..300 {
        if i > 0 {
            body.push(',');
        }
        let _ = write!(body, "\"c{i}_1048576_{i}_0\":[[0],[1],[0],[1]]");
    }
    body.push_str("}]");
    let err = parse(body.as_bytes(), true).unwrap_err();
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains(&format!("cap of {} bytes", output_cap(body.len()))),
        "{text}"
    );
    // Keys mode is far below the cap; a narrow register is too.
    assert_eq!(parse(body.as_bytes(), false).unwrap()[0].len(), 300);
    assert_eq!(
        parse(br#"[{"c_1000_0_3": [[1], [0]]}]"#, true).unwrap()[0][0]
            .data
            .len(),
        2 * 125
    );
    // Assembly from packed keys has the same cap.
    let one = [0u8, 1, 0, 1];
    let keys: Vec<String> = (0..300).map(|i| format!("c{i}_1048576_{i}_0")).collect();
    let packed: Vec<PackedKey<'_>> = keys
        .iter()
        .map(|name| PackedKey {
            info: KeyInfo {
                name,
                num_shots: 4,
                num_bits: 1,
            },
            row_bytes: 1,
            data: &one,
        })
        .collect();
    assert!(matches!(
        assemble_registers(&packed),
        Err(Error::TooLarge { .. })
    ));
    assert_eq!(output_cap(0), OUTPUT_CAP_FLOOR);
    assert_eq!(output_cap(usize::MAX), usize::MAX);
}

#[test]
fn pext_and_portable_fills_give_identical_bytes() {
    // Whole parses, the values also split into pieces, with the fill's fixed-offset
    // extraction forced onto the portable path and left to pick `PEXT` (where the CPU has a
    // fast one): the same arrays.
    use super::rows::FORCE_PORTABLE;
    use std::sync::atomic::Ordering;
    for width in FAST_WIDTHS {
        for spelling in [Spelling::Compact, Spelling::Spaced] {
            let bits = pseudo_bits(300, width, 5 * width + 1);
            let body = format!(r#"[{{"m": {}, "z": [[0, 1]]}}]"#, spell(&bits, spelling));
            let body = body.as_bytes();
            let period = Template::new(width, matches!(spelling, Spelling::Spaced)).period();
            let runs = |force: bool| {
                FORCE_PORTABLE.store(force, Ordering::Relaxed);
                let mut out = vec![parse(body, false).unwrap()];
                for piece in [period, 2 * period + 3, 1000, 4096] {
                    out.push(parse_with(body, false, pieces(piece)).unwrap());
                }
                FORCE_PORTABLE.store(false, Ordering::Relaxed);
                out
            };
            let portable = runs(true);
            let fast = runs(false);
            assert_eq!(fast, portable, "w{width} {spelling:?}");
            for got in &fast {
                assert_eq!(bitstrings(&got[0][0]), expected_strings(&bits));
            }
        }
    }
}

#[test]
fn pieces_split_anywhere_and_change_nothing() {
    // Piece boundaries at every byte of a shot (so at every shot, inside shots, and pieces
    // holding no `[` or no whole shot), in every spelling; the bits come out the same, and the
    // fill splits only where the scan found a shot's `[`.
    for width in [1, 2, 8, 9, 64, 65] {
        for spelling in SPELLINGS {
            let bits = pseudo_bits(40, width, width + 7);
            let value = spell(&bits, spelling);
            let body = format!(r#"[{{"a": [[1]], "m": {value}, "z": [[0, 1], [1, 1]]}}]"#);
            let period = Template::new(width, matches!(spelling, Spelling::Spaced)).period();
            let general = parse_general(body.as_bytes()).unwrap();
            for piece in 1..=2 * period + 1 {
                let got = parse_with(body.as_bytes(), false, pieces(piece)).unwrap();
                assert_eq!(got, general, "w{width} {spelling:?} piece {piece}");
                let spans = scan_with(body.as_bytes(), pieces(piece)).unwrap();
                let m = &spans[0][1];
                for &(at, shot) in &m.splits {
                    assert_eq!(body.as_bytes()[at], b'[');
                    assert!((1..40).contains(&shot), "{shot}");
                }
                if !matches!(spelling, Spelling::Mixed) && piece >= period {
                    assert!(!m.splits.is_empty(), "w{width} {spelling:?} piece {piece}");
                }
                // One spelling throughout (the fill then reads it unchecked); at width 1 the
                // compact spelling also matches the start of a spaced shot, and it is unused.
                let uniform = match spelling {
                    Spelling::Compact => Some(false),
                    Spelling::Spaced => Some(true),
                    Spelling::Mixed => None,
                };
                if width >= 2 {
                    assert_eq!(m.spelling, uniform, "w{width} {spelling:?} piece {piece}");
                }
                assert_eq!(bitstrings(&got[0][1]), expected_strings(&bits));
            }
        }
    }
}

#[test]
fn errors_inside_each_piece_are_exact() {
    // A bad digit, a ragged shot or a cut in shot `s` for every `s`, with pieces of one to three
    // shots: the error (offset and place) is the one-thread scan's.
    for width in [1, 8, 9, 64, 65] {
        for spelling in [Spelling::Compact, Spelling::Spaced] {
            let bits = pseudo_bits(24, width, 3);
            let value = spell(&bits, spelling);
            let head = r#"[{"ok": [[0]], "m": "#;
            let body = format!("{head}{value}}}]");
            let start = head.len();
            let period = Template::new(width, matches!(spelling, Spelling::Spaced)).period();
            for shot in 0..24 {
                let at = digit_offset(start, width, spelling, shot, width / 2);
                let mut bad = body.clone().into_bytes();
                bad[at] = b'2';
                let mut ragged = bits.clone();
                ragged[shot].pop();
                let ragged = format!("{head}{}}}]", spell(&ragged, spelling)).into_bytes();
                let cut = body.as_bytes()[..at].to_vec();
                for b in [bad, ragged, cut] {
                    let want = parse_general(&b).unwrap_err().to_string();
                    for piece in [period - 1, period, period + 1, 2 * period + 3, 3 * period] {
                        let got = parse_with(&b, false, pieces(piece))
                            .unwrap_err()
                            .to_string();
                        assert_eq!(got, want, "w{width} {spelling:?} shot {shot} piece {piece}");
                    }
                }
            }
        }
    }
}

#[test]
fn one_large_key_is_split_on_the_pool() {
    // Above the parallel threshold with the production piece size: the scan splits the one
    // key's value (when the pool has more than one thread) and the result is the general
    // path's.
    for (width, spelling) in [
        (20, Spelling::Compact),
        (9, Spelling::Spaced),
        (1, Spelling::Compact),
    ] {
        let shots = 3 * scan::PIECE_BYTES / (2 * width + 2);
        let bits = pseudo_bits(shots, width, 11);
        let body = format!(r#"[{{"meas": {}}}]"#, spell(&bits, spelling));
        let spans = scan(body.as_bytes()).unwrap();
        if rayon::current_num_threads() > 1 {
            assert!(!spans[0][0].splits.is_empty());
        }
        assert_eq!(
            parse(body.as_bytes(), false),
            parse_general(body.as_bytes())
        );
    }
}
