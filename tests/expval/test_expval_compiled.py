"""``BitArray.expectation_values`` with compiled, cached observables: identical to Qiskit on
random shapes and widths, and never stale (a cached entry is reused only for the same labels or
the same immutable object)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from qiskit.primitives import BitArray as QBitArray

from shotpack import BitArray, ObservablesArray, PauliSum
from shotpack.expval import diagonal
from shotpack.expval.diagonal import compiled_observables
from tests.containers._bit_array_cases import packed_arrays

WIDTHS = [1, 8, 9, 64, 65]


@st.composite
def cases(draw: st.DrawFn) -> tuple[np.ndarray, int, list[str], tuple[int, ...]]:
    n = draw(st.sampled_from(WIDTHS))
    shots = draw(st.sampled_from([1, 2, 7, 64, 65, 130]))
    data, n = draw(packed_arrays(num_bits=n, shots=shots))
    count = draw(st.integers(1, 12))
    labels = [draw(st.text(alphabet="IZ01", min_size=n, max_size=n)) for _ in range(count)]
    obs_shape = draw(st.sampled_from([(count,), (1, count)] + ([(1,)] if count == 1 else [])))
    return data, n, labels, obs_shape


@settings(max_examples=60, deadline=None)
@given(cases())
def test_matches_qiskit_and_repeats(case: tuple[np.ndarray, int, list[str], tuple[int, ...]]):
    data, n, labels, obs_shape = case
    ours, theirs = BitArray(data.copy(), n), QBitArray(data.copy(), n)
    obs = np.array(labels, dtype=object).reshape(obs_shape).tolist()
    try:
        expected = theirs.expectation_values(obs)
    except ValueError:
        with pytest.raises(ValueError):
            ours.expectation_values(obs)
        return
    for _ in range(2):  # the second call reads the cache
        got = ours.expectation_values(obs)
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, atol=1e-12)
    flat = ours.expectation_values(list(labels))  # equal labels, another list: a cache hit
    np.testing.assert_allclose(flat.reshape(-1), np.asarray(expected).reshape(-1), atol=1e-12)


@pytest.mark.parametrize("n", WIDTHS)
def test_zero_shots_raise_every_time(n: int):
    ba = BitArray(np.zeros((0, (n + 7) // 8), dtype=np.uint8), n)
    for _ in range(2):
        with pytest.raises(ValueError, match="0 shots"):
            ba.expectation_values("Z" * n)


def test_mutated_list_is_not_stale():
    ba = BitArray.from_samples(["01", "01", "11"])
    labels = ["ZI", "IZ"]
    np.testing.assert_allclose(ba.expectation_values(labels), [1 / 3, -1.0])
    labels[0] = "ZZ"
    np.testing.assert_allclose(ba.expectation_values(labels), [-1 / 3, -1.0])


def test_same_labels_other_width_recompile():
    assert compiled_observables("ZZ", 2) is compiled_observables(["ZZ"][0], 2)
    with pytest.raises(ValueError, match="not same length"):
        compiled_observables("ZZ", 3)


def test_invalid_observables_are_not_cached():
    ba = BitArray.from_samples(["01"])
    for _ in range(2):
        with pytest.raises(ValueError, match="not diagonal"):
            ba.expectation_values(["XZ"])


def test_objects_are_cached_by_identity_and_dicts_not():
    obs = ObservablesArray([PauliSum({"ZZ": 2.0}), PauliSum("IZ")])
    assert compiled_observables(obs, 2) is compiled_observables(obs, 2)
    other = ObservablesArray([PauliSum({"ZZ": 3.0}), PauliSum("IZ")])
    assert compiled_observables(other, 2) is not compiled_observables(obs, 2)
    d = {"ZZ": 1.0}
    ba = BitArray.from_samples(["01", "10"])
    np.testing.assert_allclose(ba.expectation_values(d), -1.0)
    d["ZZ"] = 2.0
    np.testing.assert_allclose(ba.expectation_values(d), -2.0)


def test_broadcast_shapes_per_data_shape():
    obs = ["ZI", "IZ", "ZZ"]
    flat = BitArray.from_samples(["01", "10", "11", "00"])
    grid = BitArray(np.stack([flat.array, flat.array[::-1]]), 2)
    assert flat.expectation_values(obs).shape == (3,)
    with pytest.raises(ValueError):
        grid.expectation_values(obs)
    grid2 = BitArray(np.stack([flat.array] * 3), 2)
    assert grid2.expectation_values(obs).shape == (3,)
    assert grid2.reshape(3, 1).expectation_values(obs).shape == (3, 3)


def test_cache_is_bounded():
    for i in range(diagonal._MAX_COMPILED + 20):
        compiled_observables(format(i, "b").replace("0", "I").replace("1", "Z").rjust(9, "I"), 9)
    assert len(diagonal._COMPILED) <= diagonal._MAX_COMPILED
