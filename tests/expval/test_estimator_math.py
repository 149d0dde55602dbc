"""Estimator math: measurement plans, prx rotations, values and honest standard errors.

Exact values come from an independent dense statevector calculation written here (no shotpack
and no Qiskit in the reference path).
"""

from __future__ import annotations

from functools import reduce

import numpy as np
import pytest

from shotpack.containers.bit_array import BitArray
from shotpack.containers.estimator_pub import EstimatorPub
from shotpack.expval.evaluate import evaluate_estimator
from shotpack.expval.plan import basis_rotations, plan_measurements

# --- independent statevector reference ------------------------------------------------------

_I = np.eye(2, dtype=complex)
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.diag([1, -1]).astype(complex)


def _proj(v) -> np.ndarray:
    v = np.asarray(v, dtype=complex) / np.linalg.norm(v)
    return np.outer(v, v.conj())


LETTER = {
    "I": _I,
    "X": _X,
    "Y": _Y,
    "Z": _Z,
    "0": _proj([1, 0]),
    "1": _proj([0, 1]),
    "+": _proj([1, 1]),
    "-": _proj([1, -1]),
    "r": _proj([1, 1j]),
    "l": _proj([1, -1j]),
}


def operator(label: str) -> np.ndarray:
    """Dense matrix of a label; the leftmost character is the most significant qubit."""
    return reduce(np.kron, [LETTER[c] for c in label])


def exact(state: np.ndarray, obs: dict[str, float]) -> float:
    return float(sum(c * np.real(state.conj() @ operator(lab) @ state) for lab, c in obs.items()))


def prx(angle: float, phase: float) -> np.ndarray:
    c, s = np.cos(angle / 2), np.sin(angle / 2)
    return np.array(
        [[c, -1j * np.exp(-1j * phase) * s], [-1j * np.exp(1j * phase) * s, c]], dtype=complex
    )


def apply_1q(state: np.ndarray, gate: np.ndarray, q: int, n: int) -> np.ndarray:
    psi = state.reshape((2,) * n)
    axis = n - 1 - q  # axis 0 is qubit n-1
    psi = np.moveaxis(np.tensordot(gate, psi, axes=([1], [axis])), 0, axis)
    return psi.reshape(-1)


def random_state(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return v / np.linalg.norm(v)


def rotated_probabilities(state: np.ndarray, rotations, n: int) -> np.ndarray:
    for q, angle, phase in rotations:
        state = apply_1q(state, prx(angle, phase), q, n)
    return np.abs(state) ** 2


def pack(values: np.ndarray, num_bits: int) -> np.ndarray:
    """Integers (bit j = bit j of the value) as packed rows, Qiskit's layout."""
    nbytes = (num_bits + 7) // 8
    be = np.asarray(values, dtype=np.uint64).astype(">u8").view(np.uint8).reshape(-1, 8)
    return np.ascontiguousarray(be[:, 8 - nbytes :])


def group_bits(outcomes: np.ndarray, qubits) -> np.ndarray:
    """Full-register outcome integers -> the group's bits (bit j = qubit qubits[j])."""
    out = np.zeros_like(outcomes)
    for j, q in enumerate(qubits):
        out |= ((outcomes >> q) & 1) << j
    return out


def sample_group(rng, state, group, n, shots, num_rand=1, flip=False):
    """A BitArray of shape () or (R,) for one group, and the flip rows when twirling."""
    probs = rotated_probabilities(state, group.rotations, n)
    k = group.num_bits
    outcomes = rng.choice(probs.size, size=num_rand * shots, p=probs / probs.sum())
    bits = group_bits(outcomes, group.qubits).reshape(num_rand, shots)
    flips = rng.integers(0, 2**k, size=num_rand) if flip else np.zeros(num_rand, dtype=np.int64)
    measured = bits ^ flips[:, None]
    arr = pack(measured.reshape(-1), k).reshape(num_rand, shots, -1)
    if num_rand == 1:
        return BitArray(arr[0], k), (pack(flips, k) if flip else None)
    return BitArray(arr, k), (pack(flips, k) if flip else None)


def run(rng, state, plan, n, shots, num_rand=1, flip=False):
    data, flips = [], []
    for g in plan.groups:
        ba, f = sample_group(rng, state, g, n, shots, num_rand, flip)
        data.append(ba)
        flips.append(f)
    return evaluate_estimator(plan, data, flips if flip else None)


# --- rotations --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("basis", "plus", "minus"),
    [("X", [1, 1], [1, -1]), ("Y", [1, 1j], [1, -1j])],
)
def test_rotation_maps_eigenstates_with_sign(basis, plus, minus):
    ((q, angle, phase),) = basis_rotations(basis)
    assert q == 0
    for vec, target in ((plus, 0), (minus, 1)):
        v = np.asarray(vec, dtype=complex) / np.sqrt(2)
        out = prx(angle, phase) @ v
        assert abs(abs(out[target]) - 1) < 1e-12


