"""docs/mitigation.md runs as written: its python blocks, in order, in one namespace."""

from __future__ import annotations

import math

from tests._doc_blocks import DOCS, python_blocks, run_blocks

DOC = DOCS / "mitigation.md"


def test_mitigation_doc_runs() -> None:
    blocks = python_blocks(DOC)
    assert len(blocks) == 2, "docs/mitigation.md should have two python blocks"
    with run_blocks(DOC, blocks) as namespace:
        pass
    value, stderr, exact = namespace["value"], namespace["stderr"], namespace["exact"]
    assert abs(value - exact) <= 5 * stderr  # type: ignore[operator]
    res = namespace["res"]
    evs, stds = res[0].data.evs, res[0].data.stds  # type: ignore[index]
    # Exact: <Z> = cos(angle) per qubit of a product state (bit j = qubits[j]).
    c = [math.cos(a) for a in (0.4, 1.1, 2.0)]
    want = [c[0], 0.5 * c[2] * c[1] + 0.5 * c[1] * c[0]]
    assert all(abs(e - w) <= 5 * s for e, w, s in zip(evs, want, stds, strict=True))
    assert res.metadata["resilience"]["measure_mitigation"] is True  # type: ignore[attr-defined]
