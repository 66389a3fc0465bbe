"""Periodic HTML reports: a packaged notebook template executed by a real kernel, exported standalone.

See :func:`build_report` (and :func:`build_demo_report`, which needs no API key).
"""

from __future__ import annotations

from wsframes.report.builder import ReportResult, build_report
from wsframes.report.demo import build_demo_report
from wsframes.report.index import write_index

__all__ = ["ReportResult", "build_demo_report", "build_report", "write_index"]