def test_z_and_identity_need_no_rotation():
    assert basis_rotations("ZIZ") == ()
    assert [q for q, _, _ in basis_rotations("XYZI")] == [2, 3]


def test_groups_reproduce_exact_values_from_rotated_distribution():
    """Each term's value on the rotated exact distribution equals <psi|P|psi>."""
    rng = np.random.default_rng(3)
    n = 4
    letters = list("IXYZ01+-rl")
    labels = list({"".join(rng.choice(letters, n)) for _ in range(40)})
    plan = plan_measurements({lab: 1.0 for lab in labels})
    state = random_state(rng, n)
    seen = set()
    outcomes = np.arange(2**n)
    for g in plan.groups:
        # Qubit-wise commuting: one basis letter per qubit across the group's terms.
        probs = rotated_probabilities(state, g.rotations, n)
        for label in g.terms:
            value = np.ones(2**n)
            for q in range(n):
                ch = label[n - 1 - q]
                if ch == "I":
                    continue
                assert g.basis[n - 1 - q] == {
                    "X": "X",
                    "+": "X",
                    "-": "X",
                    "Y": "Y",
                    "r": "Y",
                    "l": "Y",
                }.get(ch, "Z")
                bit = (outcomes >> q) & 1
                if ch in "XYZ":
                    value *= 1 - 2 * bit
                else:
                    value *= bit == (1 if ch in "1-l" else 0)
            assert abs(probs @ value - exact(state, {label: 1.0})) < 1e-12, label
            seen.add(label)
    identity = "I" * n
    assert seen == set(labels) - {identity}


# --- planning ----------------------------------------------------------------------------------


def test_plan_shapes_and_groups_per_parameter_set():
    plan = plan_measurements([[{"ZZ": 0.5, "XX": 0.5}], ["ZI"], ["YY"]], parameter_shape=(5,))
    assert plan.shape == (3, 5)
    assert plan.num_groups == 5 * 3
    assert sorted({g.parameter_index for g in plan.groups}) == [(i,) for i in range(5)]
    for g in plan.groups:
        assert set(g.basis) <= set("IXYZ")
        assert g.qubits == (0, 1)


def test_plan_uses_union_of_broadcast_terms_only():
    # Zip: parameter set i only sees observable i.
    plan = plan_measurements(["ZZ", "XX", "YY"], parameter_shape=(3,))
    assert [(g.parameter_index, g.terms) for g in plan.groups] == [
        ((0,), ("ZZ",)),
        ((1,), ("XX",)),
        ((2,), ("YY",)),
    ]


def test_plan_from_pub_and_shape_error_names_both():
    class Circ:
        num_qubits = 2
        parameters = ("a",)

    pub = EstimatorPub.coerce((Circ(), [["ZZ"], ["XI"]], np.zeros((4, 1))))
    assert plan_measurements(pub).shape == (2, 4)
    with pytest.raises(ValueError, match=r"\(3,\).*\(5,\)"):
        plan_measurements(["ZZ", "XX", "YY"], parameter_shape=(5,))


def test_identity_only_cells_need_no_measurement():
    plan = plan_measurements([{"II": 2.0}, {"II": 1.0, "ZZ": 1.0}])
    assert plan.num_groups == 1
    bits = BitArray(pack(np.array([0, 3, 3, 0]), 2), 2)
    out = evaluate_estimator(plan, [bits])
    np.testing.assert_array_equal(out.evs, [2.0, 2.0])
    np.testing.assert_array_equal(out.stds, [0.0, 0.0])


def test_qubit_wise_grouping_is_tight_for_cliques():
    plan = plan_measurements({"ZZI": 1, "ZIZ": 1, "IZZ": 1, "XXI": 1, "XIX": 1, "YIY": 1})
    assert sorted(g.basis for g in plan.groups) == ["XXX", "YIY", "ZZZ"]


# --- values and errors -------------------------------------------------------------------------

OBSERVABLES = [
    {"XIZ": 1.0},  # one term
    {"ZZI": 1.0, "ZII": 1.0, "IZI": 0.7, "IIZ": -0.5},  # correlated terms, one group
    {"XXI": 0.5, "XIX": 0.5, "ZZZ": 1.0, "YIY": 0.8, "IZI": 0.3},  # several groups
    {"+I1": 1.5, "rZI": -0.5, "III": 0.25},  # projectors and a constant
]


