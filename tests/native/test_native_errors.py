"""The extension's exception types: every error goes through one mapping (``rust/py/errors.rs``)
from the core error variant, so the type depends on the kind of problem, never on the call."""

from __future__ import annotations

import numpy as np
import pytest

from shotpack import BitArray, _native


def test_sizes_that_cannot_be_allocated_raise_memory_error() -> None:
    # 4 x 2**62 shots overflow a 64-bit count; 2**63 shots of 2 bytes overflow the byte size.
    with pytest.raises(MemoryError, match=r"^total count too large$"):
        BitArray.from_counts({"0": 2**62, "1": 2**62, "10": 2**62, "11": 2**62}, num_bits=16)
    with pytest.raises(MemoryError, match=r"^too many shots$"):
        BitArray.from_counts({"0": 2**62, "1": 2**62}, num_bits=16)


def test_wrong_types_raise_type_error_with_the_message_alone() -> None:
    with pytest.raises(TypeError, match=r"^expected a list of shots, got int$"):
        _native.pack_nested_lists(5, False, True)
    with pytest.raises(TypeError, match=r"^int\(\) can't convert non-string with explicit base"):
        BitArray.from_samples(["01", 3])


def test_located_type_errors_keep_their_position() -> None:
    with pytest.raises(TypeError, match=r"^shot 1, qubit 0: expected an int 0 or 1, got str$"):
        _native.pack_nested_lists([[0, 1], ["1", 0]], False, True)


def _group(num_bits: int, z_mask: int, nbytes: int) -> tuple:
    data = np.zeros((1, 2, nbytes), dtype=np.uint8)
    masks = np.array([[z_mask]], dtype=np.uint64)
    zeros = np.zeros((1, 1), dtype=np.uint64)
    return (data, 1, num_bits, None, masks, zeros, zeros)


def _moments(group: tuple) -> None:
    i64 = np.array([0], dtype=np.int64)
    _native.estimator_moments(
        [group],
        i64,
        i64,
        np.array([0, 1], dtype=np.int64),
        i64,
        np.array([1.0]),
        np.array([0.0]),
    )


def test_errors_inside_a_group_name_the_group_and_keep_their_type() -> None:
    # A Z on bit 5 of 2-bit rows: the term's error, placed in group 0 and term 0.
    with pytest.raises(ValueError, match=r"^group 0: term 0: term acts on bit 5 but the rows"):
        _moments(_group(2, 1 << 5, 1))
    # 16 bits need 2 bytes per row, the data has 1: the rows' shape error, placed in group 0.
    with pytest.raises(ValueError, match=r"^group 0: packed rows: 2 bytes do not hold 2 rows"):
        _moments(_group(16, 1, 1))
