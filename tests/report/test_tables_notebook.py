"""Notebook displays in a real kernel: Great Tables views of results, progress bars without warnings."""

from __future__ import annotations

from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

CELLS = {
    "progress": (
        "from wsframes.api.progress import Progress\n"
        "bar = Progress(True, 'loading')\nbar.add(5, total=10)\nbar.close()"
    ),
    "comparison": (
        "import wsframes as wsf\n"
        "d = wsf.generate_activity(2_000, seed=3)\n"
        "wsf.compare_periods(d.head(1_000), d.tail(1_000))"
    ),
    "lazy": "wsf.compare_periods(d.lazy().head(1_000), d.tail(1_000))",
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Any]]:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in CELLS.values()])
    where = tmp_path_factory.mktemp("nb")
    resources = {"metadata": {"path": str(where)}}
    client = NotebookClient(nb, timeout=120, kernel_name="python3", resources=resources)
    client.execute()
    return {name: cell.outputs for name, cell in zip(CELLS, nb.cells, strict=True)}


def _stderr(outputs: list[Any]) -> str:
    return "".join(o.get("text", "") for o in outputs if o.get("name") == "stderr")


def test_progress_in_jupyter_is_a_widget_without_warnings(outputs: dict[str, list[Any]]) -> None:
    stderr = _stderr(outputs["progress"])
    assert "IProgress" not in stderr and "TqdmWarning" not in stderr
    kinds = {k for o in outputs["progress"] for k in o.get("data", {})}
    assert "application/vnd.jupyter.widget-view+json" in kinds  # a real widget, not text


def test_a_comparison_displays_as_great_tables_naming_its_frames(outputs: dict[str, list[Any]]) -> None:
    [result] = [o for o in outputs["comparison"] if o.output_type == "execute_result"]
    page = result.data["text/html"]
    assert page.count('class="gt_table"') == 4
    assert all(f".{name}" in page for name in ("summary", "latency", "error_codes", "changes"))
    assert "polars DataFrame" in page and "<script" not in page and "http" not in page
    assert result.data["text/plain"].startswith("PeriodComparison(")  # still the plain object underneath
    assert not _stderr(outputs["comparison"])


def test_a_lazy_comparison_is_not_computed_to_be_displayed(outputs: dict[str, list[Any]]) -> None:
    [result] = [o for o in outputs["lazy"] if o.output_type == "execute_result"]
    assert "gt_table" not in result.data["text/html"] and ".collect()" in result.data["text/html"]
