"""Bad input, one kind per test: shotpack raises what Qiskit raises (type compared directly
where Qiskit raises at all), with messages that say where the problem is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from qiskit.primitives import BitArray as QBitArray

from shotpack import BitArray, _native

ARR = np.array([[1, 2], [3, 4], [5, 6]], dtype=np.uint8)  # 3 shots, 12 bits


NUMPY_2 = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


def both(call: Callable[[Any], Any], exc: type[BaseException], match: str | None = None) -> None:
    """``call(cls)`` raises ``exc`` for Qiskit's class and for shotpack's.

    With NumPy 1.x, Qiskit lets NumPy's OverflowError through for negative samples.
    """
    with pytest.raises(exc if NUMPY_2 else (exc, OverflowError)):
        call(QBitArray)
    with pytest.raises(exc, match=match):
        call(BitArray)


def test_constructor_rejects_non_arrays_and_wrong_dtypes() -> None:
    both(lambda cls: cls([[1]], 1), TypeError, "numpy.ndarray")
    both(lambda cls: cls(np.zeros((2, 1), np.int64), 1), TypeError, "uint8")


def test_constructor_rejects_wrong_shapes() -> None:
    both(lambda cls: cls(np.zeros(3, np.uint8), 1), ValueError, "two axes")
    both(lambda cls: cls(np.zeros((2, 1), np.uint8), 9), ValueError, "2 bytes")


def test_constructor_rejects_bad_num_bits() -> None:
    # Qiskit accepts these silently (QUIRK); shotpack refuses them.
    with pytest.raises(ValueError, match="non-negative"):
        BitArray(np.zeros((2, 1), np.uint8), -1)
    with pytest.raises(TypeError):
        BitArray(np.zeros((2, 1), np.uint8), 3.0)  # type: ignore[arg-type]


def test_from_bool_array_rejects_too_few_dimensions() -> None:
    both(lambda cls: cls.from_bool_array([1, 0, 1]), ValueError, "two dimensions")
    both(lambda cls: cls.from_bool_array(np.ones(3, bool)), ValueError, "two dimensions")
    both(lambda cls: cls.from_bool_array([1, 0], order="middle"), ValueError, "two dimensions")


def test_from_bool_array_rejects_unknown_order() -> None:
    both(lambda cls: cls.from_bool_array([[1, 0]], order="middle"), ValueError, "'middle'")


def test_from_bool_array_rejects_ragged_lists() -> None:
    both(lambda cls: cls.from_bool_array([[1, 0], [1]]), ValueError)
    both(lambda cls: cls.from_bool_array([[[1, 0]], [[1, 0], [0, 1]]]), ValueError)


def test_to_bool_array_rejects_unknown_order() -> None:
    both(lambda cls: cls(ARR, 12).to_bool_array("middle"), ValueError, "Invalid value")


def test_from_samples_rejects_empty_input() -> None:
    both(lambda cls: cls.from_samples([]), ValueError, "At least one sample")
    both(lambda cls: cls.from_samples(iter(())), ValueError, "At least one sample")


def test_from_samples_rejects_values_that_do_not_fit() -> None:
    both(lambda cls: cls.from_samples([-1], 4), ValueError, "num_bits=4")
    both(lambda cls: cls.from_samples([256], 8), ValueError, "num_bits=8")
    both(lambda cls: cls.from_samples(["0x100"], 8), ValueError, "num_bits=8")
    # Qiskit's check is byte-granular and keeps the extra bits in the padding, where readers
    # mask them (silently altering the shot); shotpack checks bits.
    with pytest.raises(ValueError, match="num_bits=4"):
        BitArray.from_samples([16], 4)
    with pytest.raises(ValueError, match="num_bits=2"):
        BitArray.from_samples(["111"], 2)


def test_from_samples_rejects_malformed_strings() -> None:
    both(lambda cls: cls.from_samples(["01 1"]), ValueError)
    both(lambda cls: cls.from_samples(["012"]), ValueError)
    both(lambda cls: cls.from_samples(["0xfg"]), ValueError)
    both(lambda cls: cls.from_samples(["-1"], 3), ValueError)


def test_from_samples_rejects_mixed_or_non_integer_types() -> None:
    both(lambda cls: cls.from_samples(["01", 1]), TypeError)
    both(lambda cls: cls.from_samples([1, "01"]), TypeError)
    both(lambda cls: cls.from_samples([1.0]), TypeError)
    with pytest.raises(TypeError):
        BitArray.from_samples([1.0], 3)  # Qiskit: AttributeError ('float' has no to_bytes)


def test_from_counts_rejects_empty_input() -> None:
    both(lambda cls: cls.from_counts([]), ValueError, "At least one counts mapping")
    both(lambda cls: cls.from_counts({}), ValueError, "At least one sample")
    both(lambda cls: cls.from_counts({"01": 0}), ValueError, "At least one sample")


def test_from_counts_rejects_non_integer_counts() -> None:
    both(lambda cls: cls.from_counts({"01": 1.5}), TypeError)
    both(lambda cls: cls.from_counts({"01": "2"}), TypeError)


def test_from_counts_rejects_unequal_mappings() -> None:
    both(lambda cls: cls.from_counts([{"0": 1}, {"1": 2}]), ValueError, "same number of shots")
    # Divisible totals pass Qiskit's check but still hold different numbers of shots.
    with pytest.raises(ValueError, match=r"same number of shots, got \[1, 3\]"):
        BitArray.from_counts([{"01": 1}, {"11": 3}])


def test_slice_bits_rejects_bad_indices() -> None:
    both(lambda cls: cls(ARR, 12).slice_bits(12), IndexError, "index 12 is out of bounds")
    both(lambda cls: cls(ARR, 12).slice_bits([0, -1]), IndexError, "index -1")
    both(lambda cls: cls(ARR, 12).slice_bits(np.int64(1)), TypeError)
    both(lambda cls: cls(ARR, 12).slice_bits(slice(0, 2)), TypeError)


def test_slice_bits_reads_bools_as_a_mask_like_qiskit() -> None:
    # Qiskit indexes the unpacked bits with NumPy, so a list of bools is a mask over the bits.
    ba, qba = (
        BitArray.from_samples(["011", "101", "110"]),
        QBitArray.from_samples(["011", "101", "110"]),
    )
    assert ba.slice_bits([False] * 3).num_bits == 0  # Qiskit crashes reading 0 bits
    for mask in ([True, False, True], [True] * 3, np.array([False, True, True])):
        ours, theirs = ba.slice_bits(mask), qba.slice_bits(mask)
        assert ours.num_bits == theirs.num_bits
        assert ours.get_bitstrings() == theirs.get_bitstrings()
    assert ba.slice_bits([True, False, True]).get_bitstrings() == ["01", "11", "10"]  # bits 0, 2
    # A mask of the wrong length is an IndexError in both (not bit 1, or bits 1 and 0).
    both(lambda cls: cls(ARR, 12).slice_bits([True]), IndexError, "boolean index has 1 entries")
    both(lambda cls: cls(ARR, 12).slice_bits(True), IndexError, "number of bits is 12")
    both(lambda cls: cls(ARR, 12).slice_bits([True, False]), IndexError)


def test_slice_bits_rejects_non_integer_indices_like_qiskit() -> None:
    both(lambda cls: cls(ARR, 12).slice_bits([1.0]), IndexError, "must be integers, got 1.0")
    both(lambda cls: cls(ARR, 12).slice_bits([0, 2.5]), IndexError, "got 2.5")
    both(lambda cls: cls(ARR, 12).slice_bits(np.array([1.0])), IndexError)
    both(lambda cls: cls(ARR, 12).slice_bits(["a"]), TypeError, "got str")
    both(lambda cls: cls(ARR, 12).slice_bits([None]), TypeError, "got NoneType")
    # NumPy integers inside a sequence are fine in both.
    assert BitArray(ARR, 12).slice_bits([np.uint8(3)]) == QBitArray(ARR, 12).slice_bits(
        [np.uint8(3)]
    )


def test_from_qiskit_rejects_other_objects() -> None:
    for bad in (5, "0101", np.zeros((2, 1), np.uint8)):
        with pytest.raises(TypeError, match=r"qiskit\.primitives\.BitArray"):
            BitArray.from_qiskit(bad)  # type: ignore[arg-type]


def test_loc_with_too_many_entries_names_the_pub_axes() -> None:
    b = BitArray(np.zeros((2, 3, 4, 1), np.uint8), 3)
    for read in (b.get_counts, b.get_int_counts, b.get_bitstrings, b.get_int_array):
        with pytest.raises(IndexError, match=r"^loc has 3 entries but the BitArray has 2 pub axes"):
            read((0, 0, 0))
    with pytest.raises(IndexError, match="loc has 1 entries but the BitArray has 0 pub axes"):
        b[0, 0].get_counts(0)
    # None, Ellipsis and boolean masks count as NumPy counts them.
    assert b.get_counts((0, None, 1)) == {"000": 4}
    assert b.get_counts((..., 1)) == {"000": 8}
    assert b.get_counts(np.ones((2, 3), bool)) == {"000": 24}
    with pytest.raises(IndexError, match="loc has 3 entries"):
        b.get_counts((np.ones((2, 3), bool), 0))


def test_slice_shots_rejects_bad_indices() -> None:
    both(lambda cls: cls(ARR, 12).slice_shots(3), IndexError, "number of shots 3")
    both(lambda cls: cls(ARR, 12).slice_shots([-1]), IndexError, "index -1")
    both(lambda cls: cls(ARR, 12).slice_shots(np.int64(1)), TypeError)


def test_postselect_rejects_bad_arguments() -> None:
    both(lambda cls: cls(ARR, 12).postselect([0, 1], [1]), ValueError, "do not match")
    both(lambda cls: cls(ARR, 12).postselect([12], [1]), IndexError, "index 12")
    both(lambda cls: cls(ARR, 12).postselect([-13], [1]), IndexError, "index -13")
    both(lambda cls: cls(ARR, 12).postselect(np.int64(0), [1]), TypeError)
    both(lambda cls: cls(ARR, 12).postselect([0], np.True_), TypeError)


def test_concatenations_reject_empty_and_mismatched_inputs() -> None:
    for name in ("concatenate", "concatenate_shots", "concatenate_bits"):
        both(lambda cls, name=name: getattr(cls, name)([]), ValueError, "at least one")
    a = np.zeros((2, 3, 1), np.uint8)
    both(lambda cls: cls.concatenate([cls(a, 3), cls(a, 4)]), ValueError, "number of bits")
    both(lambda cls: cls.concatenate([cls(a, 3), cls(a[:, :2], 3)]), ValueError, "shots")
    both(lambda cls: cls.concatenate([cls(a, 3), cls(a[None], 3)]), ValueError, "dimension")
    both(lambda cls: cls.concatenate([cls(a[0], 3)]), ValueError, "Zero-dimensional")
    both(lambda cls: cls.concatenate([cls(a, 3)], axis=-1), ValueError, "axis -1")
    both(lambda cls: cls.concatenate_shots([cls(a, 3), cls(a, 4)]), ValueError, "bits")
    both(lambda cls: cls.concatenate_shots([cls(a, 3), cls(a[:1], 3)]), ValueError, "shape")
    both(lambda cls: cls.concatenate_bits([cls(a, 3), cls(a[:, :2], 3)]), ValueError, "shots")
    both(lambda cls: cls.concatenate_bits([cls(a, 3), cls(a[:1], 3)]), ValueError, "shape")


def test_bitwise_operators_reject_mismatches() -> None:
    both(lambda cls: cls(ARR, 12) & cls(ARR, 11), ValueError, "num_bits")
    both(lambda cls: cls(ARR, 12) | cls(ARR[:2], 12), ValueError, "not compatible")
    both(lambda cls: cls(ARR, 12) ^ 1, AttributeError)
    both(lambda cls: 1 & cls(ARR, 12), TypeError)
    both(lambda cls: cls(ARR, 12) == 5, AttributeError)


def test_indexing_rejects_shot_and_bit_axes() -> None:
    b = np.zeros((2, 3, 1), np.uint8)
    both(lambda cls: cls(b, 3)[0, 1], IndexError, "shots axis")
    both(lambda cls: cls(b, 3)[0, 1, 0], IndexError, "bits axis")
    both(lambda cls: cls(b, 3)[5], IndexError)
    both(lambda cls: list(cls(b[0], 3)), ValueError)  # 0-d: ba[0] hits the shots axis


def test_reshape_and_transpose_reject_bad_shapes() -> None:
    b = np.zeros((2, 3, 4, 1), np.uint8)
    both(lambda cls: cls(b, 3).reshape(5), ValueError, "Cannot change")
    both(lambda cls: cls(b, 3).reshape(-1), ValueError, "Cannot change")
    both(lambda cls: cls(b, 3).reshape("x"), ValueError)
    both(lambda cls: cls(b, 3).transpose(0), ValueError, "axes don't match")
    both(lambda cls: cls(b, 3).transpose(0, 2), ValueError, "out of bounds")


def test_readers_reject_bad_loc_and_wide_int_arrays() -> None:
    b = np.zeros((2, 3, 1), np.uint8)
    both(lambda cls: cls(b, 3).get_counts(2), IndexError)
    both(lambda cls: cls(b, 3).get_bitstrings(5), IndexError)
    with pytest.raises(ValueError, match="num_bits <= 64"):
        BitArray(np.zeros((1, 9), np.uint8), 65).get_int_array()


# ---- strict nested-list packing (the IQM / JSON helpers' entry point) ------------------------


def test_strict_rejects_values_other_than_zero_and_one() -> None:
    with pytest.raises(ValueError, match=r"^shot 1, qubit 2: expected 0 or 1, got 2$"):
        _native.pack_nested_lists([[0, 1, 0], [1, 0, 2]], True, True)
    with pytest.raises(ValueError, match="shot 0, qubit 0: expected 0 or 1, got -1"):
        _native.pack_nested_lists([[-1]], True, True)
    with pytest.raises(ValueError, match="shot 0, qubit 1: expected 0 or 1, got 1000"):
        _native.pack_nested_lists([[0, 10**300]], False, True)


def test_strict_rejects_non_integer_values() -> None:
    with pytest.raises(TypeError, match="shot 0, qubit 1: expected an int 0 or 1, got float"):
        _native.pack_nested_lists([[0, 1.0]], True, True)
    with pytest.raises(TypeError, match="shot 1, qubit 0: expected an int 0 or 1, got str"):
        _native.pack_nested_lists([[0], ["1"]], True, True)
    with pytest.raises(TypeError, match="got NoneType"):
        _native.pack_nested_lists([[None]], True, True)


def test_strict_rejects_ragged_rows_and_non_list_rows() -> None:
    with pytest.raises(ValueError, match="shot 2: expected 2 qubit values like shot 0, got 3"):
        _native.pack_nested_lists([[0, 1], [1, 1], [0, 0, 1]], True, True)
    with pytest.raises(TypeError, match="shot 1: expected a list of qubit values, got int"):
        _native.pack_nested_lists([[0, 1], 1], True, True)
    with pytest.raises(TypeError, match="shot 0, qubit 1: expected an int 0 or 1, got list"):
        _native.pack_nested_lists([[0, [1]]], True, True)


def test_strict_names_the_position_of_n_d_input() -> None:
    data = [[[0, 1], [1, 1]], [[0, 1], [1, 5]]]
    with pytest.raises(ValueError, match=r"position \(1,\), shot 1, qubit 1: expected 0 or 1"):
        _native.pack_nested_lists(data, True, True)
    with pytest.raises(ValueError, match="index 1 at depth 0"):
        _native.pack_nested_lists([[[0, 1]], [[0, 1], [1, 0]]], True, True)


def test_strict_rejects_non_lists_and_flat_lists() -> None:
    with pytest.raises(TypeError, match="expected a list of shots"):
        _native.pack_nested_lists(np.zeros((2, 2)), True, True)
    with pytest.raises(ValueError, match="two dimensions"):
        _native.pack_nested_lists([0, 1], True, True)
    with pytest.raises(ValueError, match="two dimensions"):
        _native.pack_nested_lists([], True, True)


def test_self_referential_lists_do_not_hang() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(ValueError, match="deeper than 64"):
        _native.pack_nested_lists(loop, True, True)
    with pytest.raises((ValueError, RecursionError)):
        BitArray.from_bool_array(loop)


def test_list_mutated_by_index_hook_is_detected() -> None:
    rows = [[0, 1, 0]]

    class Sneaky:
        def __index__(self) -> int:
            rows[0].clear()
            return 1

    rows[0][1] = Sneaky()  # type: ignore[call-overload]
    with pytest.raises(ValueError, match="changed size"):
        _native.pack_nested_lists(rows, True, True)
