"""The non-strict list walk (``BitArray.from_bool_array``) reads only exact ``list``, ``tuple``,
``int``, ``bool`` and ``float`` natively; subclasses (which may override ``__bool__``,
``__len__``, ``__iter__`` or ``__getitem__``) give exactly NumPy's ``asarray(obj, dtype=bool)``
bits, as in Qiskit."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from qiskit.primitives import BitArray as QiskitBitArray

from shotpack import BitArray, measurements_to_data_bin


class FalseInt(int):
    def __bool__(self) -> bool:
        return False


class TrueInt(int):
    def __bool__(self) -> bool:
        return True


class FalseFloat(float):
    def __bool__(self) -> bool:
        return False


class PlainFloat(float):
    pass


class ShortList(list):  # type: ignore[type-arg]
    def __len__(self) -> int:
        return 2


class OnesIter(list):  # type: ignore[type-arg]
    def __iter__(self) -> Iterator[Any]:
        return iter([1] * super().__len__())


class OnesGetitem(list):  # type: ignore[type-arg]
    def __getitem__(self, i: Any) -> Any:
        return 1


class AllOverridden(list):  # type: ignore[type-arg]
    def __len__(self) -> int:
        return 3

    def __iter__(self) -> Iterator[Any]:
        return iter([1, 0, 1])

    def __getitem__(self, i: Any) -> Any:
        return [1, 0, 1][i]


class OddTuple(tuple):  # type: ignore[type-arg]
    def __getitem__(self, i: Any) -> Any:
        return 0


CASES = {
    "int overriding __bool__ false": [[FalseInt(1), 0, FalseInt(5)]],
    "int overriding __bool__ true": [[TrueInt(0), 0, 1]],
    "float overriding __bool__": [[FalseFloat(2.5), 1.0, 0.0]],
    "float subclass": [[PlainFloat(0.0), PlainFloat(0.5), 1]],
    "list overriding __len__": [ShortList([0, 1, 1]), ShortList([1, 1, 0])],
    "list overriding __iter__": [OnesIter([0, 0, 0]), [0, 1, 0]],
    "list overriding __getitem__": [OnesGetitem([0, 0, 0]), [0, 0, 1]],
    "list overriding all three": [AllOverridden([0, 0, 0]), [0, 1, 1]],
    "outer list subclass": OnesIter([[0, 1, 0], [1, 1, 1]]),
    "tuple subclass": [OddTuple((1, 1, 0)), (0, 1, 0)],
    "mixed exact types": [[True, 0, 2], [0.0, -1, False]],
    "numpy scalars": [[np.int8(3), np.float32(0.0), np.bool_(True)]],
}


def numpy_reference(obj: object, order: str) -> tuple[np.ndarray, int] | str:
    try:
        bits = np.asarray(obj, dtype=bool)
    except Exception as exc:
        return type(exc).__name__
    if bits.ndim < 2:
        return "ValueError"
    ref = QiskitBitArray.from_bool_array(bits, order=order)  # type: ignore[arg-type]
    return ref.array, ref.num_bits


@pytest.mark.parametrize("order", ["little", "big"])
@pytest.mark.parametrize("name", list(CASES))
def test_subclasses_give_numpy_and_qiskit_bits(name: str, order: str) -> None:
    obj = CASES[name]
    want = numpy_reference(obj, order)
    if isinstance(want, str):
        with pytest.raises(Exception) as info:
            BitArray.from_bool_array(obj, order=order)  # type: ignore[arg-type]
        assert type(info.value).__name__ == want
        return
    got = BitArray.from_bool_array(obj, order=order)  # type: ignore[arg-type]
    np.testing.assert_array_equal(got.array, want[0])
    assert got.num_bits == want[1]


def test_strict_walk_reads_sequence_subclasses_through_iteration() -> None:
    # measurements_to_data_bin (strict: ints 0/1 only) reads a list subclass as list(obj) does.
    d = measurements_to_data_bin({"m": [AllOverridden([0, 0, 0]), [0, 1, 1]]})
    assert d.m.get_bitstrings() == ["101", "110"]
    # Iterating this one gives [1, 1]: one level of nesting, as list(obj) shows.
    with pytest.raises(ValueError, match="Expecting at least two dimensions"):
        measurements_to_data_bin({"m": OnesIter([[0, 0], [1, 0]])})
