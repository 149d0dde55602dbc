"""Qiskit memory strings and counts from packed registers (Rust), against iqm-client's formatter
and a plain-Python reference."""

from __future__ import annotations

import importlib
import os
import sys
import types
from collections import Counter

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shotpack import _native
from shotpack.containers.bit_array import BitArray
from shotpack.containers.data_bin import DataBin
from shotpack.iqm.result import ExperimentResult
from shotpack.measurements.parse import measurements_to_data_bin
from shotpack.measurements.registers import MeasurementKey, complete_registers


def iqm_job_class():
    """iqm-client's qiskit IQMJob, imported without the package __init__ (it needs qiskit_aer)."""
    import iqm

    if "iqm.qiskit_iqm" not in sys.modules:
        try:
            importlib.import_module("iqm.qiskit_iqm")
        except ImportError:
            stub = types.ModuleType("iqm.qiskit_iqm")
            # iqm is a namespace package; tests/iqm/ is one of its portions under pytest.
            stub.__path__ = [os.path.join(p, "qiskit_iqm") for p in iqm.__path__]
            sys.modules["iqm.qiskit_iqm"] = stub
    return importlib.import_module("iqm.qiskit_iqm.iqm_job").IQMJob


def reference_memory(regs: list[np.ndarray]) -> list[str]:
    """Plain Python: each register [shot][clbit]; highest register first, highest clbit first."""
    shots = regs[0].shape[0] if regs else 0
    return [
        " ".join("".join(str(b) for b in r[s][::-1]) for r in reversed(regs)) for s in range(shots)
    ]


def pack(bits: np.ndarray) -> np.ndarray:
    """[shot][bit] (bit j = column j) -> Qiskit packed rows, with the reference packer."""
    n = bits.shape[1]
    nbytes = (n + 7) // 8
    padded = np.zeros((bits.shape[0], nbytes * 8), dtype=np.uint8)
    padded[:, nbytes * 8 - n :] = bits[:, ::-1]
    return np.packbits(padded, axis=1, bitorder="big")


def experiment(regs: list[np.ndarray]) -> ExperimentResult:
    shots = regs[0].shape[0] if regs else 0
    return ExperimentResult(
        name="c",
        shots=shots,
        registers=[(f"r{i}", BitArray(pack(r), r.shape[1])) for i, r in enumerate(regs)],
    )


@st.composite
def register_sets(draw):
    sizes = draw(
        st.lists(st.sampled_from([0, 1, 2, 7, 8, 9, 15, 33, 64, 65]), min_size=1, max_size=4)
    )
    shots = draw(st.integers(0, 40))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    p = draw(st.sampled_from([0.0, 0.1, 0.5]))
    return [(rng.random((shots, n)) < p).astype(np.uint8) for n in sizes]


@given(register_sets())
def test_memory_and_counts_match_reference(regs):
    exp = experiment(regs)
    want = reference_memory(regs)
    assert exp.memory() == want
    counts = exp.counts()
    assert list(counts.items()) == list(Counter(want).items())  # first-occurrence order


@given(register_sets(), st.integers(0, 255))
def test_padding_garbage_is_ignored(regs, garbage):
    exp = experiment(regs)
    for _, ba in exp.registers:
        if ba.num_bits % 8 and ba.array.size:
            ba.array[:, 0] |= np.uint8(garbage) & np.uint8(~((1 << (ba.num_bits % 8)) - 1) & 0xFF)
    assert exp.memory() == reference_memory(regs)
    assert list(exp.counts()) == list(Counter(reference_memory(regs)))


@st.composite
def qiskit_keyed(draw):
    """Measurements of a Qiskit circuit: registers, with a random subset of clbits measured."""
    nregs = draw(st.integers(1, 4))
    shots = draw(st.integers(1, 30))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    meas: dict[str, list[list[int]]] = {}
    entries = []
    for idx in range(nregs):
        size = draw(st.integers(1, 10))
        name = draw(st.sampled_from(["c", "meas", "a_b", "r"])) + str(idx)
        entries.append((name, size))
        for bit in range(size):
            if draw(st.booleans()) or bit == 0:
                meas[f"{name}_{size}_{idx}_{bit}"] = rng.integers(0, 2, (shots, 1)).tolist()
    keys = list(meas)
    order = draw(st.permutations(keys))
    return {k: meas[k] for k in order}, shots


