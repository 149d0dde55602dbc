"""Artifact encoders (NumPy-built JSON) against json.dumps and collections.Counter."""

from __future__ import annotations

import json
from collections import Counter

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from shotpack.server.artifacts import (
    circuit_counts,
    encode_counts,
    encode_measurements,
    encode_rows,
)
from shotpack.server.simulator import CircuitResult

_WIDTHS = st.sampled_from([0, 1, 2, 7, 8, 9, 63, 64, 65])


@st.composite
def bit_tables(draw) -> np.ndarray:
    shots = draw(st.sampled_from([0, 1, 2, 5, 37]))
    width = draw(_WIDTHS)
    seed = draw(st.integers(0, 2**32 - 1))
    return np.random.default_rng(seed).integers(0, 2, (shots, width), dtype=np.uint8)


@given(bits=bit_tables())
def test_encode_rows_matches_json_dumps(bits):
    body = encode_rows(bits)
    assert json.loads(body) == bits.tolist()


@st.composite
def circuit_results(draw) -> CircuitResult:
    shots = draw(st.sampled_from([0, 1, 3, 50]))
    widths = draw(st.lists(st.sampled_from([1, 2, 8, 9, 33]), max_size=4))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    keys = [f'key_{i}"/é' for i in range(len(widths))]  # keys needing JSON escapes
    bits = {
        k: rng.integers(0, 2, (shots, w), dtype=np.uint8) for k, w in zip(keys, widths, strict=True)
    }
    return CircuitResult(keys=keys, bits=bits, shots=shots)


@given(results=st.lists(circuit_results(), max_size=3))
def test_measurements_body_matches_json_dumps(results):
    expected = [{k: r.bits[k].tolist() for k in r.keys} for r in results]
    parsed = json.loads(encode_measurements(results))
    assert parsed == expected
    # Key order inside each circuit is instruction order.
    assert [list(d) for d in parsed] == [r.keys for r in results]


@given(results=st.lists(circuit_results(), max_size=3))
def test_counts_body_matches_counter(results):
    parsed = json.loads(encode_counts(results))
    for entry, r in zip(parsed, results, strict=True):
        assert entry["measurement_keys"] == r.keys
        if not r.keys:
            assert entry["counts"] == ({"": r.shots} if r.shots else {})
            continue
        rows = zip(*(r.bits[k].tolist() for k in r.keys), strict=True)
        expected = Counter("".join("".join(map(str, part)) for part in row) for row in rows)
        assert entry["counts"] == dict(expected)


def test_counts_bit_order_is_key_order_then_locus_order():
    r = CircuitResult(
        keys=["b", "a"],
        bits={"b": np.array([[1, 0]], dtype=np.uint8), "a": np.array([[0]], dtype=np.uint8)},
        shots=1,
    )
    assert circuit_counts(r) == {"100": 1}
