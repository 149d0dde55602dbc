"""Names a package exports lazily: each loads its defining module on first use.

Example:
    >>> ns = {"__all__": ["sqrt"]}
    >>> getattr_, dir_ = lazy_exports("demo", {"sqrt": "math"}, ns)
    >>> getattr_("sqrt")(4.0), "sqrt" in ns, dir_()
    (2.0, True, ['sqrt'])
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(
    package: str, exports: Mapping[str, str], namespace: dict[str, Any]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of a package with lazy exports.

    Args:
        package: the package's name, for the error message.
        exports: public name -> module that defines it.
        namespace: the package's ``globals()``; a loaded name is cached there, so the lookup
            runs once per name.

    Returns:
        ``(__getattr__, __dir__)`` to assign in the package's ``__init__``.
    """

    def getattr_(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def dir_() -> list[str]:
        # Public names only: the exports, plus subpackages already imported (``shotpack.iqm``
        # once loaded). Helpers such as ``TYPE_CHECKING`` or ``annotations`` stay hidden.
        loaded = {
            k for k, v in namespace.items() if isinstance(v, ModuleType) and not k.startswith("_")
        }
        return sorted(set(namespace.get("__all__", ())) | loaded)

    return getattr_, dir_
