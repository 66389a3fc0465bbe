"""Which cells of the report template cost what: wall time and peak RSS per cell, in one process.

Runs the template notebook's code cells (magics dropped, figures to the Agg backend, ``display``
a no-op) over a Parquet directory, e.g. one cached by ``bench_report_scale.py``, and prints each
cell's seconds, its peak RSS and how much that peak rose above the RSS before the cell.

Usage: python benchmarks/profile_report_cells.py DIR [--start ISO --end ISO]
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import threading
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

GIB = 2**30
TEMPLATE = Path(__file__).resolve().parents[1] / "wsframes" / "report" / "template.ipynb"


def _rss() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--start", default="2026-10-01T00:00:00+00:00")
    parser.add_argument("--end", default="2026-10-31T00:00:00+00:00")
    args = parser.parse_args()
    cells = [c for c in json.loads(TEMPLATE.read_text())["cells"] if c["cell_type"] == "code"]
    import IPython.display

    IPython.display.display = lambda *a, **k: None  # the template imports it from there
    scope: dict[str, object] = {}
    peak = 0
    stop = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not stop.is_set():
            peak = max(peak, _rss())
            stop.wait(0.02)

    threading.Thread(target=sample, daemon=True).start()
    for cell in cells:
        tags = cell.get("metadata", {}).get("tags", ["?"])
        source = "".join(line for line in cell["source"] if not line.lstrip().startswith("%"))
        if "parameters" in tags:
            source += (
                f"\nstart, end = {args.start!r}, {args.end!r}\ncompare_previous = False\n"
                f"data_path = {str(args.data.resolve() / '**' / '*.parquet')!r}\nsource = 'Parquet'\n"
            )
        for statement in ast.parse(source).body:  # statement by statement: the setup cell does a lot
            before = peak = _rss()
            began = time.perf_counter()
            exec(compile(ast.Module([statement], []), tags[0], "exec"), scope)
            took = time.perf_counter() - began
            if took > 0.1:
                what = ast.unparse(statement).splitlines()[0][:60]
                print(
                    f"{tags[0]:>16} {took:7.2f}s peak {peak / GIB:5.2f} GiB (+{(peak - before) / GIB:5.2f})"
                    f"  {what}",
                    flush=True,
                )
        import matplotlib.pyplot as plt

        plt.close("all")
    stop.set()


if __name__ == "__main__":
    main()