@given(qiskit_keyed())
def test_matches_iqm_client_formatter(case):
    meas, shots = case
    IQMJob = iqm_job_class()
    want = IQMJob._iqm_format_measurement_results(meas, shots)
    bits = measurements_to_data_bin(meas, registers=True)
    exp = ExperimentResult(name="c", shots=shots, registers=list(bits.items()))
    assert exp.memory() == want
    assert list(exp.counts().items()) == list(Counter(want).items())


def test_protocol_examples():
    for meas, want in [
        ({"bb_2_1_1": [[0], [1], [1]], "a_1_0_0": [[1], [1], [0]]}, ["00 1", "10 1", "10 0"]),
        ({"c_3_0_0": [[1], [0]], "c_3_0_2": [[1], [1]]}, ["101", "100"]),
        ({"c_1_0_0": [[1]], "b_1_1_0": [[0]], "d_1_2_0": [[1]]}, ["1 0 1"]),
    ]:
        bits = measurements_to_data_bin(meas, registers=True)
        exp = ExperimentResult(name="c", shots=len(want), registers=list(bits.items()))
        assert exp.memory() == want


def test_never_measured_register_is_zeros():
    # Registers c0 (2 bits, measured) and d1 (3 bits, never measured) and e2 (1 bit, measured).
    meas = {"c0_2_0_1": [[1], [0]], "e2_1_2_0": [[1], [1]]}
    bits = measurements_to_data_bin(meas, registers=True)
    regs = complete_registers(bits, [["c0", 2], ["d1", 3], ["e2", 1]], 2, "")
    exp = ExperimentResult(name="c", shots=2, registers=regs)
    assert exp.memory() == ["1 000 10", "1 000 00"]
    # iqm-client leaves the unmeasured register out entirely (the upstream bug).
    assert iqm_job_class()._iqm_format_measurement_results(meas, 2) == ["1 10", "1 00"]


def test_complete_registers_errors():
    from shotpack.iqm.errors import CircuitExecutionError

    bits = measurements_to_data_bin({"c_2_0_1": [[1]]}, registers=True)
    with pytest.raises(CircuitExecutionError, match="2 bits in the results but 3"):
        complete_registers(bits, [["c", 3]], 1, "")
    with pytest.raises(CircuitExecutionError, match="does not declare"):
        complete_registers(bits, [["d", 2]], 1, "")


def test_no_measurements_give_empty_results():
    exp = ExperimentResult(name="c", shots=5, registers=[])
    assert exp.memory() == [] and exp.counts() == {}
    assert dict(exp.data_bin().items()) == {}
    regs = complete_registers(DataBin(), [["c", 2]], 3, "")
    assert ExperimentResult(name="c", shots=3, registers=regs).memory() == ["00"] * 3


def test_native_errors():
    a = np.zeros((3, 2), dtype=np.uint8)
    with pytest.raises(ValueError, match="register 0"):
        _native.qiskit_memory([(a, 9)], 4)
    with pytest.raises(ValueError, match="register 0"):
        _native.qiskit_counts([(a, 3)], 3)
    with pytest.raises(TypeError):
        _native.qiskit_memory([(a.astype(np.int64), 9)], 3)
    # Non-contiguous input is read correctly.
    wide = np.zeros((3, 4), dtype=np.uint8)
    wide[:, 1] = [1, 0, 1]
    assert _native.qiskit_memory([(wide[:, 1:2], 1)], 3) == ["1", "0", "1"]


def test_measurement_key():
    k = MeasurementKey.from_string("a_b_3_2_1")
    assert (k.creg_name, k.creg_len, k.creg_idx, k.clbit_idx) == ("a_b", 3, 2, 1)
    assert str(k) == "a_b_3_2_1"
    with pytest.raises(ValueError, match="not of the form"):
        MeasurementKey.from_string("m")
