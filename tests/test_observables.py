"""PauliSum and ObservablesArray: construction, algebra, Qiskit conversion and coercion rules."""

from __future__ import annotations

import numpy as np
import pytest
from qiskit.primitives.containers import ObservablesArray as QObservablesArray
from qiskit.quantum_info import Pauli, PauliList, SparseObservable, SparsePauliOp

from shotpack.observables import ObservablesArray, PauliSum, term_masks


def test_construction_forms_agree():
    a = PauliSum({"ZZ": 0.5, "XX": 0.5})
    assert a == PauliSum([("ZZ", 0.5), ("XX", 0.5)]) == {"ZZ": 0.5, "XX": 0.5}
    assert PauliSum("XY") == {"XY": 1.0}
    assert PauliSum(a) == a and a.num_qubits == 2 and len(a) == 2
    assert PauliSum([("ZZ", 1.0), ("ZZ", 2.0)]) == {"ZZ": 3.0}  # duplicates merge
    assert list(PauliSum([("XI", 1), ("ZI", 1), ("XI", 1)])) == ["XI", "ZI"]


def test_algebra_and_simplify():
    h = PauliSum({"ZZ": 0.5}) + {"XX": 0.5} - PauliSum("ZZ") * 0.5
    assert h == {"ZZ": 0.0, "XX": 0.5}
    assert h.simplify() == {"XX": 0.5}
    assert (2 * h)["XX"] == 1.0 and (-h)["XX"] == -0.5 and (h / 2)["XX"] == 0.25
    assert sum([PauliSum("ZI"), PauliSum("IZ")]) == {"ZI": 1.0, "IZ": 1.0}
    with pytest.raises(ValueError, match="qubits"):
        PauliSum("Z") + PauliSum("ZZ")
    with pytest.raises(TypeError):
        PauliSum("Z") * 1j  # type: ignore[operator]


def test_is_diagonal_and_repr():
    assert PauliSum({"Z0": 1, "1I": 2}).is_diagonal
    assert not PauliSum("XZ").is_diagonal
    assert repr(PauliSum({"ZZ": 0.5})) == "PauliSum({'ZZ': 0.5}, num_qubits=2)"


@pytest.mark.parametrize(
    ("data", "exc"),
    [
        ("zz", ValueError),
        ("ZQ", ValueError),
        ({"Z": 1, "ZZ": 1}, ValueError),
        ({"Z": 1j}, ValueError),
        ([("Z", 1), "Z"], TypeError),
        ({"Z": "a"}, TypeError),
        (3, TypeError),
    ],
)
def test_bad_input(data, exc):
    with pytest.raises(exc):
        PauliSum(data)


def test_empty_needs_num_qubits():
    assert len(PauliSum({}, num_qubits=3)) == 0
    with pytest.raises(ValueError):
        PauliSum({})


def test_qiskit_round_trip():
    spo = SparsePauliOp(["XZ", "YY", "XZ"], [0.5, -1.0, 0.25])
    ps = PauliSum.from_qiskit(spo)
    assert ps == {"XZ": 0.75, "YY": -1.0}
    assert PauliSum(Pauli("-IZ")) == {"IZ": -1.0}
    obs = SparseObservable.from_list([("+r01", 2.0)])
    assert PauliSum(obs) == {"+r01": 2.0}
    back = ps.to_qiskit()
    assert back == SparseObservable.from_sparse_pauli_op(spo.simplify())
    with pytest.raises(ValueError, match="Non-Hermitian"):
        PauliSum(Pauli("iZ"))


def _as_dicts(arr) -> list:
    return [dict(x) for x in np.asarray(arr).reshape(-1)]


@pytest.mark.parametrize(
    "obs",
    [
        "XZ",
        {"XZ": 1.0, "ZZ": -0.5},
        ["XZ", "ZZ", "YI"],
        [["XZ"], ["ZZ"]],
        np.array([["XX", "YY"], ["ZZ", "II"]]),
        SparsePauliOp(["XX", "ZZ"], [0.5, 0.5]),
        [SparsePauliOp("XX"), Pauli("ZZ"), SparseObservable("01")],
        PauliList(["XX", "ZZ", "YZ"]),
        [],
        [[Pauli("-XY")], [{"ZZ": 1.0, "ZZ ".strip(): 1.0}]],
    ],
)
def test_shapes_and_values_match_qiskit(obs):
    ours = ObservablesArray(obs)
    theirs = QObservablesArray(obs)
    assert ours.shape == theirs.shape
    assert ours.num_qubits == theirs.num_qubits
    for a, b in zip(_as_dicts(ours), _as_dicts(theirs), strict=True):
        assert a.keys() == b.keys()
        for k in a:
            assert abs(a[k] - b[k]) < 1e-12


@pytest.mark.parametrize(
    ("obs", "exc"),
    [
        (("ZZ", 1.0), TypeError),
        ([["ZZ"], ["ZZ", "XX"]], ValueError),
        (["ZZ", "Z"], ValueError),
        ({"ZZ": 1e-10}, ValueError),
        (3, TypeError),
        ({3: 1.0}, TypeError),
    ],
)
def test_errors_match_qiskit(obs, exc):
    with pytest.raises(exc):
        ObservablesArray(obs)
    with pytest.raises(exc):
        QObservablesArray(obs)


def test_pair_list_extension_is_one_observable():
    arr = ObservablesArray([("ZZ", 0.5), ("XX", 0.5)])
    assert arr.shape == () and dict(arr[()]) == {"ZZ": 0.5, "XX": 0.5}
    assert ObservablesArray([[("ZZ", 1.0)], [("XX", 1.0)]]).shape == (2,)


def test_array_api():
    arr = ObservablesArray([["ZZ", "XX", "YY"], ["ZI", "IZ", "II"]])
    assert arr.shape == (2, 3) and arr.ndim == 2 and arr.size == 6 and len(arr) == 2
    assert arr[1, 0] == {"ZI": 1.0}
    assert arr[0].shape == (3,)
    assert arr.reshape(3, 2).shape == (3, 2) and arr.reshape(-1).shape == (6,)
    assert arr.ravel().shape == (6,)
    assert arr.tolist()[0][1] == {"XX": 1.0}
    assert ObservablesArray.coerce(arr) is arr
    assert arr.equivalent([["ZZ", "XX", "YY"], ["ZI", "IZ", "II"]])
    assert not arr.equivalent([["ZZ", "XX", "YY"], ["ZI", "IZ", "IZ"]])
    assert "ObservablesArray(" in repr(arr) and "shape=(2, 3)" in repr(arr)
    with pytest.raises(ValueError):
        np.asarray(arr, dtype=float)
    with pytest.raises(ValueError, match="same for all"):
        ObservablesArray(["ZZ"], num_qubits=3)


def test_term_masks_bit_order():
    m = term_masks(["XYZ", "01+", "I-l"], 3)
    # Rightmost character is qubit 0.
    assert m.pauli[0, 0] == 0b111 and m.x[0, 0] == 0b110 and m.z[0, 0] == 0b011
    assert m.proj[1, 0] == 0b111 and m.value[1, 0] == 0b010
    assert m.value[2, 0] == 0b011 and m.x[2, 0] == 0b011 and m.z[2, 0] == 0b001
    wide = term_masks(["Z" + "I" * 64, "I" * 64 + "Z"], 65)
    assert wide.pauli.shape == (2, 2)
    assert wide.pauli[0, 1] == 1 and wide.pauli[0, 0] == 0 and wide.pauli[1, 0] == 1
