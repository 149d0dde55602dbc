"""registers=True: Qiskit-on-IQM keys grouped into one BitArray per classical register.

The reference is what a Qiskit sampler reports for the same circuit: for each classical register,
in circuit order, the bits of its clbits (clbit j of the register is bit j), unmeasured clbits 0.
The keys are made from real Qiskit circuits with Qiskit-on-IQM's convention
``f"{creg.name}_{len(creg)}_{creg_idx}_{clbit_idx}"``.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.primitives import BitArray as QiskitBitArray

from shotpack import DataBin, measurements_to_data_bin, parse_measurements

NAMES = st.from_regex(r"[a-z][a-z0-9_]{0,6}", fullmatch=True).filter(
    # "q" is the quantum register of the generated circuits.
    lambda n: n not in {"keys", "values", "items", "shape", "ndim", "size", "q"}
)


def both_paths(circuit: dict[str, list[list[int]]]) -> list[DataBin]:
    """The same circuit through the JSON parser and through the nested-list path."""
    [from_json] = parse_measurements(json.dumps([circuit]).encode(), registers=True)
    from_lists = measurements_to_data_bin(circuit, registers=True)
    return [from_json, from_lists]


@st.composite
def qiskit_circuits(draw: st.DrawFn) -> tuple[QuantumCircuit, dict[str, list[list[int]]], dict]:
    sizes = draw(st.lists(st.sampled_from([1, 2, 3, 8, 9, 64, 65]), min_size=1, max_size=3))
    names = draw(st.lists(NAMES, min_size=len(sizes), max_size=len(sizes), unique=True))
    cregs = [ClassicalRegister(n, name) for n, name in zip(sizes, names, strict=True)]
    qc = QuantumCircuit(QuantumRegister(1, "q"), *cregs)
    shots = draw(st.sampled_from([0, 1, 3, 17]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    measured = draw(
        st.lists(st.integers(0, qc.num_clbits - 1), unique=True, min_size=1, max_size=40)
    )
    clbit_values = np.zeros((shots, qc.num_clbits), dtype=np.uint8)
    keys: dict[str, list[list[int]]] = {}
    for index in measured:
        clbit = qc.clbits[index]
        qc.measure(0, clbit)
        loc = qc.find_bit(clbit)
        creg, clbit_idx = loc.registers[0]
        key = f"{creg.name}_{len(creg)}_{qc.cregs.index(creg)}_{clbit_idx}"
        column = rng.integers(0, 2, shots, dtype=np.uint8)
        clbit_values[:, index] = column
        keys[key] = column.reshape(shots, 1).tolist()
    return qc, keys, {"values": clbit_values, "shots": shots}


def qiskit_reference(qc: QuantumCircuit, values: np.ndarray) -> dict[str, QiskitBitArray]:
    """One Qiskit BitArray per register that has a measured clbit, in circuit order."""
    measured_cregs = {
        qc.find_bit(instr.clbits[0]).registers[0][0].name
        for instr in qc.data
        if instr.operation.name == "measure"
    }
    out = {}
    for creg in qc.cregs:
        if creg.name not in measured_cregs:
            continue
        cols = [qc.find_bit(b).index for b in creg]
        out[creg.name] = QiskitBitArray.from_bool_array(values[:, cols].astype(bool), "little")
    return out


@given(case=qiskit_circuits())
def test_registers_match_qiskit(case: tuple) -> None:
    qc, keys, extra = case
    expected = qiskit_reference(qc, extra["values"])
    for got in both_paths(keys):
        assert list(got) == list(expected)
        for name, ref in expected.items():
            ours = got[name]
            assert (ours.num_shots, ours.num_bits) == (extra["shots"], ref.num_bits)
            np.testing.assert_array_equal(ours.array, ref.array)
            assert QiskitBitArray(ours.array, ours.num_bits).get_counts() == ref.get_counts()


def test_iqm_documented_examples() -> None:
    # The examples of Qiskit-on-IQM's result formatting, as per-register bitstrings.
    for got in both_paths({"bb_2_1_1": [[0], [1], [1]], "a_1_0_0": [[1], [1], [0]]}):
        assert list(got) == ["a", "bb"]
        assert QiskitBitArray(got.a.array, 1).get_bitstrings() == ["1", "1", "0"]
        assert QiskitBitArray(got.bb.array, 2).get_bitstrings() == ["00", "10", "10"]
    for got in both_paths({"c_3_0_0": [[1], [0]], "c_3_0_2": [[1], [1]]}):
        assert QiskitBitArray(got.c.array, 3).get_bitstrings() == ["101", "100"]


def test_register_names_with_underscores() -> None:
    for got in both_paths({"my_reg_2_0_1": [[1]], "my_reg_2_0_0": [[0]], "x_1_1_1_1_0": [[1]]}):
        assert list(got) == ["my_reg", "x_1_1"]
        np.testing.assert_array_equal(got.my_reg.array, [[2]])
        assert got["x_1_1"].num_bits == 1


def test_empty_and_zero_shots() -> None:
    for got in both_paths({}):
        assert len(got) == 0
    for got in both_paths({"c_5_0_3": [], "c_5_0_0": []}):
        assert (got.c.num_shots, got.c.num_bits, got.c.array.shape) == (0, 5, (0, 1))


def test_registers_may_differ_in_shot_count() -> None:
    for got in both_paths({"a_1_0_0": [[1]], "b_1_1_0": [[1], [0]]}):
        assert (got.a.num_shots, got.b.num_shots) == (1, 2)


# --- bad input ---------------------------------------------------------------------------------


def both_raise(circuit: dict, exc: type[Exception], *needles: str) -> None:
    body = json.dumps([{}, circuit]).encode()
    with pytest.raises(exc) as info:
        parse_measurements(body, registers=True)
    assert "circuit 1" in str(info.value), info.value
    messages = [str(info.value)]
    with pytest.raises(exc) as info:
        measurements_to_data_bin(circuit, registers=True)
    messages.append(str(info.value))
    for msg in messages:
        for needle in needles:
            assert needle in msg, msg


def test_key_not_matching_the_convention() -> None:
    both_raise({"m": [[1]]}, ValueError, '"m"', "not a Qiskit-on-IQM measurement key")
    both_raise({"c_1_0": [[1]]}, ValueError, '"c_1_0"')


def test_clbit_out_of_range() -> None:
    both_raise({"c_2_0_2": [[1]]}, ValueError, '"c_2_0_2"', "out of range")


def test_key_measuring_several_qubits() -> None:
    both_raise({"c_2_0_0": [[1, 0]]}, ValueError, '"c_2_0_0"', "2 qubits")


def test_keys_of_one_register_with_different_shot_counts() -> None:
    both_raise(
        {"c_2_0_0": [[1], [0]], "c_2_0_1": [[1]]},
        ValueError,
        '"c_2_0_0"',
        '"c_2_0_1"',
        "different shot counts (2 and 1)",
    )


def test_keys_disagreeing_on_the_register() -> None:
    both_raise({"c_2_0_0": [[1]], "d_2_0_1": [[1]]}, ValueError, "disagree")
    both_raise({"c_2_0_0": [[1]], "c_3_0_1": [[1]]}, ValueError, "disagree")


def test_same_clbit_twice() -> None:
    both_raise({"c_2_0_1": [[1]], "c_2_0_01": [[1]]}, ValueError, "both measure clbit 1")


def test_two_registers_with_one_name() -> None:
    both_raise({"c_1_0_0": [[1]], "c_1_1_0": [[1]]}, ValueError, "both named")


def test_absurd_register_length() -> None:
    # The width comes from the key's text alone; it must not be able to exhaust memory.
    both_raise({"c_80000000000_0_0": [[1]]}, ValueError, "exceeds the supported 1048576 bits")


def test_reserved_register_name() -> None:
    both_raise({"shape_1_0_0": [[1]]}, ValueError, "'shape' cannot be a DataBin field name")
