"""A model's predictions for new rows: each fold's fitted features (``features.json``) and model file, loaded and
applied as the runner applied them to the test rows, then pooled over folds and repeats
(:mod:`kaggle_kit.runtime.pooling`); or the one model refit on all rows (:mod:`kaggle_kit.predict.refit`).

Model files are read by the adapters' ``load``, which never unpickles: XGBoost UBJSON, LightGBM text, torch state
dicts with ``weights_only=True``, scikit-learn state as JSON + ``.npz`` with ``allow_pickle=False`` naming only
``sklearn.*`` estimator classes. A file that fails its checksum or its loader is an error naming it.
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from ..errors import ConfigError, KitError, StoreError
from ..features import FeatureMatrix, encoder_from_state
from ..models import FitContext, Fitted, ModelAdapter, make_adapter
from ..runtime.embeddings import FoldEmbeddings, check_read_through, digest_of, fold_embedder, read_index
from ..runtime.pooling import FoldPool, pooling_space
from .run_folder import RunFolder

REFIT = "refit"  #: the folder, beside ``folds/``, of a model refit on all training rows


def encoder_for(
    state: dict[str, Any], adapter: ModelAdapter, *, checks: bool = True, told: Collection[str] = ()
) -> Any:
    """The function the runner encoded rows with, rebuilt from a fold's fitted ``state`` (``checks``: warn of values
    its pipeline has not seen, but of the columns in ``told``)."""
    if not adapter.reads_features:
        return lambda rows: FeatureMatrix(np.empty((rows.height, 0), dtype=np.float32), (), ())
    return encoder_from_state(state, checks=checks, told=told)


def told_levels(folder: RunFolder) -> frozenset[str]:
    """The categorical columns whose new levels predict told of from all the training rows (a run's
    ``levels.parquet``, :func:`~kaggle_kit.predict.new_rows.read_test_rows`): a fold's steps, which saw its training
    rows only, do not tell of them again. None in a run folder made before the levels were recorded."""
    return frozenset(folder.meta.get("categorical") or []) if folder.store.levels_path.is_file() else frozenset()


def load_model(adapter: ModelAdapter, path: Path, ctx: FitContext, where: str) -> Fitted:
    """``adapter.load``, with any refusal (a pickled file, an object array, a class outside scikit-learn, a damaged
    file) as a :class:`StoreError` naming the file: nothing in it is executed."""
    if not path.is_file():
        raise StoreError(f"{path} is missing: {where} cannot be loaded; rerun `kaggle-kit run CONFIG` to refit it")
    try:
        return adapter.load(path, ctx)
    except Exception as exc:
        if not _refusal(exc):
            raise
        raise StoreError(
            f"{path}: {where} cannot be loaded ({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''});"
            " it is damaged or was not written by kaggle_kit (model files are never unpickled). Rerun "
            "`kaggle-kit run CONFIG` on a writable copy to refit it"
        ) from None


def _refusal(exc: Exception) -> bool:
    """Whether ``exc`` is a loader refusing a file (torch's ``weights_only`` raises pickle's ``UnpicklingError``,
    matched by name: the kit imports no pickle module)."""
    loader_errors = (KitError, RuntimeError, ValueError, OSError, KeyError, TypeError, AttributeError)
    return isinstance(exc, loader_errors) or type(exc).__name__ == "UnpicklingError"


def predict_folder(
    folder: RunFolder,
    name: str,
    model_dir: Path,
    repeat: int,
    test: pl.DataFrame,
    *,
    threads: int,
    device: str,
    images: Any = None,
    sequences: Any = None,
    embeddings: FoldEmbeddings | None = None,
    checks: bool = True,
) -> np.ndarray:
    """One fitted model (a fold folder, or the refit folder) on ``test``, as the runner post-processes its test
    predictions: back from the metric's fit space (e.g. ``expm1`` for RMSLE), clipped into its domain, float32.
    ``images``: the test rows' streamed image files (:func:`~kaggle_kit.predict.new_rows.read_test_rows`);
    ``sequences``: the store of ``test``'s streamed sequences (``data.sequences.layout = "streamed"``);
    ``embeddings``: a reader's net's embeddings of ``test``, one per fold net, over which its predictions are
    averaged as the runner averaged them (:mod:`kaggle_kit.runtime.embeddings`)."""
    from ..runtime.fold_fit import _from_fit_space

    spec = folder.model_spec(name)
    adapter = make_adapter(spec, folder.meta["task"])
    ctx = folder.fit_context(repeat, threads=threads, device=device, images=images, sequences=sequences)
    state = folder.read_json(model_dir / "features.json")
    where = f"model {name!r} ({model_dir.name})"
    fitted = load_model(adapter, model_dir / adapter.file_name, ctx, where)
    try:
        X = encoder_for(state, adapter, checks=checks, told=told_levels(folder))(test)
    except (KeyError, TypeError) as exc:
        raise StoreError(f"{model_dir / 'features.json'} is not a fitted feature state ({exc})") from None
    raw = (
        adapter.predict(fitted, X, ctx)
        if embeddings is None
        else embeddings.predict_test(lambda rows: adapter.predict(fitted, rows, ctx), X)
    )
    pred = _from_fit_space(raw, folder.metric)
    pred, _ = folder.metric.clip(pred)
    return np.asarray(pred, dtype=np.float32)


def model_predictions(
    folder: RunFolder,
    name: str,
    test: pl.DataFrame,
    *,
    refit: bool = False,
    threads: int = 1,
    device: str = "cpu",
    images: Any = None,
    sequences: Any = None,
) -> np.ndarray:
    """Model ``name``'s predictions for ``test`` (``(n_rows, n_columns)`` float32): its fold models pooled over
    folds and repeats as the runner pools the stored test predictions (:mod:`kaggle_kit.runtime.pooling`), or its
    model refit on all rows."""
    folder.check_model(name)
    model_root = folder.store.model_dir(name, folder.key(name))
    source = folder.model_spec(name).embeddings
    if refit and source is not None:
        raise ConfigError(
            f"model {name!r} reads the out-of-fold embeddings of {source!r}; a model refit on all rows has no "
            "out-of-fold embeddings to read, so it is not built: predict with the fold models (without --refit)"
        )
    from ..runtime.pseudo import pseudo_base

    if refit and pseudo_base(name) is not None:  # `refit` refuses it: its advice below would go round in a circle
        raise ConfigError(
            f"model {name!r} is pseudo-labelled: each fold trained on its own fold's pseudo labels, so it has no model "
            "refit on all rows (`kaggle-kit refit` skips it); predict with the fold models (without --refit), or "
            "blend models without it"
        )
    if refit:
        refit_dir = model_root / REFIT
        if not (refit_dir / "result.json").is_file():
            raise StoreError(
                f"model {name!r} has no model refit on all rows in {str(folder.root)!r}; run "
                f"`kaggle-kit refit {folder.root} --model {name}` first (or predict with the fold models)"
            )
        from .refit import check_refit

        check_refit(refit_dir)
        return predict_folder(
            folder, name, refit_dir, 0, test, threads=threads, device=device, images=images, sequences=sequences
        )
    pool: FoldPool | None = None
    tasks = list(folder.folds().tasks())
    embedded = new_row_embeddings(folder, source, test, threads=threads, device=device, reader=name) if source else {}
    for i, (r, k) in enumerate(tasks):
        fold_dir, _ = folder.fold(name, r, k)
        pred = predict_folder(
            folder,
            name,
            fold_dir,
            r,
            test,
            threads=threads,
            device=device,
            images=images,
            sequences=sequences,
            embeddings=embedded.get(r),
            checks=i == 0,  # the new rows' unseen values, told once (by the first fold model), not once per fold
        )
        pool = pool or FoldPool(len(pred), pred.shape[1], pooling_space(folder.meta["task"]))
        pool.add(pred)
    assert pool is not None
    return pool.result()


def new_row_embeddings(
    folder: RunFolder, source: str, test: pl.DataFrame, *, threads: int, device: str, reader: str
) -> dict[int, FoldEmbeddings]:
    """Net ``source``'s embeddings of new rows, per repeat: one array per fold net (each fold folder verified).
    Refused, before any is made, when a fold of ``reader`` was fitted on the embeddings of other net folds than these
    (a net fold refitted since under ``--only``): through these its predictions would not be the run's."""
    spec = folder.model_spec(source)
    index = read_index(folder.store, source, folder.key(source))  # built by the run: says what the columns are
    nets = {(r, k): folder.fold(source, r, k) for r, k in folder.folds().tasks()}
    digest = digest_of(result for _, result in nets.values())
    for r, k in nets:
        check_read_through(folder.fold(reader, r, k)[1], source, digest)
    per_repeat: dict[int, list[np.ndarray]] = {}
    for (r, _), (fold_dir, _) in nets.items():
        embed = fold_embedder(spec, fold_dir, folder.fit_context(r, threads=threads, device=device))
        per_repeat.setdefault(r, []).append(embed(test))
    columns, image = tuple(index["columns"]), tuple(index["image_columns"])
    empty = np.zeros((0, len(columns)), dtype=np.float32)  # no OOF rows: new rows are all test rows
    return {r: FoldEmbeddings(columns, empty, tuple(arrays), image) for r, arrays in per_repeat.items()}
