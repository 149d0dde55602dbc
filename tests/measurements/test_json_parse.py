"""parse_measurements: JSON bodies -> DataBins, against json.loads + NumPy and Qiskit."""

from __future__ import annotations

import json
import random
import tracemalloc

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from qiskit.primitives import BitArray as QiskitBitArray

from shotpack import BitArray, DataBin, parse_measurements
from shotpack.containers.data_bin import _RESTRICTED_NAMES
from tests._fuzz_oracle import strict_loads

WIDTHS = st.one_of(st.sampled_from([0, 1, 8, 9, 64, 65]), st.integers(0, 70))
SHOTS = st.one_of(st.sampled_from([0, 1, 2]), st.integers(0, 40))
KEYS = st.text(min_size=0, max_size=12).filter(lambda k: k not in _RESTRICTED_NAMES)


def pack_reference(bits: np.ndarray) -> np.ndarray:
    """Column j -> bit j, packed in Qiskit's layout, with plain NumPy."""
    shots, width = bits.shape
    nbytes = (width + 7) // 8
    if width == 0:
        return np.zeros((shots, 0), dtype=np.uint8)
    padded = np.zeros((shots, nbytes * 8), dtype=bool)
    padded[:, nbytes * 8 - width :] = bits[:, ::-1].astype(bool)
    return np.packbits(padded, axis=1)


@st.composite
def batches(draw: st.DrawFn) -> list[dict[str, list[list[int]]]]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    circuits = []
    for _ in range(draw(st.integers(0, 3))):
        keys = draw(st.lists(KEYS, max_size=4, unique=True))
        circuit = {}
        for key in keys:
            shots, width = draw(SHOTS), draw(WIDTHS)
            circuit[key] = rng.integers(0, 2, (shots, width)).tolist()
        circuits.append(circuit)
    return circuits


def dumps(batch: object, style: int) -> str:
    """Several JSON spellings of the same data (compact, spaced, indented, raw UTF-8)."""
    if style == 0:
        return json.dumps(batch, separators=(",", ":"))
    if style == 1:
        return json.dumps(batch)
    if style == 2:
        return json.dumps(batch, indent="\t").replace("\n", "\r\n")
    return " \n" + json.dumps(batch, ensure_ascii=False, indent=1) + "\n "


def check_against_reference(body: str | bytes, batch: list[dict[str, list[list[int]]]]) -> None:
    result = parse_measurements(body)
    assert isinstance(result, list) and len(result) == len(batch)
    for got, circuit in zip(result, batch, strict=True):
        assert isinstance(got, DataBin)
        assert list(got) == list(circuit)
        for key, shots in circuit.items():
            ba = got[key]
            assert isinstance(ba, BitArray)
            ref_bits = np.array(shots, dtype=np.uint8).reshape(len(shots), -1 if shots else 0)
            assert ba.num_shots == len(shots)
            assert ba.num_bits == ref_bits.shape[1]
            np.testing.assert_array_equal(ba.array, pack_reference(ref_bits))
            if ref_bits.shape[1] > 0:
                qk = QiskitBitArray.from_bool_array(ref_bits.astype(bool), order="little")
                np.testing.assert_array_equal(ba.array, qk.array)


@given(batch=batches(), style=st.integers(0, 3))
def test_round_trip_matches_json_loads(batch: list[dict[str, list[list[int]]]], style: int) -> None:
    body = dumps(batch, style)
    assert json.loads(body) == batch
    check_against_reference(body.encode(), batch)


def emit(obj: object, rnd: random.Random) -> str:
    """JSON with random whitespace between every pair of tokens."""

    def ws() -> str:
        return rnd.choice(["", "", "", " ", "\n", "\t", "\r\n  "])

    if isinstance(obj, list):
        return "[" + ws() + ("," + ws()).join(emit(x, rnd) + ws() for x in obj) + "]"
    if isinstance(obj, dict):
        members = (json.dumps(k) + ws() + ":" + ws() + emit(v, rnd) + ws() for k, v in obj.items())
        return "{" + ws() + ("," + ws()).join(members) + "}"
    return json.dumps(obj)


@given(batch=batches(), rnd=st.randoms(use_true_random=False))
def test_round_trip_with_random_whitespace(
    batch: list[dict[str, list[list[int]]]], rnd: random.Random
) -> None:
    body = emit(batch, rnd)
    assert json.loads(body) == batch
    check_against_reference(body, batch)


