"""Running a guide's ``python`` code blocks as written, in order, in one namespace."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DOCS = Path(__file__).resolve().parents[1] / "docs"


def python_blocks(doc: Path) -> list[str]:
    """The fenced ``python`` blocks of a Markdown file, in order."""
    return re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)


@contextmanager
def run_blocks(doc: Path, blocks: list[str]) -> Iterator[dict[str, object]]:
    """Runs ``blocks`` in one namespace and yields it; a ``server`` they started is stopped on
    the way out, whatever happened."""
    namespace: dict[str, object] = {}
    try:
        for i, block in enumerate(blocks):
            exec(compile(block, f"{doc}:block{i}", "exec"), namespace)
        yield namespace
    finally:
        server = namespace.get("server")
        if server is not None:
            server.stop()  # type: ignore[attr-defined]
