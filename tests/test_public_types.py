"""Type checkers see the real type of every public name (the lazy exports included).

mypy runs on a small file that reveals each name of ``shotpack.__all__`` and
``shotpack.iqm.__all__``; none may come out as ``Any``.
"""

from __future__ import annotations

import os
import pathlib
import re

import pytest

import shotpack
import shotpack.iqm

mypy_api = pytest.importorskip("mypy.api")

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_every_public_name_has_its_real_type(tmp_path: pathlib.Path) -> None:
    lines = ["import shotpack", "import shotpack.iqm"]
    names = [f"shotpack.{n}" for n in shotpack.__all__]
    names += [f"shotpack.iqm.{n}" for n in shotpack.iqm.__all__]
    lines += [f"reveal_type({n})" for n in names]
    probe = tmp_path / "probe.py"
    probe.write_text("\n".join(lines) + "\n")
    os.environ.setdefault("MYPYPATH", str(ROOT / "python"))
    stdout, stderr, _ = mypy_api.run(
        [
            "--config-file",
            str(ROOT / "pyproject.toml"),
            "--cache-dir",
            str(tmp_path / "cache"),
            "--no-error-summary",
            "--follow-imports=silent",
            str(probe),
        ]
    )
    revealed = dict(re.findall(r"probe\.py:(\d+): note: Revealed type is \"(.+)\"", stdout))
    assert len(revealed) == len(names), stdout + stderr
    untyped = [n for i, n in enumerate(names, start=3) if revealed[str(i)] == "Any"]
    assert untyped == []
    assert "IQMClient" in revealed[str(names.index("shotpack.IQMClient") + 3)]
    assert (
        "CircuitValidationError"
        in revealed[str(names.index("shotpack.iqm.CircuitValidationError") + 3)]
    )


def test_dir_shows_public_names_only() -> None:
    for module in (shotpack, shotpack.iqm):
        hidden = [
            n
            for n in dir(module)
            if n in {"TYPE_CHECKING", "annotations", "Any", "importlib", "lazy_exports"}
        ]
        assert hidden == []
        assert set(module.__all__) <= set(dir(module))
        assert all(not n.startswith("_") or n == "__version__" for n in dir(module))


def test_iqm_all_matches_lazy_exports() -> None:
    assert set(shotpack.iqm.__all__) == set(shotpack.iqm._EXPORTS)
