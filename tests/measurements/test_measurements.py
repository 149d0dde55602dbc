"""measurements_to_data_bin: nested lists -> DataBin, against NumPy and the JSON path."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from qiskit.primitives import BitArray as QiskitBitArray

from shotpack import BitArray, DataBin, measurements_to_data_bin, parse_measurements
from shotpack.containers.data_bin import _RESTRICTED_NAMES

WIDTHS = st.one_of(st.sampled_from([0, 1, 8, 9, 64, 65]), st.integers(0, 70))
SHOTS = st.one_of(st.sampled_from([0, 1, 2]), st.integers(0, 40))
KEYS = st.text(max_size=10).filter(lambda k: k not in _RESTRICTED_NAMES)


@st.composite
def circuits(draw: st.DrawFn) -> dict[str, list[list[int]]]:
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    keys = draw(st.lists(KEYS, max_size=4, unique=True))
    return {k: rng.integers(0, 2, (draw(SHOTS), draw(WIDTHS))).tolist() for k in keys}


@given(circuit=circuits())
def test_matches_numpy_and_the_json_path(circuit: dict[str, list[list[int]]]) -> None:
    got = measurements_to_data_bin(circuit)
    [via_json] = parse_measurements(json.dumps([circuit]))
    assert isinstance(got, DataBin) and got.shape == ()
    assert list(got) == list(circuit) == list(via_json)
    for key, shots in circuit.items():
        ba = got[key]
        assert isinstance(ba, BitArray)
        bits = np.array(shots, dtype=bool).reshape(len(shots), -1 if shots else 0)
        assert (ba.num_shots, ba.num_bits) == bits.shape
        np.testing.assert_array_equal(ba.array, via_json[key].array)
        assert ba.num_bits == via_json[key].num_bits
        if bits.shape[1]:
            ref = QiskitBitArray.from_bool_array(bits, order="little")
            np.testing.assert_array_equal(ba.array, ref.array)


def test_column_j_is_bit_j() -> None:
    d = measurements_to_data_bin({"m": [[1, 0, 0], [0, 0, 1]], "x": [[1] + [0] * 8 + [1]]})
    np.testing.assert_array_equal(d.m.array, [[1], [4]])
    np.testing.assert_array_equal(d.x.array, [[2, 1]])


def test_empty_inputs() -> None:
    assert len(measurements_to_data_bin({})) == 0
    d = measurements_to_data_bin({"m": []})
    assert (d.m.num_shots, d.m.num_bits) == (0, 0)


# --- bad input: one test per kind --------------------------------------------------------------


def test_not_a_mapping() -> None:
    with pytest.raises(TypeError, match="must be a mapping"):
        measurements_to_data_bin([[0, 1]])  # type: ignore[arg-type]


def test_key_not_a_string() -> None:
    with pytest.raises(TypeError, match=r"keys must be str, not int \(3\)"):
        measurements_to_data_bin({3: [[0]]})  # type: ignore[dict-item]


@pytest.mark.parametrize("value", [2, -1, 10])
def test_value_other_than_0_or_1(value: int) -> None:
    with pytest.raises(ValueError) as info:
        measurements_to_data_bin({"ok": [[1]], "m": [[0, 1], [1, value]]})
    msg = str(info.value)
    assert "key 'm'" in msg and "shot 1" in msg and "qubit 1" in msg, msg


def test_ragged_shot() -> None:
    with pytest.raises(ValueError) as info:
        measurements_to_data_bin({"m": [[0, 1], [1]]})
    msg = str(info.value)
    assert "key 'm'" in msg and "shot 1" in msg, msg


@pytest.mark.parametrize("value", [0.0, 1.0, "1", None])
def test_non_integer(value: object) -> None:
    with pytest.raises((TypeError, ValueError)) as info:
        measurements_to_data_bin({"m": [[0], [value]]})
    msg = str(info.value)
    assert "key 'm'" in msg and "shot 1" in msg and "qubit 0" in msg, msg


def test_bools_count_as_ints_in_python_lists() -> None:
    # Python bools are ints (pydantic's list[list[int]] accepts them too); JSON true/false is an
    # error in parse_measurements instead.
    d = measurements_to_data_bin({"m": [[False, True], [True, True]]})
    np.testing.assert_array_equal(d.m.array, [[2], [3]])


def test_too_deep_nesting() -> None:
    with pytest.raises(ValueError, match="key 'm': expected \\[shot\\]\\[qubit\\]"):
        measurements_to_data_bin({"m": [[[0]]]})


def test_too_shallow_nesting() -> None:
    with pytest.raises((TypeError, ValueError)) as info:
        measurements_to_data_bin({"m": [0, 1]})
    assert "key 'm'" in str(info.value)


def test_shot_not_a_list() -> None:
    with pytest.raises(TypeError) as info:
        measurements_to_data_bin({"m": [[0], 1]})
    assert "key 'm'" in str(info.value)


def test_reserved_key_name() -> None:
    with pytest.raises(ValueError, match="'keys' cannot be a DataBin field name"):
        measurements_to_data_bin({"keys": [[0]]})
