"""``.ws`` on Polars eager, lazy and pandas frames: every helper, same results, nullable pandas."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from dataclasses import fields, is_dataclass
from typing import Any

import matplotlib
import pandas as pd
import polars as pl
import pytest
from polars.testing import assert_frame_equal

import wsframes
from wsframes._exports import EXPORTS
from wsframes.fake import FakeWebshare, generate_activity
from wsframes.namespace import helper_names

matplotlib.use("Agg")

# What a helper needs besides the frame: its second positional frame (another period of activity, or
# the proxy list), and required keywords. Options with defaults keep them. A new helper with required
# arguments gets an entry here.
EXTRA_FRAMES: dict[str, str] = {
    "compare_periods": "later", "enrich": "proxies", "replacement_plan": "proxies",
    "standing_problems": "later",
}
REQUIRED_KW: dict[str, dict[str, Any]] = {"apdex": {"threshold": 0.5}, "slo_attainment": {"threshold": 0.3}}


def _frame_first_helpers() -> list[str]:
    """Every public name of wsframes that is an analysis function taking a frame first."""
    names = []
    for name in wsframes.__all__:
        obj = getattr(wsframes, name)
        if not inspect.isfunction(obj) or not obj.__module__.startswith("wsframes.analysis"):
            continue
        first = next(iter(inspect.signature(obj).parameters.values()), None)
        if (
            first is not None
            and first.kind is first.POSITIONAL_OR_KEYWORD
            and "Frame" in str(first.annotation)
        ):
            names.append(name)
    return names


HELPERS = _frame_first_helpers()


@pytest.fixture(scope="module")
def demo() -> pl.DataFrame:
    return generate_activity(3000, seed=11)


@pytest.fixture(scope="module")
def later() -> pl.DataFrame:
    return generate_activity(2000, seed=12)


def test_the_introspection_finds_the_known_helpers() -> None:
    # Guards the test against a rule that silently finds nothing.
    known = {"latency_summary", "error_taxonomy", "top_offenders", "compare_periods", "pool_health"}
    assert known <= set(HELPERS)
    assert "wilson_interval" not in HELPERS  # takes expressions, not a frame
    assert set(HELPERS) <= set(helper_names())


@pytest.fixture(scope="module")
def proxies() -> Iterator[pl.DataFrame]:
    with FakeWebshare("ns-key", records=100, seed=11) as fake:
        yield wsframes.load_proxies(api_key="ns-key", base_url=fake.base_url)


def _args(name: str, kind: str, later: pl.DataFrame, proxies: pl.DataFrame) -> tuple[Any, ...]:
    if name not in EXTRA_FRAMES:
        return ()
    if EXTRA_FRAMES[name] == "proxies":
        return (proxies,)  # the proxy list stays a Polars frame whatever the activity's kind
    convert = {"eager": lambda f: f, "lazy": pl.DataFrame.lazy, "pandas": wsframes.to_pandas}[kind]
    return (convert(later),)


def _parts(result: Any) -> list[Any]:
    """A result's frames: itself, or each field of a result object such as PeriodComparison."""
    if is_dataclass(result):
        return [getattr(result, f.name) for f in fields(result)]
    return [result]


def _assert_same(a: Any, b: Any) -> None:
    for x, y in zip(_parts(a), _parts(b), strict=True):
        assert type(x) is type(y)
        if isinstance(x, pl.LazyFrame):
            x, y = x.collect(), y.collect()
        if isinstance(x, pd.DataFrame):
            pd.testing.assert_frame_equal(x, y)
        elif isinstance(x, pl.DataFrame):
            assert_frame_equal(x, y)
        else:  # a plain field of a result object (e.g. a plan's JSON bodies, its alpha)
            assert x == y


@pytest.mark.parametrize("kind", ["eager", "lazy", "pandas"])
@pytest.mark.parametrize("name", HELPERS)
def test_every_helper_is_a_method_with_equal_results(
    demo: pl.DataFrame, later: pl.DataFrame, proxies: pl.DataFrame, name: str, kind: str
) -> None:
    frame = {"eager": demo, "lazy": demo.lazy(), "pandas": wsframes.to_pandas(demo)}[kind]
    args = _args(name, kind, later, proxies)
    assert name in dir(frame.ws)
    kw = REQUIRED_KW.get(name, {})
    via_namespace = getattr(frame.ws, name)(*args, **kw)
    via_function = getattr(wsframes, name)(frame, *args, **kw)
    _assert_same(via_namespace, via_function)


@pytest.mark.parametrize("name", HELPERS)
def test_pandas_results_use_nullable_dtypes(
    demo: pl.DataFrame, later: pl.DataFrame, proxies: pl.DataFrame, name: str
) -> None:
    # Slice so that groups with a single request exist: their spread is null, not NaN.
    pdf = wsframes.to_pandas(demo.head(400))
    result = getattr(pdf.ws, name)(*_args(name, "pandas", later, proxies), **REQUIRED_KW.get(name, {}))
    for part in (p for p in _parts(result) if isinstance(p, pd.DataFrame)):
        numpy_typed = {
            c: str(t) for c, t in part.dtypes.items() if not isinstance(t, pd.api.extensions.ExtensionDtype)
        }
        assert not numpy_typed, f"{name}: NumPy dtypes (NaN for missing) in {numpy_typed}"


def test_plots_are_methods_of_their_result_frames(demo: pl.DataFrame) -> None:
    taxonomy = demo.ws.error_taxonomy()
    for frame in (taxonomy, taxonomy.lazy(), wsframes.to_pandas(taxonomy)):
        ax = frame.ws.plot_error_taxonomy()
        assert len(ax.patches) == taxonomy.height
        ax.figure.clf()


def test_unknown_names_say_what_exists(demo: pl.DataFrame) -> None:
    with pytest.raises(AttributeError, match="latency_summary"):
        demo.ws.no_such_helper  # noqa: B018
    assert "DataFrame" in repr(demo.ws)


def test_methods_carry_the_helpers_documentation(demo: pl.DataFrame) -> None:
    assert demo.ws.error_taxonomy.__doc__ == wsframes.error_taxonomy.__doc__
    assert demo.ws.error_taxonomy.__name__ == "error_taxonomy"


def test_a_helper_added_to_the_package_later_appears_by_itself(
    demo: pl.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    def pool_size(df: wsframes.analysis._frames.Frame, *, column: str = "proxy_address") -> int:
        return int(
            wsframes.analysis._frames.as_lazy(df, func="pool_size")[0]
            .select(pl.col(column).n_unique())
            .collect()
            .item()
        )

    pool_size.__module__ = "wsframes.analysis.pool"  # as if defined there by another module
    monkeypatch.setattr(wsframes.analysis, "pool_size", pool_size, raising=False)
    monkeypatch.setitem(EXPORTS, "pool_size", "wsframes.analysis")  # its one line in the table
    helper_names.cache_clear()
    try:
        assert demo.ws.pool_size() == demo["proxy_address"].n_unique()
        assert demo.lazy().ws.pool_size(column="domain") == demo["domain"].n_unique()
    finally:
        monkeypatch.undo()
        helper_names.cache_clear()
    assert "pool_size" not in dir(demo.ws)
