"""One ranking rule for every leaderboard of the kit: the mean of the fold scores (``FoldScores.mean``), the pooled CV
(every OOF row scored at once) shown beside it but never ranked by.

The run below is built so that the two orders differ: 'near' (1-nearest neighbour) is almost exact on two of its
three group folds and far off on the third, 'line' (a ridge) is mediocre on all three. By rmse, 'line' has the better
pooled CV (2.9 vs 3.5: the squares of the bad fold dominate it) and 'near' the better fold mean (2.1 vs 2.4).
`kaggle-kit run` and `kaggle-kit leaderboard` had put 'line' first while the report, `blend`, `submit --best` and the
history named 'near' the best; the live display's "best CV" line during a run still named 'line'.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.config import build_spec
from kaggle_kit.metrics import get_metric
from kaggle_kit.runtime.progress import Fanout, LiveProgress, PlainProgress, RunProgress, terminal_progress
from kaggle_kit.runtime.runner import run


def _frames_and_spec():
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
    return spec, frame, test


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


class _ThreeArguments(PlainProgress):
    """A user's reporter as written before the fold scores were handed to reporters: ``model_done`` with its three
    arguments, calling the kit's."""

    def __init__(self, stream: io.StringIO) -> None:
        super().__init__(stream, metric=get_metric("rmse"))
        self.seen: list[tuple[str, float | None]] = []

    def model_done(self, model: str, cv: float | None, error: str | None) -> None:
        self.seen.append((model, cv))
        super().model_done(model, cv, error)


@pytest.fixture(scope="module")
def reporters() -> dict[str, RunProgress]:
    """What the run handed its reporters: the live display, and a user subclass of the plain lines."""
    tty = _Tty()
    return {"live": terminal_progress(tty, metric=get_metric("rmse")), "user": _ThreeArguments(io.StringIO())}


@pytest.fixture(scope="module")
def split_run(tmp_path_factory: pytest.TempPathFactory, reporters: dict[str, RunProgress]):
    root = tmp_path_factory.mktemp("rule")
    spec, frame, test = _frames_and_spec()
    shown = Fanout(*reporters.values())
    result = run(spec, runs_root=root, train=frame, test=test, progress=shown, record_history=False)
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


def test_the_live_best_line_ranks_by_fold_mean(split_run, reporters) -> None:
    """The run's display named 'line' the best while the run's own table, printed just after, put 'near' first: it
    ranked by the pooled CV handed to ``model_done``. The fold scores now reach the display through its own hook
    (``model_scored``), so a user's ``model_done(model, cv, error)`` is still called as before."""
    from rich.console import Console

    by = {m.name: m for m in split_run.models}
    live = reporters["live"]
    assert isinstance(live, LiveProgress) and live.best == ("near", by["near"].cv)
    assert live.best_score == pytest.approx(by["near"].mean)
    frame = io.StringIO()
    Console(file=frame, width=120, color_system=None).print(live._render())
    shown = f"near  rmse {by['near'].mean:.5f} fold mean (CV {by['near'].cv:.5f})"
    assert "best CV" in frame.getvalue() and shown in frame.getvalue()
    user = reporters["user"]
    assert isinstance(user, _ThreeArguments) and user.best == ("near", by["near"].cv)
    assert dict(user.seen) == {m.name: pytest.approx(m.cv) for m in split_run.models}  # 3 arguments, pooled CV


def test_a_reporter_given_no_fold_scores_ranks_by_the_cv_it_is_given() -> None:
    """``model_done`` alone (a caller that predates ``model_scored``): the CV it gets is all there is to rank by."""
    from kaggle_kit.runtime.scoring import FoldScores

    shown = PlainProgress(io.StringIO(), metric=get_metric("rmse"))
    shown.model_done("a", 2.0, None)
    shown.model_done("b", 1.5, None)
    assert shown.best == ("b", 1.5) and shown.best_text() == "b  rmse 1.50000"
    shown.model_scored("c", FoldScores(((0, 0), (0, 1)), (1.0, 1.2), 3.0))  # pooled 3.0 worse, fold mean 1.1 better
    shown.model_done("c", 3.0, None)
    assert shown.best == ("c", 3.0) and shown.best_text() == "c  rmse 1.10000 fold mean (CV 3.00000)"
    shown.model_done("d", 1.2, None)  # beats c's pooled CV, not its fold mean
    assert shown.best == ("c", 3.0)
