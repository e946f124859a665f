"""AutoGluon's side of ``autogluon_compare.py``: run in AutoGluon's own virtual environment, never kaggle_kit's.

    /tmp/ag-venv/bin/python benchmarks/_autogluon_side.py JOB.json

``JOB.json`` names the train and test CSV files, the id and label columns, the metric (AutoGluon's name), the time
limit in seconds, the presets, the bagging folds and an output folder. The script fits a ``TabularPredictor`` on the
train rows (the id column left out), writes the test rows' class probabilities to ``test_proba.csv`` (the id, then one
column per class label; for regression one ``prediction`` column) and ``result.json`` with the validation score
AutoGluon reports for its best model, the model's name, the fit's wall time, and the versions. It imports nothing from
kaggle_kit: the two sides share only files, so that the scoring is done the same way for both, by the caller.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path


def main(job_path: str) -> None:
    import pandas as pd
    from autogluon.tabular import TabularPredictor
    from autogluon.tabular import __version__ as ag_version

    job = json.loads(Path(job_path).read_text())
    out = Path(job["out"])
    out.mkdir(parents=True, exist_ok=True)
    train = pd.read_csv(job["train"])
    test = pd.read_csv(job["test"])
    id_col, label = job["id"], job["label"]
    start = time.perf_counter()
    predictor = TabularPredictor(
        label=label,
        problem_type=job.get("problem_type"),  # a count target (randhie's visits) is not inferred as multiclass
        eval_metric=job["metric"],
        path=str(out / "ag_model"),
        verbosity=job.get("verbosity", 1),
    ).fit(
        train.drop(columns=[id_col]),
        time_limit=job["time_limit"],
        presets=job["presets"],
        num_bag_folds=job["num_bag_folds"] or None,
        num_stack_levels=0 if job["num_bag_folds"] else None,
    )
    fit_seconds = time.perf_counter() - start
    board = predictor.leaderboard(silent=True)
    if predictor.problem_type == "regression":  # one column of predicted values
        proba = predictor.predict(test.drop(columns=[id_col])).to_frame("prediction")
    else:
        proba = predictor.predict_proba(test.drop(columns=[id_col]), as_multiclass=True)
    proba.columns = [str(c) for c in proba.columns]
    proba.insert(0, id_col, test[id_col].to_numpy())
    proba.to_csv(out / "test_proba.csv", index=False)
    best = predictor.model_best
    result = {
        "autogluon": ag_version,
        "fit_seconds": fit_seconds,
        "time_limit": job["time_limit"],
        "presets": job["presets"],
        "num_bag_folds": job["num_bag_folds"],
        "best_model": best,
        # with bagging, score_val is the out-of-fold score over the training rows (a CV estimate); without it, the
        # score on AutoGluon's own holdout, which also picked the ensemble weights (optimistic)
        "score_val": float(board.loc[board["model"] == best, "score_val"].iloc[0]),
        "models_fitted": len(board),
        "cpu_count": os.cpu_count(),
    }
    (out / "result.json").write_text(json.dumps(result, indent=1))
    print(json.dumps(result))


if __name__ == "__main__":
    main(sys.argv[1])