@given(
    shots=st.lists(st.integers(0, 1), max_size=80),
    sep=st.sampled_from([",", ", ", " ,", ",\n ", ",\r\n"]),
)
def test_single_bit_keys_in_server_layouts(shots: list[int], sep: str) -> None:
    # The word-at-a-time paths for one bit per shot, around every alignment and ending.
    body = '[{"c_1_0_0":[' + sep.join(f"[{b}]" for b in shots) + "]}]"
    check_against_reference(body, [{"c_1_0_0": [[b] for b in shots]}])
    [d] = parse_measurements(body, registers=True)
    np.testing.assert_array_equal(d.c.array.ravel(), shots)


MULTI_WIDTHS = st.one_of(st.sampled_from([2, 3, 7, 8, 9, 20, 63, 64, 65]), st.integers(2, 70))
MANY_SHOTS = st.one_of(st.sampled_from([0, 1, 2, 3, 9, 10, 11]), st.integers(0, 400))


def spell_key(bits: np.ndarray, spelling: str, rnd: random.Random) -> str:
    """One key's shots: compact, as ``json.dumps`` writes them, or a per-shot mix of both."""
    rows = bits.tolist()
    if spelling == "compact":
        return json.dumps(rows, separators=(",", ":"))
    if spelling == "dumps":
        return json.dumps(rows)
    parts = []
    for i, row in enumerate(rows):
        inner = rnd.choice([",", ", ", " ,\n"])
        outer = rnd.choice([",", ", ", ",\n  "])
        parts.append((outer if i else "") + "[" + inner.join(map(str, row)) + "]")
    return "[" + "".join(parts) + "]"


