"""The ``.ws`` namespace: every analysis helper and plot as a method of the frame.

After ``import wsframes``, Polars ``DataFrame`` and ``LazyFrame`` and pandas ``DataFrame`` have a
``ws`` attribute (the registration convention of both libraries), so a notebook can chain::

    df.ws.error_taxonomy(by="domain")        # == wsframes.error_taxonomy(df, by="domain")
    df.lazy().ws.latency_summary()           # lazy in, lazy out, as with the free function
    taxonomy.ws.plot_error_taxonomy(ax=ax)   # plots take the (small) result frame first

The methods are the free functions, called with the frame as first argument: same results, same
errors, same docstrings. Nothing is copied by hand: the methods are the public names of
:mod:`wsframes.analysis` in :mod:`wsframes._exports` (the functions that take a frame first) plus
:mod:`wsframes.plots`, so a helper added to the package later appears on ``.ws`` by itself.

>>> import polars as pl, wsframes
>>> d = pl.DataFrame({"error_reason": [None, "bandwidthlimit"]})
>>> d.ws.error_taxonomy().equals(wsframes.error_taxonomy(d))
True
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable
from typing import Any

import pandas as pd
import polars as pl

from wsframes._exports import EXPORTS

__all__ = ["NAMESPACE", "WsNamespace", "helper_names", "takes_frame_first"]

#: Attribute name on every registered frame class.
NAMESPACE = "ws"

#: Frame-first helpers live in these modules; other public names (loaders, errors) are not methods.
_HELPER_MODULE = "wsframes.analysis"
_PLOTS_MODULE = "wsframes.plots"


def takes_frame_first(obj: object) -> bool:
    """A function whose first parameter is positional and annotated as a frame.

    The package convention is ``helper(df: Frame, *, ...)``; building blocks such as
    ``wilson_interval(successes, total)`` take expressions and are not methods.
    """
    if not inspect.isfunction(obj):
        return False
    params = list(inspect.signature(obj).parameters.values())
    if not params or params[0].kind not in (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
    ):
        return False
    return "Frame" in str(params[0].annotation)  # annotations are strings (postponed evaluation)


@functools.cache
def helper_names() -> dict[str, Callable[..., Any]]:
    """Name -> function for every method of ``.ws`` (analysis helpers, then plots).

    Computed on first use (not at ``import wsframes``, which stays light) and cached.
    """
    found: dict[str, Callable[..., Any]] = {}
    analysis = importlib.import_module(_HELPER_MODULE)
    for name, module in EXPORTS.items():
        obj = getattr(analysis, name) if module == _HELPER_MODULE else None
        if takes_frame_first(obj):  # loaders, archive and report entry points take no frame
            found[name] = obj  # type: ignore[assignment]
    plots = importlib.import_module(_PLOTS_MODULE)
    for name in plots.__all__:
        found[name] = getattr(plots, name)
    return found


class WsNamespace:
    """``frame.ws``: the wsframes helpers bound to *frame* (see the module docstring)."""

    def __init__(self, frame: pl.DataFrame | pl.LazyFrame | pd.DataFrame) -> None:
        self._frame = frame

    def __getattr__(self, name: str) -> Callable[..., Any]:
        func = helper_names().get(name)
        if func is None:
            raise AttributeError(
                f"'.{NAMESPACE}' has no helper {name!r}; available: {', '.join(sorted(helper_names()))}."
            )
        data: Any = self._frame
        if name.startswith("plot_"):
            data = _eager(data)  # plots draw small result frames, which must be in memory

        @functools.wraps(func)
        def method(*args: Any, **kwargs: Any) -> Any:
            return func(data, *args, **kwargs)

        return method

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(helper_names()))

    def __repr__(self) -> str:
        return f"<wsframes .{NAMESPACE} namespace of a {type(self._frame).__name__}>"


def _eager(frame: pl.DataFrame | pl.LazyFrame | pd.DataFrame) -> pl.DataFrame:
    """A Polars DataFrame of *frame* (what the plotting functions take)."""
    if isinstance(frame, pl.LazyFrame):
        return frame.collect()
    if isinstance(frame, pd.DataFrame):
        return pl.from_pandas(frame)
    return frame


def _register() -> None:
    """Attach ``.ws`` to Polars DataFrame/LazyFrame and pandas DataFrame (runs once, at import)."""
    pl.api.register_dataframe_namespace(NAMESPACE)(WsNamespace)
    pl.api.register_lazyframe_namespace(NAMESPACE)(WsNamespace)
    pd.api.extensions.register_dataframe_accessor(NAMESPACE)(WsNamespace)


_register()
