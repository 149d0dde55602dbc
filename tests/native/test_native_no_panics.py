"""No Rust panic reaches Python: Python code run from inside the extension (``__index__``,
``items()``, ``__iter__``) that changes the input raises the exception Python itself would
(Qiskit's ``from_counts`` raises RuntimeError there), never ``pyo3_runtime.PanicException``."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pytest

from shotpack import BitArray


class GrowsDict:
    """A count whose ``__index__`` adds a key to the dict being read."""

    def __init__(self, target: dict[object, object]) -> None:
        self.target = target

    def __index__(self) -> int:
        self.target["1" * (len(self.target) + 8)] = 1
        return 1


class ShrinksDict:
    def __init__(self, target: dict[object, object]) -> None:
        self.target = target

    def __index__(self) -> int:
        self.target.pop("0", None)
        return 1


def test_counts_dict_changed_by_a_count_raises_runtime_error() -> None:
    counts: dict[object, object] = {"00": 1}
    counts["01"] = GrowsDict(counts)
    with pytest.raises(RuntimeError, match="dictionary changed size during iteration"):
        BitArray.from_counts(counts)


def test_counts_dict_shrunk_by_a_count_raises_runtime_error() -> None:
    counts: dict[object, object] = {"1": ShrinksDict({}), "0": 1, "11": 2}
    counts["1"] = ShrinksDict(counts)
    with pytest.raises(RuntimeError, match="dictionary changed size during iteration"):
        BitArray.from_counts(counts)


def test_several_mappings_one_changed() -> None:
    second: dict[object, object] = {"10": 1}
    second["11"] = GrowsDict(second)
    with pytest.raises(RuntimeError, match="changed size"):
        BitArray.from_counts([{"00": 2}, second])


class Items(Mapping[str, int]):
    """A mapping whose ``items()`` fails halfway."""

    def __getitem__(self, key: str) -> int:
        return 1

    def __len__(self) -> int:
        return 2

    def __iter__(self) -> Iterator[str]:
        yield "01"
        raise KeyError("gone")


def test_mapping_raising_inside_items_passes_its_exception_through() -> None:
    with pytest.raises(KeyError, match="gone"):
        BitArray.from_counts(Items())


def test_panic_exception_is_not_what_errors_are() -> None:
    # Every error the extension raises is an Exception (PanicException is a BaseException).
    counts: dict[object, object] = {"0": 1}
    counts["1"] = GrowsDict(counts)
    try:
        BitArray.from_counts(counts)
    except Exception as exc:
        assert type(exc).__name__ != "PanicException"
    else:  # pragma: no cover - the call must fail
        pytest.fail("no error")


def test_samples_iterable_changing_its_source() -> None:
    source = ["01", "10"]

    def samples() -> Iterator[str]:
        for s in source:
            yield s
            if len(source) < 5:
                source.append("11")

    ba = BitArray.from_samples(samples())
    assert ba.get_bitstrings() == ["01", "10", "11", "11", "11"]
