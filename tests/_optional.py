"""Optional dependencies in tests: skipped when absent on a developer's machine, required in CI
(where ``scripts/test.sh`` installs the ``dask`` extra), so a broken install cannot pass as
skips."""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest


def require(name: str) -> ModuleType:
    """Imports ``name``; skips the calling module when it is missing, unless running in CI."""
    if os.environ.get("CI"):
        return importlib.import_module(name)
    return pytest.importorskip(name)
