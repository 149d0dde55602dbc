"""Chunk-additive statistics: any chunking of the shots merges to exactly the whole array's
counts, sums, expectation values and Estimator results."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from shotpack import BitArray
from shotpack.expval.evaluate import evaluate_estimator
from shotpack.expval.plan import plan_measurements
from shotpack.stats import ChunkCounts, EstimatorTallies, ObservableSums, SumsSpec
from shotpack.stats.terms import label_product

BITS = st.sampled_from([1, 8, 9, 64, 65])


@st.composite
def bits_and_cuts(draw, num_bits=BITS, max_shots=300, cells=False):
    n = draw(num_bits)
    shots = draw(st.integers(0, max_shots))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    shape = (draw(st.integers(1, 3)),) if cells else ()
    # Few distinct outcomes sometimes, so counts merge across chunks.
    width = draw(st.sampled_from([1, 2, n]))
    bools = rng.integers(0, 2, (*shape, shots, n)).astype(bool)
    bools[..., min(width, n) :] = False
    ba = BitArray.from_bool_array(bools)
    cuts = sorted(draw(st.lists(st.integers(0, shots), max_size=6)))
    edges = [0, *cuts, shots]
    return ba, list(itertools.pairwise(edges))


def chunk(ba: BitArray, a: int, b: int) -> BitArray:
    return BitArray(np.ascontiguousarray(ba.array[..., a:b, :]), ba.num_bits)


@given(bits_and_cuts())
def test_counts_merge_exactly(case):
    ba, ranges = case
    parts = [ChunkCounts.from_bit_array(chunk(ba, a, b)) for a, b in ranges]
    merged = ChunkCounts.merge(parts)
    whole = ChunkCounts.from_bit_array(ba)
    assert merged == whole
    assert merged.num_shots == ba.num_shots
    assert merged.to_int_dict() == ba.get_int_counts()
    assert merged.to_dict() == ba.get_counts()
    # Sorted numerically, distinct.
    if ba.num_bits <= 64 and len(merged.counts) > 1:
        assert (np.diff(merged.int_values().astype(np.float64)) > 0).all()


def test_counts_padding_bits_are_ignored():
    ba = BitArray.from_samples(["101", "001"], num_bits=3)
    dirty = ba.array.copy()
    dirty[:, 0] |= 0b1111_0000
    assert ChunkCounts.from_rows(dirty, 3).to_dict() == {"101": 1, "001": 1}
    wide = BitArray.from_samples(["1" + "0" * 69, "0" * 70], num_bits=70)
    dirty = wide.array.copy()
    dirty[:, 0] |= 0b1100_0000
    assert ChunkCounts.from_rows(dirty, 70).to_int_dict() == {2**69: 1, 0: 1}


def test_counts_merge_rejects_mixed_widths():
    with pytest.raises(ValueError, match="bits"):
        ChunkCounts.merge([ChunkCounts.empty(3), ChunkCounts.empty(4)])
    with pytest.raises(ValueError, match="at least one"):
        ChunkCounts.merge([])


def test_label_product_table():
    assert label_product("ZZ", "ZZ") == ("II", 1)
    assert label_product("Z1", "1Z") == ("11", 1)
    assert label_product("1I", "Z0") == ("10", -1)
    assert label_product("01", "00")[1] == 0


@st.composite
def diagonal_observables(draw, num_bits):
    def label():
        return "".join(
            draw(st.lists(st.sampled_from("IZ01"), min_size=num_bits, max_size=num_bits))
        )

    out = []
    for _ in range(draw(st.integers(1, 4))):
        terms = {
            label(): draw(st.sampled_from([1.0, -0.5, 0.25, 3.0, -1.75]))
            for _ in range(draw(st.integers(1, 3)))
        }
        out.append(terms)
    return out


def per_shot_values(ba: BitArray, obs: list[dict[str, float]]) -> np.ndarray:
    """``(cells, obs, shots)`` per-shot values, straight from the definition (vectorised)."""
    bits = ba.to_bool_array(order="little").reshape(-1, ba.num_shots, ba.num_bits)
    out = np.zeros((bits.shape[0], len(obs), ba.num_shots))
    for o, terms in enumerate(obs):
        for lab, c in terms.items():
            val = np.ones(bits.shape[:2])
            for j, ch in enumerate(reversed(lab)):
                b = bits[..., j]
                if ch == "Z":
                    val = val * np.where(b, -1.0, 1.0)
                elif ch == "0":
                    val = val * ~b
                elif ch == "1":
                    val = val * b
            out[:, o] += c * val
    return out


@given(st.data())
def test_observable_sums_merge_exactly(data):
    ba, ranges = data.draw(bits_and_cuts(num_bits=st.sampled_from([1, 8, 9, 64, 65]), cells=True))
    obs = data.draw(diagonal_observables(ba.num_bits))
    ba = ba.reshape(ba.shape[0], 1)  # cells x observables
    spec = SumsSpec.from_observables(obs, ba.num_bits)
    parts = [ObservableSums.from_bit_array(chunk(ba, a, b), spec) for a, b in ranges]
    merged = ObservableSums.merge(parts)
    whole = ObservableSums.from_bit_array(ba, spec)
    np.testing.assert_array_equal(merged.sums, whole.sums)
    assert merged.num_shots == ba.num_shots
    if ba.num_shots == 0:
        with pytest.raises(ValueError, match="0 shots"):
            merged.expectation_values()
        return
    expected = ba.expectation_values(obs)
    got = merged.expectation_values()
    assert got.shape == expected.shape
    # Bit-identical to the in-memory native result.
    assert got.tobytes() == expected.tobytes()
    v = per_shot_values(ba, obs)
    v = v.reshape(ba.shape[0], len(obs), -1)
    np.testing.assert_allclose(merged.sum_values(), v.sum(axis=-1), atol=1e-9)
    np.testing.assert_allclose(merged.sum_squares(), (v**2).sum(axis=-1), atol=1e-9)
    np.testing.assert_allclose(merged.variances(), v.var(axis=-1), atol=1e-9)
    np.testing.assert_allclose(
        merged.standard_errors(), np.sqrt(v.var(axis=-1) / ba.num_shots), atol=1e-9
    )
    np.testing.assert_array_equal(merged.count(), ba.num_shots)


def test_observable_sums_reject_non_diagonal_and_wrong_width():
    with pytest.raises(ValueError, match="not diagonal"):
        SumsSpec.from_observables(["XZ"], 2)
    with pytest.raises(ValueError, match="same length"):
        SumsSpec.from_observables(["ZZZ"], 2)


@st.composite
def estimator_case(draw):
    n = draw(st.sampled_from([1, 2, 3, 9]))
    nobs = draw(st.integers(1, 3))
    obs = []
    for _ in range(nobs):
        terms = {}
        for _ in range(draw(st.integers(1, 3))):
            lab = "".join(draw(st.lists(st.sampled_from("IXYZ"), min_size=n, max_size=n)))
            terms[lab] = draw(st.sampled_from([1.0, -0.5, 2.0, 0.125]))
        obs.append(terms)
    rand = draw(st.sampled_from([1, 1, 3]))
    shots = draw(st.integers(1, 200))
    seed = draw(st.integers(0, 2**32 - 1))
    cuts = sorted(draw(st.lists(st.integers(0, shots), max_size=5)))
    return obs, rand, shots, seed, cuts


@given(estimator_case())
def test_estimator_tallies_merge_to_evaluate_estimator(case):
    obs, rand, shots, seed, cuts = case
    rng = np.random.default_rng(seed)
    plan = plan_measurements(obs)
    shape = (rand,) if rand > 1 else ()
    data, flips = [], []
    for g in plan.groups:
        # Correlated bits: a few outcomes repeated, so covariances are not zero.
        base = rng.integers(0, 2, (4, g.num_bits)).astype(bool)
        pick = rng.integers(0, 4, (*shape, shots))
        data.append(BitArray.from_bool_array(base[pick]))
        flips.append(
            rng.integers(0, 2, (rand, (g.num_bits + 7) // 8)).astype(np.uint8) if rand > 1 else None
        )
    # Flip rows must keep padding bits clear.
    for g, f in zip(plan.groups, flips, strict=True):
        if f is not None and g.num_bits % 8:
            f[:, 0] &= (1 << (g.num_bits % 8)) - 1
    flips_arg = flips if rand > 1 else None
    expected = evaluate_estimator(plan, data, flips_arg)
    edges = [0, *cuts, shots]
    parts = [
        EstimatorTallies.from_groups(plan, [chunk(d, a, b) for d in data], flips_arg)
        for a, b in itertools.pairwise(edges)
    ]
    got = EstimatorTallies.merge(parts).finalize()
    whole = EstimatorTallies.from_groups(plan, data, flips_arg).finalize()
    for name in ("evs", "stds", "ensemble_standard_error"):
        assert getattr(got, name).tobytes() == getattr(whole, name).tobytes(), name
        assert getattr(got, name).tobytes() == getattr(expected, name).tobytes(), name


def test_estimator_tallies_above_one_native_chunk_agree_to_rounding():
    rng = np.random.default_rng(5)
    plan = plan_measurements([{"ZZI": 1.0, "ZIZ": -0.5, "IZZ": 0.25}, "XXX"])
    data = [
        BitArray.from_bool_array(rng.integers(0, 2, (40_000, g.num_bits)).astype(bool))
        for g in plan.groups
    ]
    expected = evaluate_estimator(plan, data)
    parts = [
        EstimatorTallies.from_groups(plan, [chunk(d, a, a + 10_000) for d in data])
        for a in range(0, 40_000, 10_000)
    ]
    got = EstimatorTallies.merge(parts).finalize()
    np.testing.assert_allclose(got.evs, expected.evs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(got.stds, expected.stds, rtol=1e-12)


def test_estimator_tallies_errors():
    plan = plan_measurements(["ZZ"])
    ba = BitArray.from_samples(["00"], num_bits=2)
    with pytest.raises(ValueError, match="measured groups"):
        EstimatorTallies.from_groups(plan, [])
    with pytest.raises(ValueError, match="bits"):
        EstimatorTallies.from_groups(plan, [BitArray.from_samples(["000"], num_bits=3)])
    empty = EstimatorTallies.from_groups(plan, [chunk(ba, 0, 0)])
    with pytest.raises(ValueError, match="no shots"):
        empty.finalize()
    assert (empty + EstimatorTallies.from_groups(plan, [ba])).finalize().evs == 1.0