def test_evs_within_five_stds_of_exact():
    rng = np.random.default_rng(11)
    n = 3
    state = random_state(rng, n)
    plan = plan_measurements(OBSERVABLES)
    out = run(rng, state, plan, n, shots=4000)
    for i, obs in enumerate(OBSERVABLES):
        assert out.stds[i] > 0
        assert abs(out.evs[i] - exact(state, obs)) < 5 * out.stds[i], i
    np.testing.assert_array_equal(out.stds, out.ensemble_standard_error)
    assert out.evs.shape == out.stds.shape == out.ensemble_standard_error.shape == (4,)


def _honesty(num_rand: int, flip: bool, field: str) -> None:
    rng = np.random.default_rng(2024 + num_rand)
    n = 3
    state = random_state(rng, n)
    plan = plan_measurements(OBSERVABLES)
    reps = 200
    evs = np.empty((reps, len(OBSERVABLES)))
    errs = np.empty_like(evs)
    for r in range(reps):
        out = run(rng, state, plan, n, shots=1024 // num_rand, num_rand=num_rand, flip=flip)
        evs[r] = out.evs
        errs[r] = getattr(out, field)
    empirical = evs.std(axis=0, ddof=1)
    reported = errs.mean(axis=0)
    np.testing.assert_allclose(reported, empirical, rtol=0.15)


def test_stds_are_honest_without_twirling():
    _honesty(1, False, "stds")


def test_stds_are_honest_with_twirling():
    _honesty(16, True, "stds")


def test_ensemble_error_is_honest_with_twirling():
    _honesty(16, True, "ensemble_standard_error")


def test_single_term_error_matches_binomial_formula():
    plan = plan_measurements("ZI")
    assert plan.groups[0].qubits == (1,)  # only the measured qubit is a bit
    bits = BitArray(pack(np.array([0, 1, 1, 1, 0, 0, 1, 1]), 1), 1)
    out = evaluate_estimator(plan, [bits])
    ev = (3 - 5) / 8
    assert out.evs == ev
    assert abs(out.stds - np.sqrt((1 - ev**2) / 8)) < 1e-15


def test_flips_are_xored_out():
    rng = np.random.default_rng(5)
    plan = plan_measurements({"ZZ": 1.0, "IZ": 0.5, "I1": 2.0})
    assert plan.num_groups == 1
    true = rng.integers(0, 4, size=(4, 100))
    flips = np.array([0, 1, 2, 3])
    raw = BitArray(pack((true ^ flips[:, None]).reshape(-1), 2).reshape(4, 100, 1), 2)
    clean = BitArray(pack(true.reshape(-1), 2).reshape(4, 100, 1), 2)
    a = evaluate_estimator(plan, [raw], [pack(flips, 2)])
    b = evaluate_estimator(plan, [clean])
    np.testing.assert_allclose(a.evs, b.evs, atol=1e-14)
    np.testing.assert_allclose(a.stds, b.stds, atol=1e-14)
    # The flip rows may also be a BitArray of R shots.
    c = evaluate_estimator(plan, [raw], [BitArray(pack(flips, 2), 2)])
    np.testing.assert_allclose(c.evs, b.evs, atol=1e-14)


def test_evaluate_errors():
    plan = plan_measurements({"ZZ": 1.0, "XX": 1.0})
    ok = BitArray(pack(np.array([0, 3]), 2), 2)
    with pytest.raises(ValueError, match="expected 2 measured groups"):
        evaluate_estimator(plan, [ok])
    with pytest.raises(ValueError, match="bits"):
        evaluate_estimator(plan, [ok, BitArray(pack(np.array([0, 1]), 3), 3)])
    with pytest.raises(ValueError, match="no shots"):
        evaluate_estimator(plan, [ok, BitArray(np.zeros((0, 1), np.uint8), 2)])
    two = BitArray(pack(np.array([0, 3, 0, 3]), 2).reshape(2, 2, 1), 2)
    with pytest.raises(ValueError, match="randomizations"):
        evaluate_estimator(plan, [ok, two])
    with pytest.raises(ValueError, match="flip masks"):
        evaluate_estimator(plan, [two, two], [np.zeros((3, 1), np.uint8), None])
    with pytest.raises(TypeError):
        evaluate_estimator(plan, [ok, "not a bitarray"])


def test_nan_coefficient_gives_nan_in_its_cells_only():
    # Before, a NaN coefficient was dropped while simplifying, silently giving a finite value.
    plan = plan_measurements([{"ZZ": float("nan"), "IZ": 1.0}, {"ZZ": 1.0}])
    assert any("ZZ" in g.terms for g in plan.groups)
    data = [BitArray.from_samples(["00", "11", "01"], num_bits=g.num_bits) for g in plan.groups]
    out = evaluate_estimator(plan, data)
    assert np.isnan(out.evs[0]) and np.isfinite(out.evs[1])
    assert out.evs[1] == pytest.approx(1 / 3)
