"""PauliSum and ObservablesArray: construction, algebra, Qiskit conversion and coercion rules."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from qiskit.primitives.containers import ObservablesArray as QObservablesArray
from qiskit.quantum_info import Pauli, PauliList, SparseObservable, SparsePauliOp

from shotpack.containers.observables_array import ObservablesArray
from shotpack.expval.term_masks import term_masks
from shotpack.quantum_info.pauli_sum import PauliSum
from shotpack.quantum_info.term_table import term_table


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


# ---- NaN coefficients and NumPy scalars ----------------------------------------------------


def test_nan_coefficient_is_kept_like_qiskit():
    nan = float("nan")
    assert np.isnan(PauliSum({"XZ": nan}).simplify()["XZ"])
    ours, theirs = ObservablesArray({"ZZ": nan, "IZ": 1.0}), QObservablesArray({"ZZ": nan})
    assert np.isnan(ours[()]["ZZ"]) and ours[()]["IZ"] == 1.0
    assert np.isnan(theirs[()]["ZZ"])
    # A lone NaN term is not an "empty observable".
    assert list(ObservablesArray({"ZZ": nan})[()]) == ["ZZ"]
    # Small terms are still dropped next to it, and a complex NaN is still rejected.
    assert list(ObservablesArray({"ZZ": nan, "XX": 1e-12})[()]) == ["ZZ"]
    with pytest.raises(ValueError, match="Non-Hermitian"):
        ObservablesArray({"ZZ": complex(nan, 1.0)})


@pytest.mark.parametrize("scalar", [np.float64(2.0), np.float32(2.0), np.int64(2), np.int8(2)])
def test_numpy_scalar_times_pauli_sum(scalar):
    # NumPy used to treat the Mapping as an array operand and fail inside the ufunc.
    assert scalar * PauliSum({"XZ": 1.5}) == {"XZ": 3.0}
    assert PauliSum({"XZ": 1.5}) * scalar == {"XZ": 3.0}
    assert isinstance(scalar * PauliSum("XZ"), PauliSum)


def test_numpy_array_times_pauli_sum_is_a_type_error():
    with pytest.raises(TypeError):
        np.array([1.0, 2.0]) * PauliSum("XZ")
    with pytest.raises(TypeError):
        np.float64(2.0) + PauliSum("XZ")


# ---- term_table ------------------------------------------------------------------------------


def test_term_table_rebuilds_every_observable():
    obs = [PauliSum({"ZZ": 2.0, "XI": -1.0}), PauliSum("ZZ"), PauliSum({"IX": 0.5, "XI": 3.0})]
    labels, ptr, entries, coeffs = term_table(obs)
    assert labels == ["ZZ", "XI", "IX"]
    assert ptr.dtype == entries.dtype == np.int64 and coeffs.dtype == np.float64
    for i, o in enumerate(obs):
        rows = range(ptr[i], ptr[i + 1])
        assert {labels[entries[k]]: coeffs[k] for k in rows} == dict(o)
    empty = term_table([])
    assert empty[0] == [] and empty[1].tolist() == [0] and empty[2].size == empty[3].size == 0


# ---- apply_layout, slice, sparse_observables_array (against Qiskit) ---------------------------


def _same(ours: ObservablesArray, theirs: QObservablesArray) -> None:
    assert ours.shape == theirs.shape
    if ours.size:  # Qiskit reports 0 qubits for any empty array
        assert ours.num_qubits == theirs.num_qubits
    for a, b in zip(_as_dicts(ours), _as_dicts(theirs), strict=True):
        assert a == pytest.approx(b)


def test_apply_layout_worked_example():
    out = ObservablesArray(["XZ"]).apply_layout([2, 0], 3)
    assert out.tolist() == [{"ZIX": 1.0}] and out.num_qubits == 3
    assert PauliSum("XZ").apply_layout([2, 0], 3) == {"ZIX": 1.0}


@given(st.data())
def test_apply_layout_matches_qiskit(data):
    n = data.draw(st.integers(0, 5), label="n")
    width = data.draw(st.integers(n, 7), label="width")
    shape = data.draw(st.lists(st.integers(0, 3), max_size=2).map(tuple), label="shape")
    letters = st.sampled_from("IXYZ01+-rl")
    term = st.lists(letters, min_size=n, max_size=n).map("".join)
    coeff = st.floats(-2, 2).filter(lambda c: abs(c) > 1e-6)
    element = st.dictionaries(term, coeff, min_size=1, max_size=4)
    size = int(np.prod(shape))
    elements = data.draw(st.lists(element, min_size=size, max_size=size), label="obs")
    arr = np.empty(size, dtype=object)
    arr[:] = elements
    arr = arr.reshape(shape)
    num_qubits = data.draw(st.sampled_from([None, width]), label="num_qubits")
    out_width = n if num_qubits is None else width
    perm = data.draw(st.permutations(range(out_width)), label="perm")
    # Qiskit accepts (and ignores) entries beyond the observables' qubits.
    extra = data.draw(st.integers(0, out_width - n), label="extra")
    layout = list(perm[: n + extra])
    ours = ObservablesArray(arr).apply_layout(layout, num_qubits)
    theirs = QObservablesArray(arr).apply_layout(layout, num_qubits)
    _same(ours, theirs)
    _same(
        ObservablesArray(arr).apply_layout(None, num_qubits),
        QObservablesArray(arr).apply_layout(None, num_qubits),
    )


def test_apply_layout_with_a_transpile_layout_matches_qiskit():
    from qiskit import QuantumCircuit, transpile
    from qiskit.transpiler import CouplingMap

    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(0, 2)
    qc.cx(1, 2)
    isa = transpile(
        qc,
        coupling_map=CouplingMap.from_line(5),
        basis_gates=["cx", "rz", "sx", "x"],
        initial_layout=[3, 1, 4],
        seed_transpiler=1,
    )
    # Routing moved qubits, so the final layout differs from the initial one.
    assert isa.layout.final_index_layout() != isa.layout.initial_index_layout()[:3]
    obs = [["XYZ", "ZII"], [{"IXX": 0.5, "+-l": 2.0}, "III"]]
    _same(
        ObservablesArray(obs).apply_layout(isa.layout),
        QObservablesArray(obs).apply_layout(isa.layout),
    )
    # Documented difference: shotpack honours num_qubits (as SparsePauliOp does), Qiskit's
    # ObservablesArray ignores it with a TranspileLayout.
    wide = ObservablesArray(obs).apply_layout(isa.layout, 7)
    assert wide.num_qubits == 7 and wide[0, 0] == {"IIZXYII": 1.0}
    with pytest.raises(ValueError, match="smaller than the 5 qubits"):
        ObservablesArray(obs).apply_layout(isa.layout, 4)


@pytest.mark.parametrize(
    ("layout", "num_qubits", "exc", "match"),
    [
        ([2, 0], None, ValueError, "entry 0 is 2, outside the 2 qubits"),
        ([0, 0], 3, ValueError, "several qubits to qubit 0"),
        ([0, 3], 3, ValueError, "entry 1 is 3"),
        ([0], None, ValueError, "1 entries but the observables act on 2 qubits"),
        ([0, 1], 1, ValueError, "cannot shrink observables on 2 qubits"),
        (None, 1, ValueError, "cannot shrink"),
        ([1.0, 0], None, TypeError, "entry 0 must be an int"),
        ("ab", None, TypeError, "list of ints"),
        ([1, 0], 2.0, TypeError, "num_qubits must be an integer"),
    ],
)
def test_apply_layout_errors_match_qiskit(layout, num_qubits, exc, match):
    with pytest.raises(exc, match=match):
        ObservablesArray(["XZ"]).apply_layout(layout, num_qubits)
    with pytest.raises(exc):
        QObservablesArray(["XZ"]).apply_layout(layout, num_qubits)


def test_apply_layout_negative_entry_is_a_value_error():
    # Qiskit raises OverflowError from its Rust conversion; shotpack a ValueError naming it.
    with pytest.raises(ValueError, match="entry 0 is -1"):
        ObservablesArray(["XZ"]).apply_layout([-1, 0], 3)
    with pytest.raises(OverflowError):
        QObservablesArray(["XZ"]).apply_layout([-1, 0], 3)


def test_apply_layout_identity_cases():
    arr = ObservablesArray([["XZ", "ZZ"]])
    same = arr.apply_layout(None)
    assert same is not arr and same.equivalent(arr)
    empty = ObservablesArray([]).apply_layout([5, 6], 9)
    assert empty.shape == (0,) and empty.num_qubits == 9
    assert ObservablesArray("").apply_layout(None, 2)[()] == {"II": 1.0}


def test_slice_matches_qiskit():
    obs = [["XZ", {"ZZ": 0.5, "XX": 0.5}], ["IY", "YI"]]
    ours, theirs = ObservablesArray(obs), QObservablesArray(obs)
    one = ours.slice((0, 1))
    assert isinstance(one, PauliSum)  # Qiskit: a SparseObservable with the same terms
    assert PauliSum.from_qiskit(theirs.slice((0, 1))) == one
    for args in (0, (slice(None), 1), np.s_[::-1], (None, 1)):
        part = ours.slice(args)
        assert isinstance(part, ObservablesArray)
        _same(part, theirs.slice(args))
    assert np.shares_memory(np.asarray(ours.slice(0)), np.asarray(ours))


def test_sparse_observables_array_matches_qiskit():
    obs = [[{"XZ": 2.0, "+1": -0.5}], ["ZZ"]]
    ours = ObservablesArray(obs).sparse_observables_array()
    theirs = QObservablesArray(obs).sparse_observables_array()
    assert ours.shape == theirs.shape == (2, 1) and ours.dtype == object
    for a, b in zip(ours.flat, theirs.flat, strict=True):
        assert isinstance(a, SparseObservable)
        assert (a - b).simplify().num_terms == 0
    copy = ObservablesArray(obs).sparse_observables_array(copy=True)
    assert all(isinstance(x, SparseObservable) for x in copy.flat)


def test_sparse_observables_array_needs_qiskit(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "qiskit.quantum_info", None)  # import now fails
    with pytest.raises(ImportError, match=r"needs Qiskit: pip install 'shotpack\[qiskit\]'"):
        ObservablesArray(["ZZ"]).sparse_observables_array()
