"""The public names of :mod:`wsframes`, each with the module that defines it: the one table.

The table is the facade's stub, ``wsframes/__init__.pyi``: one ``from <module> import <name> as
<name>`` line per name, which type checkers read as the package. This module reads the same lines
for the facade's ``__all__`` and lazy imports and for the ``.ws`` methods
(:mod:`wsframes.namespace`), so a new public name is one line there, seen by all four.
"""

from __future__ import annotations

import ast
from pathlib import Path

__all__ = ["EXPORTS"]


def _read_table(stub: Path) -> dict[str, str]:
    """Name -> module of every ``X as X`` import in *stub* (the re-export form, in stub order)."""
    return {alias.name: node.module for node in ast.parse(stub.read_text(encoding="utf-8")).body
            if isinstance(node, ast.ImportFrom) and node.module
            for alias in node.names if alias.asname == alias.name}


#: Public name -> the module that defines it (imported on first attribute access).
EXPORTS = _read_table(Path(__file__).with_name("__init__.pyi"))
