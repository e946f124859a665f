"""Everything a blend reads from a run folder: the chosen models' OOF and test matrices (the run's own models and
imported predictions alike), their keys and CV results, the target and the run's folds."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from ..config import BASELINE_NAME
from ..errors import ConfigError, DataWarning, KitError, StoreError, allowed, did_you_mean
from ..metrics import Metric, run_metric
from ..runtime.folds import Folds
from ..runtime.scoring import score_folds
from ..runtime.store import ModelResult, RunStore, fit_command
from .storage import blend_names, external_sources, read_blend, read_external_predictions
from .target import run_target


@dataclass(frozen=True)
class RunPredictions:
    """The blendable predictions of a run, each ``(n_rows, n_columns)`` float32 in train (test) row order."""

    root: Path
    metric: Metric
    names: tuple[str, ...]
    oof: dict[str, np.ndarray]
    test: dict[str, np.ndarray] | None
    columns: tuple[str, ...]
    train_ids: pl.Series
    test_ids: pl.Series | None
    keys: dict[str, str]  # name -> store key, or the content hash of imported predictions
    results: dict[str, ModelResult]
    y: np.ndarray
    folds: Folds

    def select(self, names: Sequence[str]) -> RunPredictions:
        """The same predictions restricted to ``names`` (which must be among :attr:`names`)."""
        missing = [n for n in names if n not in self.names]
        if missing:
            raise ConfigError(f"model(s) {allowed(missing)} are not among the loaded ones {list(self.names)}")
        return RunPredictions(
            self.root,
            self.metric,
            tuple(names),
            {n: self.oof[n] for n in names},
            {n: self.test[n] for n in names} if self.test is not None else None,
            self.columns,
            self.train_ids,
            self.test_ids,
            {n: self.keys[n] for n in names},
            {n: self.results[n] for n in names},
            self.y,
            self.folds,
        )


def run_folds(store: RunStore) -> Folds:
    """The run's saved folds: ``n_splits`` from the largest fold id, the scheme from the spec's fold strategy."""
    frame = _folds_frame(store).select(pl.col("^fold_r\\d+$"))
    n_splits = int(frame.max().max_horizontal()[0]) + 1
    scheme = "past" if _fold_strategy(store) == "time" else "complement"
    folds = store.load_folds(n_splits, scheme)
    assert folds is not None
    return folds


def _fold_strategy(store: RunStore) -> str | None:
    try:
        import tomllib
    except ModuleNotFoundError:  # pragma: no cover - Python 3.10
        import tomli as tomllib

    spec = store.root / "spec.toml"
    if spec.is_file():
        return tomllib.loads(spec.read_text()).get("folds", {}).get("strategy")
    ids = _folds_frame(store).select(pl.col("^fold_r\\d+$")).to_numpy()
    return "time" if (ids == -1).any() else None  # only time folds leave rows never validated


def train_ids(store: RunStore) -> pl.Series:
    """The run's training ids in train row order (the first column of folds.parquet)."""
    frame = _folds_frame(store)
    return frame[frame.columns[0]]


def _folds_frame(store: RunStore) -> pl.DataFrame:
    """``folds.parquet`` as written by the run, with an error naming the file when it is missing or unreadable."""
    path = store.folds_path
    if not path.is_file():
        raise StoreError(f"{str(store.root)!r} has no folds.parquet; run `kaggle-kit run` on it first")
    try:
        return pl.read_parquet(path)
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise StoreError(
            f"{path} is corrupted ({exc}); delete it and run the competition again (`kaggle-kit run CONFIG`): the "
            "same folds are recomputed from the seed and every finished fold is reused"
        ) from None


def current_keys(run_dir: Path | str) -> dict[str, str]:
    """name -> key of everything a blend can use now: the run's current models, then imported predictions."""
    keys = RunStore(run_dir).current_models()
    keys.update({name: src["key"] for name, src in external_sources(run_dir).items()})
    return keys


