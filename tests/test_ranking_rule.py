"""One ranking rule for every leaderboard of the kit: the mean of the fold scores (``FoldScores.mean``), the pooled CV
(every OOF row scored at once) shown beside it but never ranked by.

The run below is built so that the two orders differ: 'near' (1-nearest neighbour) is almost exact on two of its
three group folds and far off on the third, 'line' (a ridge) is mediocre on all three. By rmse, 'line' has the better
pooled CV (2.9 vs 3.5: the squares of the bad fold dominate it) and 'near' the better fold mean (2.1 vs 2.4).
`kaggle-kit run` and `kaggle-kit leaderboard` had put 'line' first while the report, `blend`, `submit --best` and the
history named 'near' the best.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.config import build_spec
from kaggle_kit.runtime.runner import run


@pytest.fixture(scope="module")
def split_run(tmp_path_factory: pytest.TempPathFactory):
    root = tmp_path_factory.mktemp("rule")
    rng = np.random.default_rng(0)
    n = 60
    g = np.repeat([0, 1, 2], 20)
    a = np.where(g < 2, rng.uniform(0, 4, n), rng.uniform(5, 6, n))  # group 2 lies beyond the others' range
    y = np.where(g < 2, a, 10.0) + 0.05 * rng.normal(size=n)
    frame = pl.DataFrame({"id": np.arange(n), "a": a, "g": g, "y": y})
    spec = build_spec(
        {
            "name": "rule",
            "task": "regression",
            "metric": "rmse",
            "data": {"train": "t.csv", "test": "u.csv", "id": "id", "target": "y", "drop": ["g"]},
            "folds": {"strategy": "group", "group": "g", "n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [
                {
                    "name": "line",
                    "kind": "sklearn",
                    "estimator": "sklearn.linear_model.Ridge",
                    "params": {"alpha": 1e-3},
                },
                {
                    "name": "near",
                    "kind": "sklearn",
                    "estimator": "sklearn.neighbors.KNeighborsRegressor",
                    "params": {"n_neighbors": 1},
                },
            ],
        }
    )
    test = pl.DataFrame({"id": np.arange(n, n + 5), "a": np.linspace(0, 4, 5), "g": np.zeros(5, dtype=np.int64)})
    result = run(spec, runs_root=root, train=frame, test=test, progress=None, record_history=False)
    return result


def test_the_run_is_one_where_pooled_cv_and_fold_mean_disagree(split_run) -> None:
    by = {m.name: m for m in split_run.models}
    assert by["line"].cv < by["near"].cv  # rmse: 'line' is better over all rows at once
    assert by["near"].mean < by["line"].mean  # and 'near' by the mean of its fold scores


def _first(table: str) -> str:
    return next(line.split()[1] for line in table.splitlines() if line[:2].strip() == "1")


def test_kaggle_kit_run_and_leaderboard_rank_by_fold_mean(split_run, capsys) -> None:
    from kaggle_kit.cli import main
    from kaggle_kit.leaderboard import leaderboard

    assert _first(split_run.leaderboard()) == "near"  # the table `kaggle-kit run` prints at its end
    rows = leaderboard(split_run.run_dir)
    assert [r.name for r in rows][:2] == ["near", "line"] and _first(str(rows)) == "near"
    assert main(["leaderboard", str(split_run.run_dir)]) == 0
    out = capsys.readouterr().out
    assert _first(out) == "near" and "ranked by the fold mean" in out
    line = next(ln for ln in out.splitlines() if " line " in ln)
    assert f"{next(m.cv for m in split_run.models if m.name == 'line'):.5f}" in line  # the pooled CV still shown


def test_the_report_history_blend_and_submit_best_name_the_same_best(split_run, tmp_path: Path) -> None:
    from kaggle_kit.predict.best import best_choice
    from kaggle_kit.report import collect_report
    from kaggle_kit.report.families import family_report
    from kaggle_kit.report.history import History
    from kaggle_kit.report.records import snapshot

    report = collect_report(split_run.run_dir, adversarial=False)
    assert report.best is not None and report.best.name == "near"
    assert [e.name for e in report.entries][:2] == ["near", "line"]
    with History(tmp_path / "h.sqlite") as h:
        h.record_run(snapshot(split_run.run_dir))
        (recorded,) = h.runs()
    assert recorded.best == "near"
    choice = best_choice(split_run.run_dir, new_rows=False)  # submit --best, no blend stored
    assert choice.name == "near" and "the best model by fold mean is 'near'" in choice.verdict
    fam = family_report(split_run.run_dir)
    assert [r.best_model for r in fam.rows] == ["near"]  # the family's best model, as the leaderboard's
