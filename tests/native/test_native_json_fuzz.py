"""A fixed-budget fuzz of the native measurements-JSON parser, both ``registers`` modes.

Bodies are generated (random circuits, keys, shots and spellings) or valid bodies with byte edits;
the oracle is ``scripts/fuzz.py``'s, built on ``json.loads``: a body parses exactly when it is a
valid measurements document (and, with ``registers=True``, valid Qiskit-on-IQM registers within
the output cap), and then every packed array equals the oracle's, here also checked with NumPy.
``python scripts/fuzz.py`` runs the same checks for as long as wanted.
"""

from __future__ import annotations

import importlib.util
import json
import random
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from shotpack import _native


def load_fuzz() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "scripts" / "fuzz.py"
    spec = importlib.util.spec_from_file_location("shotpack_fuzz_script", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


fuzz = load_fuzz()

EDITS = st.lists(
    st.tuples(
        st.sampled_from(["replace", "insert", "delete", "truncate"]),
        st.floats(0, 1, exclude_max=True),
        st.sampled_from(list(fuzz.EDIT_BYTES)),
    ),
    min_size=1,
    max_size=3,
)


def numpy_pack(shots: list[list[int]], width: int) -> bytes:
    """Column j -> bit j, Qiskit's big-endian rows, with NumPy."""
    if width == 0:
        return b""
    nbytes = (width + 7) // 8
    bits = np.asarray(shots, dtype=bool).reshape(len(shots), width)
    padded = np.zeros((len(shots), nbytes * 8), dtype=bool)
    padded[:, nbytes * 8 - width :] = bits[:, ::-1]
    return np.packbits(padded, axis=1).tobytes()


def check_body(body: bytes) -> None:
    problem = fuzz.check(body)
    assert problem is None, f"{problem}\nbody: {body!r}"
    batch = fuzz.strict_loads(body)
    if batch is None:
        return
    # The oracle's own packing agrees with NumPy's.
    for circuit, fields in zip(batch, _native.parse_measurements_json(body), strict=True):
        for (key, shots), (name, arr, bits) in zip(circuit.items(), fields, strict=True):
            assert name == key
            assert arr.tobytes() == numpy_pack(shots, bits)


@settings(max_examples=300)
@given(seed=st.integers(0, 2**63 - 1))
def test_generated_bodies(seed: int) -> None:
    rnd = random.Random(seed)
    check_body(fuzz.spell(fuzz.generate(rnd), rnd).encode())


@settings(max_examples=300)
@given(seed=st.integers(0, 2**63 - 1), edits=EDITS)
def test_edited_bodies(seed: int, edits: list[tuple[str, float, int]]) -> None:
    rnd = random.Random(seed)
    body = bytearray(fuzz.spell(fuzz.generate(rnd), rnd).encode())
    for op, where, byte in edits:
        at = int(where * (len(body) + 1))
        if op == "replace" and at < len(body):
            body[at] = byte
        elif op == "insert":
            body.insert(at, byte)
        elif op == "delete" and at < len(body):
            del body[at]
        elif op == "truncate":
            del body[at:]
    check_body(bytes(body))


@settings(max_examples=200)
@given(data=st.binary(max_size=40))
def test_arbitrary_bytes(data: bytes) -> None:
    check_body(data)


@settings(max_examples=100)
@given(
    shots=st.integers(0, 6),
    registers=st.lists(
        st.tuples(st.sampled_from(["c", "m", "a_b", ""]), st.integers(1, 20)),
        min_size=1,
        max_size=3,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_register_bodies(shots: int, registers: list[tuple[str, int]], seed: int) -> None:
    rng = np.random.default_rng(seed)
    circuit = {}
    for idx, (name, length) in enumerate(registers):
        for clbit in rng.choice(length, size=min(length, 3), replace=False):
            circuit[f"{name}_{length}_{idx}_{clbit}"] = rng.integers(0, 2, (shots, 1)).tolist()
    check_body(json.dumps([circuit]).encode())


def test_the_script_runs_end_to_end() -> None:
    # The driver (worker subprocess, crash and hang detection) over a few thousand inputs.
    import subprocess

    script = Path(fuzz.__file__)
    proc = subprocess.run(
        [sys.executable, str(script), "--inputs", "3000", "--seed", "11"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "inputs 3000, crashes 0, hangs 0, disagreements 0" in proc.stdout
