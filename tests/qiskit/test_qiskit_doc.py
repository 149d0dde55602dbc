"""docs/qiskit.md runs as written: its python blocks, in order, in one namespace."""

from __future__ import annotations

import pytest

pytest.importorskip("qiskit")
pytest.importorskip("scipy")

from tests._doc_blocks import DOCS, python_blocks, run_blocks

DOC = DOCS / "qiskit.md"


def test_qiskit_doc_runs() -> None:
    blocks = python_blocks(DOC)
    assert len(blocks) == 5, "docs/qiskit.md should have five python blocks"
    with run_blocks(DOC, blocks) as namespace:
        pass
    assert namespace["outcome"].fun < namespace["exact"] + 0.25  # type: ignore[attr-defined]
    counts = namespace["counts"]
    assert set(counts) <= {"00", "11"}  # type: ignore[arg-type]
