"""Every notebook in notebooks/ runs top to bottom in a real kernel, and is committed clean."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = sorted((Path(__file__).resolve().parents[2] / "notebooks").glob("*.ipynb"))


def test_there_is_a_quickstart() -> None:
    assert "quickstart.ipynb" in {p.name for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
    assert not dirty, f"{path.name}: clear the outputs of cells {dirty} before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes_without_error(path: Path, tmp_path: Path) -> None:
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    nb = nbformat.read(copy, as_version=4)
    # Runs in a scratch directory so nothing the notebook writes lands in the repository;
    # a failing cell raises CellExecutionError naming the cell and the traceback.
    client = NotebookClient(
        nb, timeout=180, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()
    outputs = [(i, o) for i, c in enumerate(nb.cells) if c.cell_type == "code" for o in c.outputs]
    errors = [i for i, o in outputs if o.output_type == "error"]
    assert not errors, f"{path.name}: error outputs in cells {errors}"
    # A warning (TqdmWarning, a FutureWarning from a dependency...) is noise a newcomer reads as
    # something wrong: every stderr stream must stay empty.
    stderr = {i: o.text for i, o in outputs if o.output_type == "stream" and o.name == "stderr"}
    assert not stderr, f"{path.name}: stderr output in cells {stderr}"
    assert any(c.outputs for c in nb.cells if c.cell_type == "code")
    _check_no_stray_reprs(path.name, [o for _, o in outputs])
    if path.name == "quickstart.ipynb":
        # The tour plants an error burst on rain.net and a slow proxy: find_incidents must show both.
        html = " ".join(o.get("data", {}).get("text/html", "") for _, o in outputs)
        assert "<b>Incidents</b>: 2 found" in html
        assert "domain = rain.net" in html and "198.19.1.17" in html


def _check_no_stray_reprs(name: str, outputs: list[nbformat.NotebookNode]) -> None:
    """No cell ends on a setter whose return value Jupyter then prints (``polars.config.Config``)."""
    shown = [o.get("data", {}).get("text/plain", "") for o in outputs if o.output_type == "execute_result"]
    stray = [text for text in shown if "polars.config.Config" in text or text.startswith("<matplotlib")]
    assert not stray, f"{name}: stray reprs {stray}"
