"""wsframes: Webshare proxy activity as typed Polars (and pandas) DataFrames, analysis and reports."""

from __future__ import annotations

__version__ = "0.1.0"
