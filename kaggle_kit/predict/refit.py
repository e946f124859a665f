"""Refit on all rows (AutoGluon's ``refit_full``): one model per config trained on every training row.

Each model is trained as its folds were, with the number of boosting rounds (or net epochs) fixed to the mean over
its folds of the best iteration early stopping found, and no early stopping (``num_boost_round`` = that,
``early_stopping_rounds`` off; nets: ``epochs`` = that, ``patience`` 0); a model fitted one target at a time
(multilabel / multiregression) trains each target for the mean of its own. Its feature pipeline is fitted on all rows.
It is stored beside the fold models as ``models/<name>/<key>/refit/`` (``features.json``, the native model file,
``result.json`` with the files' SHA-256) and used by ``kaggle-kit predict --refit``. It has no held-out rows, so its
CV is "not measured": the fold models' CV is the estimate it inherits.

The training rows come from the run's spec (``spec.toml``, paths relative to the recorded config folder) or from
a ``train`` file / frame given here, taken as the run took its own: the run's feature columns in the run's order
(one missing is refused, others left out with a warning) and the run's labels.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..config import ModelSpec, names_of
from ..errors import ConfigError, DataError, DataWarning, StoreError, allowed
from ..features import FeatureMatrix
from ..models import FitContext, make_adapter
from ..models.files import resolve_files
from ..models.multi_target import PerTargetAdapter
from ..models.nn.families import FAMILIES
from ..readers.competition import CompetitionData, column_record, load_competition, prepare_competition
from ..readers.options import ReadOptions
from ..readers.paths import require_given_file
from ..readers.tables import read_table
from ..runtime.store import KAGGLE_WRITABLE, check_writable, sha256_bytes
from .models import REFIT
from .run_folder import RunFolder


@dataclass(frozen=True)
class RefitResult:
    """What ``refit`` produced for one model: rounds / epochs used, rows, time, and the honest CV ("not measured")."""

    model: str
    key: str
    iterations: int | None  # boosting rounds or epochs; None for a family without them (forests, linear)
    n_train: int
    fit_seconds: float
    cv: str = "not measured"
    files: dict[str, str] | None = None


def refit(
    run_dir: Path | str,
    models: Sequence[str] | str | None = None,
    *,
    train: pl.DataFrame | str | Path | None = None,
    threads: int = 1,
    progress: Callable[[str], None] | None = print,
) -> list[RefitResult]:
    """Refit ``models`` (default: every finished model of the run) on all training rows; see the module doc."""
    say = progress or (lambda _msg: None)
    folder = RunFolder.open(run_dir)
    require_given_file(train, "train", "--train FILE (train= in Python)")
    from ..runtime.pseudo import pseudo_base

    models = names_of(models)  # refit(run_dir, "lgbm"): the model, not its letters
    names = [folder.check_model(n) for n in models] if models else folder.model_names()
    pseudo = [n for n in names if pseudo_base(n) is not None]
    if pseudo and models:
        raise ConfigError(
            f"model {pseudo[0]!r} is pseudo-labelled: each fold trained on its own pseudo labels, and a refit on all "
            "rows has none to train on; predict with its fold models (leave --refit out)"
        )
    for name in pseudo:
        say(f"refit skips {name!r}: a pseudo-labelled model predicts with its fold models")
    names = [n for n in names if n not in pseudo]
    if not models:  # every model: those reading a net's embeddings have no refit (refit_model says why)
        readers = [n for n in names if folder.model_spec(n).embeddings is not None]
        for name in readers:
            say(f"not refit {name!r}: it reads out-of-fold embeddings, so it predicts with its fold models")
        names = [n for n in names if n not in readers]
    if names:  # before the training rows are read and the models fitted, not on the first write after that
        check_writable(
            folder.store.root / "models",
            "the refit models",
            f"a refit is stored in its run folder: copy the run folder somewhere writable and refit the copy "
            f"({KAGGLE_WRITABLE})",
        )
    data = _training_data(folder, train)
    out = []
    for name in names:
        result = refit_model(folder, name, data, threads=threads)
        it = f"{result.iterations} round(s) / epoch(s)" if result.iterations else "as configured"
        say(f"refit {name!r} on {result.n_train} rows ({it}) in {result.fit_seconds:.1f}s; CV: not measured")
        out.append(result)
    return out


def _training_data(folder: RunFolder, train: pl.DataFrame | str | Path | None) -> CompetitionData:
    spec = folder.spec.model_copy(update={"data": folder.spec.data.model_copy(update={"test": None})})
    if train is None:
        path = spec.resolve(spec.data.train)
        if not path.exists():
            raise DataError(
                f"refit needs the training rows: {str(path)!r} (data.train of the run's spec) does not exist here; "
                "pass the training file with --train FILE"
            )
        return _as_the_run_trained(folder, load_competition(spec), f"the training file {str(path)!r}")
    if spec.data.sequences is not None or spec.data.images is not None:
        raise DataError("--train with [data.sequences] or [data.images] is not supported yet; refit from the spec")
    if isinstance(train, (str, Path)):
        frame = read_table(Path(train), role="train", options=ReadOptions.from_spec(spec))
        return _as_the_run_trained(folder, prepare_competition(spec, frame, None), f"--train {str(train)!r}")
    # a polars or pandas frame (prepare_competition converts it)
    return _as_the_run_trained(folder, prepare_competition(spec, train, None), "the train frame given")


def _as_the_run_trained(folder: RunFolder, data: CompetitionData, source: str) -> CompetitionData:
    """``data`` with the run's feature columns, in the run's order, and its classes: the refit is the run's model
    fitted on all rows. A training file of other columns (one left out, one added, the columns in another order)
    or other labels had been fitted as it was: a model without the column, or of other columns than the new rows
    are checked against, or each class's probability written under another class's column, without a word."""
    record = folder.meta.get("columns")
    if record is None:  # a run made before it recorded them: predict says to rerun it
        return data
    missing = [c for c in record if c not in data.train.columns]
    if missing:
        raise DataError(
            f"the training rows ({source}) lack feature column(s) {allowed(missing)} that the run's models were "
            "trained on; a refit trains the run's models on all rows of the run's columns: give training rows "
            "with every feature column of the run"
        )
    given = column_record(data.train, list(record), data.categorical)  # its own kinds: text read as text
    other = [c for c in record if "null" not in (record[c][1], given[c][1]) and record[c][1] != given[c][1]]
    if other:
        said = ", ".join(f"{c!r} as {given[c][1]} ({given[c][0]})" for c in other)
        run_said = ", ".join(f"{record[c][1]} ({record[c][0]})" for c in other)
        raise DataError(
            f"the training rows ({source}) hold column(s) {said}, but the run read them as {run_said}; a refit "
            "trains the run's models on the run's columns: give them as the run's training file does (a value "
            "that is no number turns a column of numbers into text; dates in another format are text)"
        )
    extra = [c for c in data.features if c not in record]
    if extra:
        warnings.warn(
            f"the training rows ({source}) hold column(s) {allowed(extra)} that are no feature of the run: left "
            "out of the refit (the run's models never read them, and new rows are checked against the run's "
            "columns)",
            DataWarning,
            stacklevel=4,
        )
    run_classes = folder.meta.get("classes")
    if run_classes is not None and data.classes is not None and not _same_labels(data.classes, run_classes):
        raise DataError(
            f"the training rows ({source}) hold the target labels {[str(c) for c in data.classes]}, but the "
            f"run's models predict the classes {[str(c) for c in run_classes]}; a refit's probabilities are "
            "written under the run's class columns: give training rows of the run's labels (every class)"
        )
    kept = set(record)
    return replace(data, features=tuple(record), categorical=tuple(c for c in data.categorical if c in kept))


def _same_labels(given: Sequence[object], run: Sequence[object]) -> bool:
    """The same labels in the same order, a number written otherwise alike (``1.0`` for the run's ``1``)."""

    def number(label: object) -> float | None:
        try:
            return float(str(label))
        except ValueError:
            return None

    return len(given) == len(run) and all(
        str(a) == str(b) or (number(a) is not None and number(a) == number(b)) for a, b in zip(given, run, strict=True)
    )


def refit_spec(spec: ModelSpec, iterations: int | None) -> ModelSpec:
    """``spec`` trained for exactly ``iterations`` rounds / epochs, without early stopping."""
    if iterations is None:
        return spec
    if spec.kind in FAMILIES:
        return spec.model_copy(update={"params": {**spec.params, "epochs": iterations, "patience": 0}})
    return spec.model_copy(update={"num_boost_round": iterations, "early_stopping_rounds": None})


def refit_model(folder: RunFolder, name: str, data: CompetitionData, *, threads: int = 1) -> RefitResult:
    from ..runtime.fold_fit import _to_fit_space, fit_features

    source = folder.model_spec(name).embeddings
    if source is not None:
        raise ConfigError(
            f"model {name!r} reads the out-of-fold embeddings of {source!r}, which a model fit on all rows cannot "
            "have (no net held its rows out): refit is not built for it; predict with its fold models"
        )
    summary = folder.store.read_summary(name)
    iterations = max(1, round(summary.best_iteration)) if summary.best_iteration is not None else None
    spec = resolve_files(refit_spec(folder.model_spec(name), iterations), folder.spec.base_dir)
    adapter = make_adapter(spec, data.task)
    if isinstance(adapter, PerTargetAdapter):  # each target for its own rounds (a rare label stops early)
        adapter = _per_target_rounds(adapter, folder, name, data.task)
    images = data.images.cached_in(folder.root) if data.images is not None else None
    ctx = FitContext(
        data.task,
        data.n_classes,
        folder.metric,
        folder.spec.seed,
        "cpu",
        threads,
        images=images,
        sequences=data.sequences,
        classes=data.classes,
    )
    features = data.features_for(getattr(adapter, "reads_images", False))
    y = _to_fit_space(data.y, folder.metric)
    state: dict[str, Any]
    if not adapter.reads_features:
        state = {}
        X = FeatureMatrix(np.empty((data.train.height, 0), dtype=np.float32), (), ())
    else:  # as each fold encoded its training rows
        X, state, _ = fit_features(folder.spec, spec, data, features, data.train, y, ctx.seed)
    start = time.perf_counter()
    # no early stopping: the "validation" rows are the training rows, only for the learning curve in history.json
    fitted = adapter.fit(X, y, X, y, ctx)
    seconds = round(time.perf_counter() - start, 4)
    key = folder.key(name)
    result = RefitResult(name, key, iterations, data.train.height, seconds)
    _write_refit(
        folder.store.model_dir(name, key) / REFIT,
        result,
        {"features.json": json.dumps(state).encode(), "history.json": json.dumps(fitted.history).encode()},
        lambda tmp: adapter.save(fitted, tmp / adapter.file_name),
    )
    return result


def _per_target_rounds(adapter: PerTargetAdapter, folder: RunFolder, name: str, task: str) -> PerTargetAdapter:
    """``adapter`` with one inner adapter per target, each trained for the mean over the folds of that target's kept
    rounds (its folds' ``target_iterations``); ``adapter`` as it is where the folds recorded none (a family without
    rounds, or folds stored before they were recorded). The mean over every target trained a label early stopping
    kept at 20 rounds for the 300 of a common one."""
    per_fold = [folder.fold(name, r, k)[1].target_iterations for r, k in folder.folds().tasks()]
    if not per_fold or any(t is None for t in per_fold):
        return adapter
    rounds = []
    for j in range(len(per_fold[0] or ())):
        kept = [t[j] for t in per_fold if t is not None and t[j] is not None]
        rounds.append(max(1, round(float(np.mean(kept)))) if kept else None)
    if all(r is None for r in rounds):
        return adapter
    spec = folder.model_spec(name)
    inners = [
        make_adapter(resolve_files(refit_spec(spec, r), folder.spec.base_dir), task).inner  # type: ignore[attr-defined]
        if r is not None
        else adapter.inner
        for r in rounds
    ]
    return PerTargetAdapter(adapter.inner, adapter.name, per_target=inners)


def _write_refit(final: Path, result: RefitResult, blobs: dict[str, bytes], save: Callable[[Path], None]) -> None:
    """Write the refit folder under a temporary name, with the files' checksums, and rename it into place (an
    earlier refit of the same model is replaced)."""
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(dir=final.parent, prefix=f".{final.name}.{os.getpid()}.", suffix=".tmp"))
    except OSError as exc:
        raise StoreError(f"cannot write {final} ({exc.strerror or exc}); refit needs a writable run folder") from None
    try:
        for fname, blob in blobs.items():
            (tmp / fname).write_bytes(blob)
        save(tmp)
        files = {p.name: sha256_bytes(p.read_bytes()) for p in sorted(tmp.iterdir()) if p.is_file()}
        (tmp / "result.json").write_text(json.dumps({**asdict(result), "files": files}, indent=1))
        if final.exists():
            aside = final.with_name(f".{final.name}.{os.getpid()}.old.tmp")
            os.rename(final, aside)
            shutil.rmtree(aside, ignore_errors=True)
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def check_refit(folder: Path) -> RefitResult:
    """The refit's record, every file checked against its SHA-256."""
    path = folder / "result.json"
    try:
        record = json.loads(path.read_text())
        result = RefitResult(**record)
    except (OSError, json.JSONDecodeError, TypeError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path} is unreadable ({type(exc).__name__}); run `kaggle-kit refit` again") from None
    for fname, digest in (result.files or {}).items():
        target = folder / fname
        if not target.is_file() or sha256_bytes(target.read_bytes()) != digest:
            raise StoreError(f"{target} is missing or does not match its checksum; run `kaggle-kit refit` again")
    return result
