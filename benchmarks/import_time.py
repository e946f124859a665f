"""Import time: ``import kaggle_kit`` (and a tree-only notebook's imports) against torch, xgboost, lightgbm, polars.

Each statement runs in ``--runs`` fresh interpreters (``python -X importtime -c STATEMENT``), in rotation so that a
burst of load on the machine hits all of them alike. Printed per statement: the median wall time of the process
less that of an empty interpreter (``python -c pass``, measured the same way), the median of the import time
Python itself reports (the cumulative ``-X importtime`` figures of the top-level modules the statement imported),
the ratio of each to ``import kaggle_kit``, and whether torch, xgboost and lightgbm ended up in ``sys.modules``.

Issue 7's requirement is checked outright: ``import kaggle_kit``, and the imports of a tree-only notebook
(``from kaggle_kit import load_spec, run, fit_blend, leaderboard``), must not import torch; the script exits non-zero
if either does.

    .venv/bin/python benchmarks/import_time.py              # 15 runs of each
    .venv/bin/python benchmarks/import_time.py --quick      # 1 run, no warm-up: the test suite's check
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from _machine import load_average, machine_line

REPO = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "xgboost", "lightgbm", "polars")
#: label -> statement; the first is the reference of the ratios
STATEMENTS = {
    "import kaggle_kit": "import kaggle_kit",
    "tree-only notebook": (
        "from kaggle_kit import load_spec, run, fit_blend, leaderboard; "
        "import kaggle_kit.runtime.runner, kaggle_kit.blend"
    ),
    "import polars": "import polars",
    "import xgboost": "import xgboost",
    "import lightgbm": "import lightgbm",
    "import torch": "import torch",
}
_PROBE = f"; import sys, json; print(json.dumps({{m: m in sys.modules for m in {HEAVY!r}}}))"
# -X importtime lines: "import time: self [us] | cumulative | imported package", nesting shown by indentation
_LINE = re.compile(r"^import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def one_run(statement: str) -> tuple[float, float, dict[str, bool]]:
    """(process wall seconds, import seconds Python reports, which heavy modules got imported) for one fresh run."""
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement + _PROBE],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{statement!r} failed:\n{proc.stderr[-2000:]}")
    # the top-level entries (no indentation) imported by the statement; the interpreter's own startup imports come
    # before the first line of the statement's, and are the same in the empty run, so they cancel in the wall time
    top = [int(m.group(2)) for line in proc.stderr.splitlines() if (m := _LINE.match(line)) and m.group(3) == ""]
    baseline = _startup_entries()
    imported_us = sum(top[baseline:]) if len(top) > baseline else 0
    return wall, imported_us / 1e6, json.loads(proc.stdout.strip().splitlines()[-1])


_STARTUP: list[int] = []


def _startup_entries() -> int:
    """How many top-level ``-X importtime`` entries an empty interpreter prints (site, encodings, ...)."""
    if not _STARTUP:
        proc = subprocess.run([sys.executable, "-X", "importtime", "-c", "pass"], capture_output=True, text=True)
        _STARTUP.append(sum(1 for line in proc.stderr.splitlines() if (m := _LINE.match(line)) and m.group(3) == ""))
    return _STARTUP[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="fresh interpreters per statement")
    parser.add_argument("--quick", action="store_true", help="1 run each, no warm-up: for the test suite")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.runs = 1

    print(machine_line())
    load_before = load_average()
    empty: list[float] = []
    walls: dict[str, list[float]] = {label: [] for label in STATEMENTS}
    reported: dict[str, list[float]] = {label: [] for label in STATEMENTS}
    loaded: dict[str, dict[str, bool]] = {}
    if not args.quick:  # warm the page cache: the first import of each library reads its files from disk
        for statement in STATEMENTS.values():
            one_run(statement)
    for _ in range(args.runs):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        empty.append(time.perf_counter() - start)
        for label, statement in STATEMENTS.items():
            wall, imp, mods = one_run(statement)
            walls[label].append(wall)
            reported[label].append(imp)
            loaded[label] = mods
    base = statistics.median(empty)
    print(f"{args.runs} fresh interpreters per statement; empty interpreter {base * 1000:.0f} ms (median)")
    print(f"{'statement':<20} {'wall - empty':>13} {'x kit':>7} {'-X importtime':>14} {'x kit':>7}  imports")
    ref_wall = statistics.median(walls["import kaggle_kit"]) - base
    ref_imp = statistics.median(reported["import kaggle_kit"])
    figures = {"runs": args.runs, "empty_interpreter_s": base, "load_before": load_before, "statements": {}}
    for label in STATEMENTS:
        w = statistics.median(walls[label]) - base
        i = statistics.median(reported[label])
        heavy = ", ".join(m for m, present in loaded[label].items() if present) or "none of " + "/".join(HEAVY)
        print(
            f"{label:<20} {w * 1000:>10.0f} ms {w / ref_wall:>7.2f} {i * 1000:>11.0f} ms {i / ref_imp:>7.2f}  {heavy}"
        )
        figures["statements"][label] = {
            "wall_s": w,
            "importtime_s": i,
            "ratio_wall": w / ref_wall,
            "loaded": loaded[label],
        }
    figures["load_after"] = load_average()
    print(f"load average {load_before} -> {figures['load_after']}")
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=1))
    torch_leaks = [label for label in ("import kaggle_kit", "tree-only notebook") if loaded[label]["torch"]]
    if torch_leaks:
        raise SystemExit(f"issue 7 not met: torch is imported by {', '.join(torch_leaks)}")
    print("issue 7: neither `import kaggle_kit` nor a tree-only notebook's imports import torch: ok")


if __name__ == "__main__":
    main()
