"""Issue #14 on a real run with repeated folds (2 x 5): a blend of one model scores exactly that model, models and
blends are ranked on the same basis by ``kaggle-kit blend`` and ``kaggle-kit report``, the verdict's numbers agree
with an independent computation from the stored predictions, test predictions average every repeat x fold, and
stored blends are protected like models."""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import demo_spec, fast_models, geometric_pool
from sklearn.metrics import roc_auc_score

from kaggle_kit.blend import blend_report, fit_blend
from kaggle_kit.cli import main
from kaggle_kit.errors import StoreError
from kaggle_kit.report import collect_report
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

NAIVE_BAYES = {"name": "nb", "kind": "sklearn", "estimator": "sklearn.naive_bayes.GaussianNB"}


@pytest.fixture(scope="module")
def repeated(demo_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    spec = demo_spec(
        "demo-breast-cancer",
        demo_data,
        models=[*fast_models(("lightgbm",)), NAIVE_BAYES],
        folds={"strategy": "stratified", "n_splits": 5, "n_repeats": 2},
        run={"n_jobs": 1, "threads_per_task": 1},
    )
    return run(spec, runs_root=tmp_path_factory.mktemp("repeated"), progress=None).run_dir


def _ids(run_dir: Path) -> np.ndarray:
    return pl.read_parquet(run_dir / "folds.parquet").select(pl.col("^fold_r\\d+$")).to_numpy().T  # (repeats, rows)


def _y(run_dir: Path) -> np.ndarray:
    return pl.read_parquet(run_dir / "target.parquet")["y"].to_numpy()


def _fold_aucs(run_dir: Path, positive: np.ndarray) -> list[float]:
    """sklearn's AUC on each (repeat, fold)'s rows of a stored train-order prediction: computed here, from files."""
    y, ids = _y(run_dir), _ids(run_dir)
    return [roc_auc_score(y[ids[r] == k], positive[ids[r] == k]) for r in range(2) for k in range(5)]


def _model_positive(run_dir: Path, name: str) -> np.ndarray:
    return RunStore(run_dir).read_predictions(name, "oof")["p_malignant"].to_numpy()


def _blend_positive(run_dir: Path, name: str) -> np.ndarray:
    return pl.read_parquet(run_dir / "blends" / name / "oof.parquet")["p_malignant"].to_numpy()


def test_a_one_model_blend_scores_exactly_its_model(repeated: Path) -> None:
    """The bug: a hill-climbing blend whose only weight is lgbm scored 0.99259 while lgbm scored 0.98519, because
    blends were scored on predictions averaged over repeats and models per repeat."""
    result = fit_blend(repeated, "hill_climb", models=["lgbm"], name="lgbm_only")
    assert result.weights == (1.0,) and len(result.folds) == 10
    expected = _fold_aucs(repeated, _model_positive(repeated, "lgbm"))
    np.testing.assert_allclose(result.fold_scores, expected, rtol=1e-12)
    report = blend_report(repeated, "hill_climb", models=["lgbm"], save=False)
    lgbm = report.models[0]
    assert report.model_mean(lgbm) == pytest.approx(np.mean(expected), abs=1e-12) == report.best_blend.mean
    assert not report.beats_best_model and report.verdict().startswith("No blend beats")
    assert "(+0.00000;" in report.verdict()
    assert report.choice() == ("model", "lgbm")  # a tie is not a win: the model is submitted


def test_the_verdict_and_both_rankings_agree_with_an_independent_computation(repeated: Path) -> None:
    report = blend_report(repeated, "mean,hill_climb", models=["lgbm", "nb"])
    means = {n: float(np.mean(_fold_aucs(repeated, _model_positive(repeated, n)))) for n in ("lgbm", "nb")}
    means |= {b: float(np.mean(_fold_aucs(repeated, _blend_positive(repeated, b)))) for b in ("mean", "hill_climb")}
    best_model = max(("lgbm", "nb"), key=lambda n: means[n])
    best_blend = max(("mean", "hill_climb"), key=lambda n: means[n])
    assert report.best_model.name == best_model and report.best_blend.name == best_blend
    verdict = report.verdict()
    assert f"{means[best_blend]:.5f}" in verdict and f"({means[best_model]:.5f})" in verdict
    margin = abs(means[best_blend] - means[best_model])
    if means[best_blend] > means[best_model]:
        assert verdict.startswith("The best blend") and f"by {margin:.5f}" in verdict
    else:
        assert verdict.startswith("No blend beats") and f"({means[best_blend] - means[best_model]:+.5f};" in verdict

    # `kaggle-kit report` and `kaggle-kit blend` rank the same rows best first by these means (ties in either order:
    # a selection that keeps only lgbm scores exactly lgbm)
    ranked = sorted(means.values(), reverse=True)
    entries = [e.name for e in collect_report(repeated, adversarial=False).entries if e.name in means]
    lines = [line.split()[1] for line in report.text().splitlines() if line[:2].strip().isdigit()]
    lines = [n for n in lines if n in means]
    assert sorted(entries) == sorted(lines) == sorted(means)
    assert [means[n] for n in entries] == ranked and [means[n] for n in lines] == ranked


def test_test_predictions_pool_every_repeat_and_fold(repeated: Path) -> None:
    """A model's test predictions pool its 2 x 5 fold models' (read from the fold files), and a stacked
    blend's are the mean of its 2 x 5 level-2 fits (it differs from the blend of the models' test predictions)."""
    store = RunStore(repeated)
    key = store.current_models()["lgbm"]
    fold_tests = []
    for r in range(2):
        for k in range(5):
            folder = store.fold_dir("lgbm", key, r, k)
            fold_tests.append(np.load(folder / "test.npy", allow_pickle=False))
    stored = store.read_predictions("lgbm", "test").drop("id").to_numpy()
    np.testing.assert_allclose(stored, geometric_pool(fold_tests), rtol=1e-5)
    assert not np.allclose(stored, geometric_pool(fold_tests[:5]), atol=1e-7)  # the second repeat counts


def test_stored_blend_predictions_are_checksummed(repeated: Path, tmp_path: Path) -> None:
    fit_blend(repeated, "mean", models=["lgbm", "nb"], name="guarded")
    folder = repeated / "blends" / "guarded"
    sums = json.loads((folder / "checksums.json").read_text())
    assert set(sums) == {"oof.parquet", "test.parquet"}
    assert sums["test.parquet"] == hashlib.sha256((folder / "test.parquet").read_bytes()).hexdigest()
    original = (folder / "oof.parquet").read_bytes()
    try:
        frame = pl.read_parquet(folder / "oof.parquet")
        frame.with_columns(pl.col("p_malignant").reverse()).write_parquet(folder / "oof.parquet")
        with pytest.raises(StoreError, match=r"guarded/oof.parquet does not match its checksum in checksums.json"):
            collect_report(repeated, adversarial=False)
    finally:
        (folder / "oof.parquet").write_bytes(original)
    assert collect_report(repeated, adversarial=False).entries  # restored: readable again


def test_cli_blend_auto_reports_the_guard(repeated: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["blend", str(repeated), "--method", "auto", "--models", "lgbm,nb"]) == 0
    out = capsys.readouterr().out
    stored = {p.name for p in (repeated / "blends").iterdir()}
    assert "hill_climb" in stored
    dropped = "Stacking dropped" in out  # then reported with both scores, and neither stored nor ranked
    assert dropped == ("stack" not in stored)
    if dropped:
        assert "does not beat the ensemble selection 'hill_climb'" in out


def test_names_are_unique_across_models_and_blends(repeated: Path) -> None:
    from kaggle_kit.errors import ConfigError

    with pytest.raises(ConfigError, match=r"the blend name 'nb' is the name of a model .*--name nb_blend"):
        fit_blend(repeated, "mean", models=["lgbm", "nb"], name="nb")
    assert not (repeated / "blends" / "nb").exists()
    # a blend stored under a name a model of the run takes later (here: a folder copied there) is refused too
    fit_blend(repeated, "mean", models=["lgbm", "nb"], name="later")
    shutil.copytree(repeated / "blends" / "later", repeated / "blends" / "nb")
    try:
        with pytest.raises(StoreError, match=r"'nb' name both a model .* and a stored blend"):
            blend_report(repeated, "mean", save=False)
    finally:
        shutil.rmtree(repeated / "blends" / "nb")
