"""Optional experiment tracking: the records the history database keeps, logged to MLflow when a user asks for it.

Install the extra (``pip install kaggle_kit[mlflow]``). One MLflow experiment per competition and metric (a run of
the competition scored by another metric than the experiment's goes to ``<competition> (<metric>)``: MLflow compares
the runs of an experiment key by key, and ``lgbm.cv`` in rmse beside ``lgbm.cv`` in mae is no comparison), one
MLflow run per kit run record: its identity as parameters (task, metric, config hash, code version, ...), every
model's CV, mean, std, fit time and per-fold scores (the fold as the step) and every blend's CV and nested CV as
metrics, and the report files as artifacts when they exist.

The default tracking store is local and needs no server: a SQLite file ``<runs root>/mlflow.db`` with artifacts in
``<runs root>/mlartifacts`` (MLflow 3 refuses the old ``./mlruns`` file store unless ``MLFLOW_ALLOW_FILE_STORE`` is
set; pass ``tracking_uri="file:..."`` with it if you want that one).
"""

from __future__ import annotations

import math
from pathlib import Path

from ..errors import KitError
from .history import History, default_db
from .records import RunSnapshot, snapshot

#: the experiment tag naming the metric its runs are scored by
METRIC_TAG = "kaggle_kit.metric"


def default_tracking_uri(runs_root: Path | str) -> str:
    return f"sqlite:///{Path(runs_root).resolve() / 'mlflow.db'}"


def log_to_mlflow(
    run_dir: Path | str,
    *,
    tracking_uri: str | None = None,
    experiment: str | None = None,
    code_dir: Path | str | None = None,
    db: Path | str | None = None,
) -> str:
    """Log the run folder's current records to MLflow; returns the MLflow run id.

    ``tracking_uri`` defaults to :func:`default_tracking_uri` of the run's runs root, ``experiment`` to the
    competition's name. The submissions of this run folder recorded in the history database ``db`` (default: the
    run's, when it exists) are logged with their CV and public leaderboard scores (``lb.<source>.public``).
    """
    try:
        from mlflow.entities import Metric, Param, RunTag
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise KitError("MLflow tracking needs the mlflow extra: pip install 'kaggle_kit[mlflow]'") from None

    snap = snapshot(run_dir, code_dir=code_dir)
    runs_root = snap.run_dir.parent
    client = MlflowClient(tracking_uri=tracking_uri or default_tracking_uri(runs_root))
    name = experiment or snap.competition
    found = client.get_experiment_by_name(name)
    if experiment is None and found is not None and _experiment_metric(client, found) not in (None, snap.metric):
        name = f"{snap.competition} ({snap.metric})"  # another metric's runs: not compared key by key with these
        found = client.get_experiment_by_name(name)
    if found is not None:
        experiment_id = found.experiment_id
    else:
        artifacts = (runs_root / "mlartifacts").resolve()
        experiment_id = client.create_experiment(
            name, artifact_location=artifacts.as_uri(), tags={METRIC_TAG: snap.metric}
        )

    run = client.create_run(experiment_id, run_name=snap.run_dir.name, tags={"kaggle_kit.run_dir": str(snap.run_dir)})
    run_id = run.info.run_id
    try:
        timestamp = run.info.start_time
        triples = _metrics(snap) + _submission_metrics(snap, Path(db) if db else default_db(snap.run_dir))
        metrics = [Metric(key, value, timestamp, step) for key, value, step in triples]
        params = [Param(k, str(v)) for k, v in _params(snap).items() if v is not None]
        tags = [RunTag("kaggle_kit.kit_version", snap.kit_version)]
        for start in range(0, max(len(metrics), 1), 1000):  # MLflow takes at most 1000 metrics per batch
            client.log_batch(
                run_id,
                metrics=metrics[start : start + 1000],
                params=params if start == 0 else [],
                tags=tags if start == 0 else [],
            )
        for artifact in ("report/report.html", "report/report.md", "spec.toml"):
            path = snap.run_dir / artifact
            if path.is_file():
                client.log_artifact(run_id, str(path))
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    client.set_terminated(run_id)
    return run_id


def _experiment_metric(client: object, experiment: object) -> str | None:
    """The metric an experiment's runs are scored by: its tag, else (made before the tag) its latest run's parameter;
    None for an empty experiment."""
    tagged = experiment.tags.get(METRIC_TAG)  # type: ignore[attr-defined]
    if tagged:
        return str(tagged)
    runs = client.search_runs(  # type: ignore[attr-defined]
        [experiment.experiment_id],  # type: ignore[attr-defined]
        max_results=1,
        order_by=["attributes.start_time DESC"],
    )
    return runs[0].data.params.get("metric") if runs else None


def _params(snap: RunSnapshot) -> dict[str, object]:
    return {
        "competition": snap.competition,
        "task": snap.task,
        "metric": snap.metric,
        "config_hash": snap.config_hash,
        "code_version": snap.code_version,
        "data_fingerprint": snap.data_fingerprint,
        "folds_fingerprint": snap.folds_fingerprint,
        "n_train": snap.n_train,
        "n_test": snap.n_test,
        "models": ",".join(m.name for m in snap.models),
    }


def _metrics(snap: RunSnapshot) -> list[tuple[str, float, int]]:
    """(key, value, step) triples; NaN values (failed models) are left out."""
    out: list[tuple[str, float, int]] = []
    for m in snap.models:
        out += [
            (f"{m.name}.cv", m.cv, 0),
            (f"{m.name}.cv_mean", m.mean, 0),
            (f"{m.name}.cv_std", m.std, 0),
            (f"{m.name}.fit_seconds", m.fit_seconds, 0),
        ]
        if m.best_iteration is not None:
            out.append((f"{m.name}.best_iteration", m.best_iteration, 0))
        out += [(f"{m.name}.fold_score", s, i) for i, s in enumerate(m.fold_scores)]
    for b in snap.blends:
        out += [(f"blend.{b.name}.cv", b.cv, 0), (f"blend.{b.name}.nested_cv", b.nested_cv, 0)]
        out += [(f"blend.{b.name}.fold_score", s, i) for i, s in enumerate(b.nested_fold_scores)]
        if b.weights is not None:
            out += [(f"blend.{b.name}.weight.{m}", w, 0) for m, w in zip(b.models, b.weights, strict=True)]
    return [(k, float(v), step) for k, v, step in out if v is not None and not math.isnan(float(v))]


def _submission_metrics(snap: RunSnapshot, db: Path) -> list[tuple[str, float, int]]:
    if not db.is_file():
        return []
    with History(db) as h:
        run_ids = {r.id for r in h.runs(snap.competition) if r.run_dir == str(snap.run_dir)}
        subs = [s for s in h.submissions(snap.competition) if s.run_id in run_ids]
    out = []
    for i, s in enumerate(subs):
        if s.public_lb is not None:
            out.append((f"lb.{s.source}.public", s.public_lb, i))
            if s.cv is not None:
                out.append((f"lb.{s.source}.cv", s.cv, i))
    return out
