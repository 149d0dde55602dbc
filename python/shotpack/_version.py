"""The installed distribution's version (``shotpack.__version__``).

Read from the package metadata, so it is known without loading the compiled extension (maturin
writes the same version into both).

Example:
    >>> from shotpack._version import __version__
    >>> __version__.count(".") >= 1
    True
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

__all__ = ["__version__"]

try:
    __version__: str = version("shotpack")
except PackageNotFoundError:  # pragma: no cover - running from a tree that was never installed
    __version__ = "0+unknown"
