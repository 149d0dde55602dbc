"""Sphinx configuration: the API reference from the docstrings, and the guides in docs/*.md.

Build (no network needed; the extension must be installed, e.g. by ``scripts/test.sh``)::

    pip install '.[docs]'
    python -m sphinx -W --keep-going -b html docs docs/_build/html
"""

from __future__ import annotations

import shotpack

project = "shotpack"
author = "shotpack developers"
release = shotpack.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",  # the docstrings use Google style (Args / Returns / Raises)
    "myst_parser",  # the guides and the tutorial are Markdown
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build"]

# Type hints go into the parameter descriptions; members are listed in source order.
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "show-inheritance": True}
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_rtype = False

# Markdown headings get anchors so that links such as compatibility.md#bitarray resolve.
myst_heading_anchors = 3
# "ref.python": two classes are named IQMBackend (shotpack.iqm and shotpack.qiskit) on purpose.
suppress_warnings = ["myst.xref_missing", "ref.python"]

html_theme = "alabaster"
html_title = f"shotpack {release}"
