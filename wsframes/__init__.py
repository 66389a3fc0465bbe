"""wsframes: Webshare proxy activity as typed Polars (and pandas) frames, analysis and reports.

>>> import wsframes as wsf
>>> wsf.ACTIVITY_SCHEMA["timestamp"]
Datetime(time_unit='us', time_zone='UTC')

Load a window (``wsf.load_activity("7d")``), analyse it (``wsf.latency_summary(df)``,
``wsf.error_taxonomy(df)``), keep history (``wsf.sync()``, ``wsf.scan_activity(...)``) and build a
report (``wsf.build_report(...)``). Submodules load on first use, so ``import wsframes`` stays
light (no Jupyter or matplotlib until a report or plot is asked for).
"""

from __future__ import annotations

import importlib
from typing import Any

import wsframes.namespace  # noqa: F401  (registers the .ws namespaces on Polars and pandas frames)
from wsframes import errors, schema  # noqa: F401  (light; documented as wsframes.schema.*)
from wsframes._exports import EXPORTS

# The names and their types are in __init__.pyi (the table, read by type checkers and _exports).
__all__ = list(EXPORTS)


def __getattr__(name: str) -> Any:
    module = EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wsframes' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(EXPORTS))