def stale_reason(models: Sequence[str], model_keys: dict[str, str], keys: dict[str, str]) -> str:
    """Why a blend of ``models`` (``model_keys``: their keys when it was made) no longer matches the run (``keys``:
    :func:`current_keys`), to follow "the blend 'x' was": refit since, or no longer listed by the run (a plain run
    after a search or a time limit's seed bags); "" when it matches. One wording for submit, predict and report."""
    gone = [m for m in models if m not in keys]
    refit = [m for m in models if m in keys and keys[m] != model_keys.get(m)]
    parts = [f"made from earlier versions of {allowed(refit)} (refit or re-imported since)"] if refit else []
    if gone:
        parts.append(
            f"made from {allowed(gone)}, which the run no longer lists (its last command did not make them; the "
            "command that did, e.g. the same --search, lists them again; imported predictions since removed: "
            "import them again)"
        )
    return " and ".join(parts)


def _finished(store: RunStore) -> dict[str, str]:
    """name -> key of the run's current models that finished (status ok), in run order."""
    keys = store.current_models()
    done = {}
    for name, key in keys.items():
        try:
            if store.read_summary(name).status == "ok":
                done[name] = key
        except StoreError:
            continue
    return done


def blendable_keys(run_dir: Path | str) -> dict[str, str]:
    """name -> key of everything a blend made now could weigh: the run's finished models and imported predictions.
    A blend records them (:attr:`~.result.BlendResult.run_models`): a model not among them finished after it."""
    store = RunStore(run_dir)
    keys = _finished(store)
    keys.update({name: src["key"] for name, src in external_sources(run_dir).items()})
    return keys


def default_models(run_dir: Path | str) -> list[str]:
    """The models a blend uses when none are named: every finished model but the baseline, then every import, but
    for imports without test predictions where the run has test rows (a blend needs every model's to submit: they
    had stopped every blend of the run, and a time-limited run's submission after all its fits), left out, said."""
    store = RunStore(run_dir)
    names = [name for name in _finished(store) if name != BASELINE_NAME]
    has_test = int(store.read_meta().get("n_test") or 0) > 0
    imported = list(external_sources(run_dir))
    untested = [n for n in imported if has_test and read_external_predictions(run_dir, n, "test") is None]
    if untested:
        warnings.warn(
            f"imported predictions {allowed(untested)} have no test predictions: left out of the blends, which need "
            "every model's to submit (the report still scores them); import them again with their test file "
            "(--test) to blend them",
            DataWarning,
            stacklevel=2,
        )
    return names + [n for n in imported if n not in untested]


def unchecked_imports(run_dir: Path | str) -> tuple[str, ...]:
    """Imported predictions whose folds could not be checked against every repeat of the run's (imported without a
    fold column, or with only some repeats'): a blend of them may score optimistically by nested CV."""
    return tuple(name for name, src in external_sources(run_dir).items() if not src.get("folds_checked"))


