"""shotpack: quantum-job results to analysis-ready data, fast.

IQM per-shot measurements (nested lists or raw JSON bodies) become packed, Qiskit-compatible
``BitArray``s, counts and expectation values; a Rust extension does every per-shot loop.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from shotpack._native import __version__

# Public name -> defining module. Names load on first use, so `import shotpack` stays cheap and
# the client stack (requests, pydantic models) is imported only by users who need it.
_EXPORTS: dict[str, str] = {}

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shotpack' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:
    pass
