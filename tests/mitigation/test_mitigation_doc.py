"""docs/mitigation.md runs as written: its python blocks, in order, in one namespace."""

from __future__ import annotations

import math
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[2] / "docs" / "mitigation.md"


def test_mitigation_doc_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 2, "docs/mitigation.md should have two python blocks"
    namespace: dict[str, object] = {}
    try:
        for i, block in enumerate(blocks):
            exec(compile(block, f"{DOC}:block{i}", "exec"), namespace)
    finally:
        server = namespace.get("server")
        if server is not None:
            server.stop()  # type: ignore[attr-defined]
    value, stderr, exact = namespace["value"], namespace["stderr"], namespace["exact"]
    assert abs(value - exact) <= 5 * stderr  # type: ignore[operator]
    res = namespace["res"]
    evs, stds = res[0].data.evs, res[0].data.stds  # type: ignore[index]
    # Exact: <Z> = cos(angle) per qubit of a product state (bit j = qubits[j]).
    c = [math.cos(a) for a in (0.4, 1.1, 2.0)]
    want = [c[0], 0.5 * c[2] * c[1] + 0.5 * c[1] * c[0]]
    assert all(abs(e - w) <= 5 * s for e, w, s in zip(evs, want, stds, strict=True))
    assert res.metadata["resilience"]["measure_mitigation"] is True  # type: ignore[attr-defined]
