"""docs/qiskit.md runs as written: its python blocks, in order, in one namespace."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

pytest.importorskip("qiskit")
pytest.importorskip("scipy")

DOC = Path(__file__).resolve().parents[2] / "docs" / "qiskit.md"


def test_qiskit_doc_runs() -> None:
    blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
    assert len(blocks) == 5, "docs/qiskit.md should have five python blocks"
    namespace: dict[str, object] = {}
    try:
        for i, block in enumerate(blocks):
            exec(compile(block, f"{DOC}:block{i}", "exec"), namespace)
    finally:
        server = namespace.get("server")
        if server is not None:
            server.stop()  # type: ignore[attr-defined]
    assert namespace["outcome"].fun < namespace["exact"] + 0.25  # type: ignore[attr-defined]
    counts = namespace["counts"]
    assert set(counts) <= {"00", "11"}  # type: ignore[arg-type]
