"""Qubit layouts for observables: where each qubit goes (``apply_layout``), Qiskit's rules."""

from __future__ import annotations

import numbers
import sys
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shotpack.quantum_info.labels import label_codes


def _transpile_layout_type() -> Any:
    """Qiskit's ``TranspileLayout`` class, or None when Qiskit's transpiler is not loaded (then
    no such object can exist, and importing it would cost a second)."""
    if "qiskit.transpiler" not in sys.modules:
        return None
    try:
        from qiskit.transpiler import TranspileLayout
    except ImportError:  # pragma: no cover - a broken Qiskit install
        return None
    return TranspileLayout


def _normalise_layout(
    layout: Any, num_qubits: Any, current: int, check_entries: bool = True
) -> tuple[NDArray[np.intp] | None, int]:
    """``(mapping, width)`` for :meth:`ObservablesArray.apply_layout` on observables of
    ``current`` qubits: ``mapping[q]`` is the new index of qubit ``q`` (None: unchanged).
    ``check_entries=False`` skips the layout's own checks (for an array with no elements)."""
    if num_qubits is not None:
        if not isinstance(num_qubits, numbers.Integral) or isinstance(num_qubits, bool):
            raise TypeError(f"num_qubits must be an integer, got {type(num_qubits).__name__}")
        num_qubits = int(num_qubits)
        if num_qubits < 0:
            raise ValueError(f"num_qubits must be non-negative, got {num_qubits}")
    tl = _transpile_layout_type()
    if tl is not None and isinstance(layout, tl):
        # Qiskit's rule: the observables follow the virtual qubits to where they are at the end
        # of the transpiled circuit, which is as wide as its output qubits (the private list
        # below is what Qiskit's own apply_layout reads; there is no public width).
        width = len(layout._output_qubit_list)
        if num_qubits is not None:
            if num_qubits < width:
                raise ValueError(
                    f"num_qubits={num_qubits} is smaller than the {width} qubits of the "
                    "transpiled circuit"
                )
            width = num_qubits
        layout = layout.final_index_layout()
    else:
        width = current if num_qubits is None else num_qubits
    if width < current:
        raise ValueError(f"cannot shrink observables on {current} qubits to num_qubits={width}")
    if layout is None or not check_entries:
        return None, width
    if isinstance(layout, (str, bytes)) or not isinstance(layout, Iterable):
        raise TypeError(
            f"layout must be a list of ints or a Qiskit TranspileLayout, got {type(layout)}"
        )
    entries = []
    for i, v in enumerate(layout):
        if not isinstance(v, (numbers.Integral, np.integer)):
            raise TypeError(f"layout entry {i} must be an int, got {type(v).__name__}")
        entries.append(int(v))
    mapping = np.asarray(entries, dtype=np.intp)
    if mapping.size < current:
        raise ValueError(
            f"the layout has {mapping.size} entries but the observables act on {current} qubits"
        )
    bad = (mapping < 0) | (mapping >= width)
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(
            f"layout entry {i} is {entries[i]}, outside the {width} qubits of the output"
        )
    uniq, counts = np.unique(mapping, return_counts=True)
    if (counts > 1).any():
        raise ValueError(f"the layout maps several qubits to qubit {int(uniq[counts > 1][0])}")
    return mapping[:current], width


def _relabel(
    labels: Sequence[str], num_qubits: int, mapping: NDArray[np.intp] | None, width: int
) -> list[str]:
    """Dense labels with qubit ``q`` moved to ``mapping[q]`` (identity when None), padded with
    ``I`` to ``width`` qubits."""
    codes = label_codes(labels, num_qubits)
    out = np.full((len(labels), width), ord("I"), dtype=np.uint8)
    out[:, np.arange(num_qubits) if mapping is None else mapping] = codes
    if width == 0:
        return [""] * len(labels)
    text = np.ascontiguousarray(out[:, ::-1]).tobytes().decode("ascii")
    return [text[i : i + width] for i in range(0, len(text), width)]