@given(
    widths=st.lists(MULTI_WIDTHS, min_size=1, max_size=3),
    shots=MANY_SHOTS,
    spelling=st.sampled_from(["compact", "dumps", "mixed"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_multi_bit_keys_with_many_shots(
    widths: list[int], shots: int, spelling: str, seed: int
) -> None:
    # Long runs of multi-bit shots (the template fast path), compared with json.loads + NumPy.
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    keys = {f"k{i}": rng.integers(0, 2, (shots, w)) for i, w in enumerate(widths)}
    body = "[{" + ", ".join(f'"{k}": {spell_key(v, spelling, rnd)}' for k, v in keys.items())
    body += "}, {}]"
    batch = json.loads(body)
    assert batch == [{k: v.tolist() for k, v in keys.items()}, {}]
    check_against_reference(body.encode(), batch)


@given(
    width=st.sampled_from([2, 7, 8, 9, 20, 64, 65]),
    shots=st.integers(1, 60),
    spelling=st.sampled_from(["compact", "dumps", "mixed"]),
    seed=st.integers(0, 2**32 - 1),
    where=st.floats(0, 1, exclude_max=True),
    edit=st.sampled_from(["replace", "insert", "delete", "truncate"]),
    char=st.sampled_from(list('01 2,][{}"e.-t\n')),
)
def test_one_edit_in_a_multi_bit_body_matches_strict_json_loads(
    width: int, shots: int, spelling: str, seed: int, where: float, edit: str, char: str
) -> None:
    # One byte changed anywhere (mostly inside long runs of shots): either the body still has
    # the measurements shape and parses to json.loads' values, or parsing fails with a located
    # ValueError.
    rng = np.random.default_rng(seed)
    rnd = random.Random(seed)
    a, b = rng.integers(0, 2, (shots, width)), rng.integers(0, 2, (shots, width))
    text = f'[{{"a": {spell_key(a, spelling, rnd)}, "b": {spell_key(b, spelling, rnd)}}}]'
    body = bytearray(text.encode())
    at = int(where * len(body))
    if edit == "replace":
        body[at : at + 1] = char.encode()
    elif edit == "insert":
        body[at:at] = char.encode()
    elif edit == "delete":
        del body[at]
    else:
        del body[at:]
    expected = strict_loads(bytes(body))
    if expected is None:
        with pytest.raises(ValueError, match="at byte"):
            parse_measurements(bytes(body))
    else:
        check_against_reference(bytes(body), expected)


@pytest.mark.parametrize("kind", [bytes, bytearray, memoryview, str])
def test_body_types(kind: type) -> None:
    batch = [{"m": [[0, 1], [1, 1]], "é": [[1]]}, {}]
    text = json.dumps(batch)
    body = text if kind is str else kind(text.encode())
    check_against_reference(body, batch)


def test_wrong_body_type() -> None:
    with pytest.raises(TypeError, match="bytes, bytearray, memoryview or str, not list"):
        parse_measurements([{"m": [[0]]}])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="not NoneType"):
        parse_measurements(None)  # type: ignore[arg-type]


def test_empty_results() -> None:
    assert parse_measurements(b"[]") == []
    [empty] = parse_measurements(b"[{}]")
    assert len(empty) == 0 and empty.shape == ()
    [d] = parse_measurements(b'[{"m": []}]')
    assert (d.m.num_shots, d.m.num_bits, d.m.array.shape) == (0, 0, (0, 0))
    [d] = parse_measurements(b'[{"m": [[], [], []]}]')
    assert (d.m.num_shots, d.m.num_bits, d.m.array.shape) == (3, 0, (3, 0))


def test_exact_layout() -> None:
    [d] = parse_measurements(b'[{"m": [[1,0,0,0,0,0,0,0,0,1]]}]')
    # bit 0 (column 0) is the LSB of the last byte; bit 9 is bit 1 of the first byte.
    np.testing.assert_array_equal(d.m.array, [[2, 1]])
    assert d.m.num_bits == 10


def test_escaped_keys() -> None:
    body = r'[{"caf\u00e9": [[1]], "q\"uote\\": [[0]], "\ud83d\ude00": [[1]]}]'
    [d] = parse_measurements(body)
    assert list(d) == ["café", 'q"uote\\', "\U0001f600"]


def test_arrays_are_writable_numpy_owned_and_independent() -> None:
    [d] = parse_measurements(b'[{"a": [[1],[0]], "b": [[1],[1]]}]')
    assert d.a.array.flags.writeable and d.a.array.flags.c_contiguous
    d.a.array[0, 0] = 0
    assert d.b.array[0, 0] == 1


def test_large_batch_parallel_path_matches_reference() -> None:
    # Above the 1 MiB threshold where keys are filled on several threads.
    rng = np.random.default_rng(7)
    batch = [
        {f"k{k}": rng.integers(0, 2, (3000, (5 * k + c) % 13 + 1)).tolist() for k in range(8)}
        for c in range(6)
    ]
    body = json.dumps(batch, separators=(",", ":")).encode()
    assert len(body) > 1 << 20
    check_against_reference(body, batch)


@pytest.mark.parametrize(("width", "spaced"), [(1, False), (9, True), (20, False), (65, True)])
def test_one_large_key_split_across_threads_matches_reference(width: int, spaced: bool) -> None:
    # One key of about 6 MB: its value is checked and filled in pieces on the thread pool.
    rng = np.random.default_rng(width)
    shots = 6_000_000 // ((3 if spaced else 2) * width + 2)
    bits = rng.integers(0, 2, (shots, width), dtype=np.uint8)
    sep = b", " if spaced else b","
    row = b"[" + sep.join([b"0"] * width) + b"]" + sep
    stride = len(sep) + 1
    buf = np.tile(np.frombuffer(row, dtype=np.uint8), shots).reshape(shots, len(row))
    buf[:, 1 : stride * width : stride] += bits
    body = b'[{"meas": [' + buf.tobytes()[: -len(sep)] + b"]}]"
    [d] = parse_measurements(body)
    np.testing.assert_array_equal(d.meas.array, pack_reference(bits))
    # One bad digit near the end: the error names the same place as a small body would.
    at = len(body) - 5
    assert body[at : at + 1] in (b"0", b"1")
    broken = body[:at] + b"2" + body[at + 1 :]
    with pytest.raises(
        ValueError,
        match=rf"at byte {at} \(circuit 0, key \"meas\", shot "
        rf"{shots - 1}, qubit {width - 1}\)",
    ):
        parse_measurements(broken)


def test_no_python_object_per_shot() -> None:
    # 400k shots: any per-shot Python object would show up in tracemalloc's peak; the packed
    # output lives in Rust-allocated buffers that tracemalloc does not see.
    shots = 400_000
    body = b'[{"m": [' + b",".join([b"[0,1]", b"[1,0]"] * (shots // 2)) + b"]}]"
    tracemalloc.start()
    try:
        [d] = parse_measurements(body)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert d.m.num_shots == shots
    assert peak < 64 * 1024, peak


# --- bad input: one test per kind --------------------------------------------------------------


def bad(body: str | bytes, *needles: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_measurements(body)
    msg = str(info.value)
    for needle in needles:
        assert needle in msg, msg


@pytest.mark.parametrize(
    ("value", "shown"),
    [("2", "2"), ("-1", "-1"), ("0.0", "0.0"), ("1e0", "1e0"), ("01", "01"), ("10", "10")],
)
def test_value_other_than_0_or_1(value: str, shown: str) -> None:
    bad(
        f'[{{"a": [[0]]}}, {{"m": [[0, 1], [1, {value}]]}}]',
        "circuit 1",
        'key "m"',
        "shot 1",
        "qubit 1",
        "at byte 34",
        f"the number {shown}",
    )


@pytest.mark.parametrize("value", ["true", "false"])
def test_bool_where_a_bit_belongs(value: str) -> None:
    bad(f'[{{"m": [[{value}]]}}]', "shot 0, qubit 0", "(a bool)", "at byte 9")


@pytest.mark.parametrize(
    ("value", "shown"), [("null", "null"), ('"1"', "a string"), ("{}", "an object")]
)
def test_non_integer_bit(value: str, shown: str) -> None:
    bad(f'[{{"m": [[{value}]]}}]', "expected 0 or 1", shown, "at byte 9")


def test_ragged_shot_shorter() -> None:
    bad('[{"m": [[0, 1], [1]]}]', "shot 1", "1 qubits but shot 0 has 2", "at byte 16")


def test_ragged_shot_longer() -> None:
    bad('[{"m": [[0], [1, 1]]}]', "shot 1, qubit 1", "more than 1 qubits", "at byte 17")


def test_key_not_a_string() -> None:
    bad("[{1: [[0]]}]", "circuit 0", "expected a string key", "the number 1", "at byte 2")


def test_duplicate_key() -> None:
    bad('[{"m": [[0]], "m": [[1]]}]', 'key "m"', "duplicate key", "at byte 14")


@pytest.mark.parametrize(
    ("body", "needle", "offset"),
    [
        ("", "the end of the body", 0),
        ("[", "the end of the body", 1),
        ('[{"m": [[0, 1], [1', "the end of the body", 18),
        ('[{"m": [[0]]}', "',' or ']' after a circuit", 13),
        ('[{"m', "unterminated string", 4),
        ('{"m": [[0]]}', "expected a list of circuits, got an object", 0),
        ('[{"m": [[0]]},]', "expected an object", 14),
        ('[{"m": [0, 1]}]', "a list of qubit values", 8),
        ('[{"m": [[0]]}] []', "the end of the body after the list", 15),
        ('[{"m" [[0]]}]', "':' after the key", 6),
        ('[{"m\\x": [[0]]}]', "invalid escape", 4),
        ('[{"\\ud800": [[0]]}]', "unpaired", 3),
        ('[[{"m": [[0]]}]]', "expected an object", 1),
    ],
)
def test_malformed_or_truncated_json(body: str, needle: str, offset: int) -> None:
    bad(body, needle, f"at byte {offset}")


def test_truncated_real_body_every_cut() -> None:
    body = json.dumps([{"a_2_0_0": [[0], [1]], "b": [[1, 0]]}]).encode()
    for cut in range(len(body)):
        with pytest.raises(ValueError, match="at byte"):
            parse_measurements(body[:cut])


def test_invalid_utf8_key() -> None:
    bad(b'[{"a\xff": [[0]]}]', "invalid UTF-8", "at byte 4")


def test_restricted_key_names() -> None:
    with pytest.raises(ValueError, match="circuit 1: 'shape' cannot be a DataBin field name"):
        parse_measurements(b'[{}, {"shape": [[1]]}]')


def test_zero_shot_key_mixed_with_others() -> None:
    [d] = parse_measurements(b'[{"a": [], "b": [[1, 0, 1]]}]')
    assert (d.a.num_shots, d.a.num_bits) == (0, 0)
    np.testing.assert_array_equal(d.b.array, [[5]])