def load_run(
    run_dir: Path | str,
    models: Sequence[str] | None = None,
    *,
    y: np.ndarray | None = None,
) -> RunPredictions:
    """Read the named models' predictions (default: :func:`default_models`), the target (``y`` overrides the run
    folder's ``target.parquet``) and the folds; writes nothing."""
    store = RunStore(run_dir)
    meta = store.read_meta()
    metric = run_metric(meta)
    names = list(models) if models else default_models(run_dir)
    if not names:
        not_run = store.not_run()  # `run --only` fitted the baseline alone so far
        fix = f"run them with {fit_command(not_run)}" if not_run else "run its models first"
        raise StoreError(f"the run {str(store.root)!r} has no finished model to blend; {fix}")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"model(s) {allowed(dupes)} are named more than once; name each model once")
    run_models = store.current_models()
    sources = external_sources(run_dir)
    clash = sorted(set(run_models) & set(sources))
    if clash:
        raise StoreError(
            f"imported predictions {allowed(clash)} have the name of a model of the run; import them again "
            f"under another name and delete {store.root / 'external'}/<name>"
        )
    taken = sorted((set(run_models) | set(sources)) & set(blend_names(store.root)))
    if taken:  # a model added to the run (or imported) after a blend of that name was stored
        raise StoreError(
            f"{allowed(taken)} name both a model (or imported predictions) and a stored blend of the run; names are "
            f"unique across models and blends: delete {store.root / 'blends'}/<name> (or rename the model), then "
            "blend again"
        )
    known = [*run_models, *sources]
    stored = blend_names(store.root)
    for name in names:
        if name in stored:  # it had been "no model named 'hill_climb'", as for a typo
            raise ConfigError(
                f"{name!r} is a blend of the run, not a model: a blend weighs models and imported predictions, never "
                f"another blend (a blend of blends is not scored by nested CV as its parts were); name its models "
                f"instead: --models {','.join(_blend_models(store.root, name)) or 'MODEL,MODEL'}"
            )
        if name not in known:
            raise ConfigError(
                f"no model or imported predictions named {name!r} in {str(store.root)!r}; it has {allowed(known)}."
                + did_you_mean(name, known)
            )

    target = run_target(store, y=y)
    folds = run_folds(store)
    want_test = int(meta.get("n_test") or 0) > 0
    oof: dict[str, np.ndarray] = {}
    test: dict[str, np.ndarray] = {}
    keys: dict[str, str] = {}
    results: dict[str, ModelResult] = {}
    columns: tuple[str, ...] = ()
    test_ids = None
    for name in names:
        if name in run_models:
            result = store.read_summary(name)
            if result.status != "ok":
                raise StoreError(f"model {name!r} failed ({result.error}); leave it out of the blend or fix it")
            oof_frame = store.read_predictions(name, "oof")
            test_frame = store.read_predictions(name, "test") if want_test else None
            keys[name] = run_models[name]
        else:
            oof_frame = read_external_predictions(run_dir, name, "oof")
            test_frame = read_external_predictions(run_dir, name, "test") if want_test else None
            if oof_frame is None:
                raise StoreError(f"the imported predictions {name!r} have no oof.parquet; import them again")
            if want_test and test_frame is None:
                raise StoreError(
                    f"the imported predictions {name!r} have no test predictions, but the run has a test set; "
                    "import them again with their test file (`--test`)"
                )
            keys[name] = sources[name]["key"]
            result = None
        columns = tuple(oof_frame.columns[1:])
        oof[name] = oof_frame.drop(oof_frame.columns[0]).to_numpy().astype(np.float32, copy=False)
        if test_frame is not None:
            test[name] = test_frame.drop(test_frame.columns[0]).to_numpy().astype(np.float32, copy=False)
            test_ids = test_frame[test_frame.columns[0]]
        results[name] = result or score_predictions(name, oof[name], target, folds, metric, keys[name])
    return RunPredictions(
        root=store.root,
        metric=metric,
        names=tuple(names),
        oof=oof,
        test=test or None,
        columns=columns,
        train_ids=train_ids(store),
        test_ids=test_ids,
        keys=keys,
        results=results,
        y=target,
        folds=folds,
    )


def _blend_models(root: Path, name: str) -> list[str]:
    """The models a stored blend weighs, as its summary lists them (none when it cannot be read)."""
    try:
        return list(read_blend(root, name).models)
    except KitError:
        return []


def score_predictions(name: str, oof: np.ndarray, y: np.ndarray, folds: Folds, metric: Metric, key: str) -> ModelResult:
    """A leaderboard row for predictions made elsewhere: CV over their OOF rows, and each fold's score."""
    honest = score_folds(oof, y, folds, metric)
    return ModelResult(
        name=name,
        kind="external",
        key=key,
        metric=metric.name,
        cv=honest.pooled,
        fold_scores=honest.scores,
        fit_seconds=0.0,
        best_iteration=None,
    )
