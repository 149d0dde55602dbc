"""Every docstring example in the installed package runs and prints what it shows.

The examples are collected from the *installed* ``shotpack`` (the one with the compiled
extension), module by module, so this works the same for an editable install and for the
wheel CI builds. Examples marked ``# doctest: +SKIP`` need a live server or a Qiskit job.
"""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import shotpack
from tests._optional import require

# ``python -m shotpack`` runs the command line on import: it has no examples to run.
EXCLUDED = {"shotpack.__main__"}

MODULES = sorted(
    {"shotpack"}
    | {
        m.name
        for m in pkgutil.walk_packages(shotpack.__path__, "shotpack.")
        if m.name not in EXCLUDED
    }
)


def test_every_module_is_collected() -> None:
    assert "shotpack.containers.bit_array" in MODULES
    assert "shotpack.iqm.models.circuit" in MODULES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    if name.startswith("shotpack.dask"):
        require("dask")  # the optional scale-out extra: skipped without it, outside CI
    module = importlib.import_module(name)
    result = doctest.testmod(
        module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False
    )
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in {name} failed"
