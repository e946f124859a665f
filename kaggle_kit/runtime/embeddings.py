"""Image embeddings for the trees: a fitted image net's penultimate-layer features, out of fold, as columns of
another model (``embeddings = "<net>"`` on a ``[[models]]`` table).

The scheme (one fold assignment per run, shared by every model):

* **OOF embeddings.** After the net's folds are fitted, each fold model ``j`` embeds its own validation rows (fold
  ``j``), which it never trained on: ``oof_r{r}.npy`` holds, for every training row, the embedding from the one fold
  model of repeat ``r`` that held it out. (A row no fold validates, e.g. the first block of ``past`` time folds, is
  NaN.) Each fold model also embeds the test rows: ``test_r{r}_f{j}.npy``.
* **The reader's fold k.** Its training rows (folds ``j != k``) and its validation rows (fold ``k``) all take their
  OOF embeddings, so no row's embedding comes from a net that trained on that row, in training or in validation.
* **Test rows.** The reader's fold-k model predicts the test rows once with each net fold model's test embeddings
  and averages those predictions (then the folds are averaged as for any model). Features of separately trained
  nets are not aligned unit by unit, so averaging the *embeddings* over the fold nets would hand the trees a vector
  no training row ever had; each single net's embedding of a test row is distributed as the OOF embeddings are.
* **The second-order leak, measured** (as for any stacking on OOF with one fold assignment, the kit's stack blend
  included): the embedding of a training row of fold ``j`` comes from net ``j``, which trained on fold ``k``, the
  reader's validation rows. No row's own label reaches its own embedding, but the validation rows' labels shaped the
  net that embedded the training rows. ``benchmarks/embedding_leak.py`` scores each fold model on its validation
  rows and on hidden rows, the reader's with net ``k``'s embeddings (so that the two differ in that one respect
  only), on the shapes task of the tests: with a signal (300 rows, 10 % of the labels random, 20 seeds) the reader's
  CV is no more optimistic than the net's own (accuracy -0.001 +- 0.006 beyond it); with labels no model can learn
  (150 rows, a net of 40 epochs memorising them, 80 seeds) neither: +0.003 +- 0.005 accuracy and +0.006 +- 0.011 log
  loss in all, -0.003 +- 0.006 accuracy beyond LightGBM on the pixels' (CV 0.336, hidden 0.335, chance 1/3). A
  first, ad-hoc run of 40 seeds had shown +0.026 +- 0.007 (+0.018 +- 0.009 beyond the pixels'); the 80 did not
  repeat it. A fully nested scheme (a net per pair of folds, K(K-1)/2 more nets on K-2 folds each: at K = 5 the
  net's fits again 1.5 times over) would remove whatever is left; not built for a bias these runs do not find.
* **The larger effect runs the other way.** The reader's fold ``k`` never trained on net ``k``'s embeddings, and
  separately trained nets' units are not aligned, so it reads its validation rows (net ``k``'s) worse than test rows
  (every fold net's, most of them nets whose embeddings it trained on): per fold model, +0.045 +- 0.003 hidden
  accuracy with the other nets' embeddings than with net ``k``'s; the reader's CV accuracy 0.642 against 0.721 on
  the hidden rows (the net's own: 0.669 against 0.717). Its OOF predictions, which the blends weigh, understate it.
  Reading test rows through every fold net but net ``k`` (as fold ``k``'s training rows were read) would not help: it
  scored worse than through all of them (pooled over the folds: accuracy -0.003 +- 0.002, log loss +0.006 +- 0.001,
  24 seeds; per fold model -0.009 and +0.045): net ``k`` is one more member of each fold model's average. Kept.

``tests/test_embeddings.py`` checks the first two points exactly: every training and validation embedding equals
the held-out fold model's own, recomputed.

The files live in the net's model folder, ``models/<net>/<key>/embeddings/`` (``.npy``, ``allow_pickle=False``;
``embeddings.json`` lists each file's SHA-256 and is written last, so its presence means the set is whole). They are
built once after the net's folds, and reused while the net's fold files are the same: ``embeddings.json`` records
their digest (:func:`nets_digest`), and so does each reader's fold (``FoldResult.embedded_by``). A net fold refitted
under the same key to other weights (deleted as the kit advises for a corrupted one, then refitted with another
thread count or on another device) makes them again, and the readers' folds read through the old one are fitted
again (:func:`stale_reader_folds`).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from ..config import ModelSpec
from ..errors import ConfigError, KitError, StoreError
from ..features import FeatureMatrix, encoder_from_state
from ..models import FitContext, make_adapter
from .store import FoldResult, RunStore, atomic_write, npy_bytes, sha256_bytes

if TYPE_CHECKING:
    from .executors import Context, Task
    from .runner import RunSession

FOLDER = "embeddings"
INDEX = "embeddings.json"
FORMAT = 1


def column_names(source: str, dim: int) -> list[str]:
    """``emb_<net>_0 .. emb_<net>_{dim-1}``: the columns a reader gets."""
    return [f"emb_{source}_{i}" for i in range(dim)]


# ------------------------------------------------------------------------------------------------ embedding rows
@dataclass(frozen=True)
class Embedder:
    """One fold's net as ``rows -> (n, D)`` embeddings, and the image columns it reads (what they replace)."""

    embed: Callable[[pl.DataFrame], np.ndarray]
    image_columns: tuple[str, ...]

    def __call__(self, rows: pl.DataFrame) -> np.ndarray:
        return self.embed(rows)


def fold_embedder(source: ModelSpec, fold_dir: Path, ctx: FitContext) -> Embedder:
    """The net of one fold folder (verified by the caller)."""
    from ..models.nn.embed import embed_net
    from ..models.nn.net import FittedNet

    adapter = make_adapter(source)
    state = json.loads((fold_dir / "features.json").read_text())
    fitted = adapter.load(fold_dir / adapter.file_name, ctx).model
    if not isinstance(fitted, FittedNet):
        raise KitError(f"model {source.name!r} ({source.kind}) is not a net: it has no embeddings")
    encode = encoder_from_state(state)
    inputs = fitted.config["inputs"]
    image = inputs["image_columns"] if inputs.get("layout") == "hybrid" else fitted.config["columns"]
    return Embedder(lambda rows: embed_net(fitted, encode(rows), device=ctx.device, threads=ctx.threads), tuple(image))


def nets_digest(
    store: RunStore,
    source: str,
    key: str,
    fold_tasks: Iterable[tuple[int, int]],
    memo: dict[tuple[Any, ...], str | None] | None = None,
) -> str | None:
    """A digest of the net's fold files (each fold's checksums, as its ``result.json`` lists them); None while a
    fold is not fitted (or fails its check). A fold refitted to other weights (the kit's advice for a corrupted one:
    delete it and rerun; another thread count or device gives other floats) changes it: the embeddings are built
    again, and the readers' folds fitted on the old ones are fitted again.

    Each fold's files are read and hashed (a large net's state: about a second per 500 MB here); ``memo``, a run's
    (``RunSession.net_digests``), keeps the digest while no fold's ``result.json`` has been written again since, so
    that a run reading the digest once per reader and again for the build hashes the nets once."""
    fold_tasks = list(fold_tasks)
    seen = (source, key, tuple(_stamp(store.fold_dir(source, key, r, k)) for r, k in fold_tasks))
    if memo is not None and seen in memo:
        return memo[seen]
    results = []
    for r, k in fold_tasks:
        checked = store.check_fold(store.fold_dir(source, key, r, k))
        if not isinstance(checked, FoldResult):
            results = None
            break
        results.append(checked)
    digest = None if results is None else digest_of(results)
    if memo is not None:
        memo[seen] = digest
    return digest


def digest_of(net_folds: Iterable[FoldResult]) -> str:
    """:func:`nets_digest` of the net folds' results (verified by the caller); their learning curves left out."""
    files = {f"r{c.repeat}_f{c.fold}": {n: d for n, d in c.files.items() if n != "history.json"} for c in net_folds}
    return sha256_bytes(json.dumps(files, sort_keys=True).encode())[:16]


def _stamp(fold_dir: Path) -> tuple[int, int, int] | None:
    """The fold's ``result.json`` as the file system has it (inode, change time, size): a fold written again, a new
    folder renamed into place, has another; None when it is not there."""
    try:
        st = (fold_dir / "result.json").stat()
    except OSError:
        return None
    return st.st_ino, st.st_ctime_ns, st.st_size


def check_read_through(reader: FoldResult, source: str, nets: str) -> None:
    """Refuse a reader's fold fitted on embeddings of net folds other than the net's now (``nets``): a fold of the
    net refitted since (``--only`` the net, after its fold was deleted), through which its predictions would not be
    the run's. A fold written before readers recorded it is taken as it is."""
    if reader.embedded_by not in (None, nets):
        raise StoreError(
            f"model {reader.model!r} repeat {reader.repeat} fold {reader.fold + 1} was fitted on the embeddings of "
            f"model {source!r} made by net folds refitted since (to other weights): through the net now its "
            f"predictions would not be the run's. Rerun `kaggle-kit run CONFIG` (with {reader.model!r}) to fit its "
            "folds again on the net's embeddings now"
        )


def build(
    store: RunStore,
    source: ModelSpec,
    key: str,
    train: pl.DataFrame,
    test: pl.DataFrame | None,
    fold_tasks: Iterable[tuple[int, int]],
    valid_rows: Callable[[int, int], np.ndarray],
    ctx: FitContext,
    memo: dict[tuple[Any, ...], str | None] | None = None,
) -> Path:
    """Write the net's OOF and per-fold test embeddings (see the module's scheme) unless already there; the folder
    (``memo``: :func:`nets_digest`'s)."""
    folder = store.model_dir(source.name, key) / FOLDER
    fold_tasks = list(fold_tasks)
    nets = nets_digest(store, source.name, key, fold_tasks, memo)
    index = _index(folder)
    if index is not None and index.get("nets") == nets:
        return folder
    blobs: dict[str, bytes] = {}
    oof: dict[int, np.ndarray] = {}
    dim, image_columns = 0, ()
    for r, k in fold_tasks:
        fold_dir = store.fold_dir(source.name, key, r, k)
        checked = store.check_fold(fold_dir)
        if not isinstance(checked, FoldResult):
            raise StoreError(f"{checked}: the embeddings of model {source.name!r} need its fold r{r}_f{k}")
        embed = fold_embedder(source, fold_dir, ctx)
        image_columns = embed.image_columns
        idx = valid_rows(r, k)
        values = embed(train[idx])
        dim = values.shape[1]
        if r not in oof:
            oof[r] = np.full((train.height, dim), np.nan, dtype=np.float32)
        oof[r][idx] = values
        if test is not None:
            blobs[f"test_r{r}_f{k}.npy"] = npy_bytes(embed(test))
    for r, values in oof.items():
        blobs[f"oof_r{r}.npy"] = npy_bytes(values)
    for name, blob in blobs.items():
        atomic_write(folder / name, blob)
    index = {
        "format": FORMAT,
        "source": source.name,
        "key": key,
        "dim": dim,
        "columns": column_names(source.name, dim),
        "image_columns": list(image_columns),
        "nets": nets,  # the net folds these were made by: a refitted fold makes them again
        "files": {name: sha256_bytes(blob) for name, blob in blobs.items()},
    }
    atomic_write(folder / INDEX, json.dumps(index, indent=1).encode())  # last: its presence means the set is whole
    return folder


def _index(folder: Path) -> dict[str, Any] | None:
    try:
        index = json.loads((folder / INDEX).read_text())
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    return index if isinstance(index, dict) and index.get("format") == FORMAT else None


def _load(folder: Path, name: str, digest: str | None) -> np.ndarray:
    path = folder / name
    try:
        blob = path.read_bytes()
    except FileNotFoundError:
        raise StoreError(f"{path} is missing; delete {folder} and rerun `kaggle-kit run` to rebuild it") from None
    if sha256_bytes(blob) != digest:
        raise StoreError(
            f"{path} does not match the checksum in {INDEX} (a corrupted or edited file); delete {folder} and "
            "rerun `kaggle-kit run` to rebuild the embeddings"
        )
    import io

    return np.load(io.BytesIO(blob), allow_pickle=False)


# ------------------------------------------------------------------------------------------------ a reader's fold
@dataclass(frozen=True)
class FoldEmbeddings:
    """One repeat's embeddings of a net, as its reader uses them: OOF rows, and each fold net's test rows."""

    columns: tuple[str, ...]
    oof: np.ndarray  # (n_train, D)
    tests: tuple[np.ndarray, ...]  # (n_test, D) per fold net of the repeat
    image_columns: tuple[str, ...] = ()  # the net's image input: the embeddings replace these columns
    nets: str | None = None  # :func:`nets_digest` of the net folds that made them (None: an index written before)

    def join(self, X: FeatureMatrix, values: np.ndarray) -> FeatureMatrix:
        """``X`` without the net's image columns, with ``values`` (the rows' embeddings) appended as
        :attr:`columns`."""
        clash = sorted(set(self.columns) & set(X.names))
        if clash:
            raise ConfigError(f"the data already has a column {clash[0]!r}, the name of an embedding; rename it")
        replaced = set(self.image_columns)
        keep = [j for j, n in enumerate(X.names) if n not in replaced]
        kept = X.X if len(keep) == len(X.names) else X.X[:, keep]
        matrix = np.ascontiguousarray(np.hstack([kept, values.astype(X.X.dtype, copy=False)]))
        position = {j: i for i, j in enumerate(keep)}
        categorical = tuple(position[j] for j in X.categorical if j in position)
        return FeatureMatrix(matrix, (*(X.names[j] for j in keep), *self.columns), categorical)

    def rows(self, X: FeatureMatrix, idx: np.ndarray) -> FeatureMatrix:
        """Training rows ``idx`` (of the train table) with their OOF embeddings."""
        return self.join(X, self.oof[idx])

    def predict_test(self, predict: Callable[[FeatureMatrix], np.ndarray], X_test: FeatureMatrix) -> np.ndarray:
        """The mean of ``predict`` over the test rows joined with each fold net's embeddings of them."""
        return average(predict, X_test, self, self.tests)


def average(
    predict: Callable[[FeatureMatrix], np.ndarray], X: FeatureMatrix, emb: FoldEmbeddings, per_net: Sequence[np.ndarray]
) -> np.ndarray:
    total = None
    for values in per_net:
        pred = np.asarray(predict(emb.join(X, values)), dtype=np.float64)
        total = pred if total is None else total + pred
    if total is None:
        raise StoreError(f"no test embeddings for {emb.columns[0].rsplit('_', 1)[0]}")
    return (total / len(per_net)).astype(np.float32)


def read_index(store: RunStore, source: str, key: str) -> dict[str, Any]:
    """The net's ``embeddings.json``; a :class:`StoreError` saying how to build it when missing."""
    folder = store.model_dir(source, key) / FOLDER
    index = _index(folder)
    if index is None:
        raise StoreError(
            f"the embeddings of model {source!r} are not built ({folder / INDEX} is missing); run the spec with "
            f"model {source!r} too (its folds must be fitted first)"
        )
    return index


def read(store: RunStore, source: str, key: str, repeat: int, with_test: bool) -> FoldEmbeddings:
    """Repeat ``repeat`` of the net's embeddings (with its fold nets' test rows when ``with_test``), read-only.

    Every fold task of every reader needs the same files: a process reads and checks them once and keeps the last
    few sets (:func:`_read_files`). The cache key holds the index itself, whose checksums change with the files, so a
    rebuilt set is read anew; a file edited in place while its index stays is caught on its first read only."""
    folder = store.model_dir(source, key) / FOLDER
    index = read_index(store, source, key)
    return _read_files(str(folder.resolve()), json.dumps(index, sort_keys=True), repeat, with_test)


@functools.lru_cache(maxsize=2)  # the arrays can be big: enough for a worker alternating between two nets' readers
def _read_files(folder: str, index_text: str, repeat: int, with_test: bool) -> FoldEmbeddings:
    index, where = json.loads(index_text), Path(folder)
    files = index["files"]
    oof = _load(where, f"oof_r{repeat}.npy", files.get(f"oof_r{repeat}.npy"))
    names = sorted((n for n in files if n.startswith(f"test_r{repeat}_f")), key=lambda n: int(n[:-4].split("_f")[1]))
    tests = tuple(_load(where, n, files[n]) for n in names) if with_test else ()
    for array in (oof, *tests):
        array.setflags(write=False)  # shared by every caller of the cache
    return FoldEmbeddings(tuple(index["columns"]), oof, tests, tuple(index["image_columns"]), index.get("nets"))


def for_fold(ctx: Context, task: Task) -> FoldEmbeddings | None:
    """The embeddings ``task``'s model reads (None when it reads none); the net's key is the run's (run.json)."""
    source = task.model.embeddings
    if source is None:
        return None
    key = ctx.store.current_models().get(source)
    if key is None:
        raise StoreError(f"model {task.model.name!r} reads the embeddings of {source!r}, which this run does not list")
    return read(ctx.store, source, key, task.repeat, with_test=ctx.data.test is not None)


# ------------------------------------------------------------------------------------------------ the run's stages
def execute_in_stages(session: RunSession, pending: list[Task]) -> dict[str, str]:
    """Fit ``pending``: the models reading no embeddings first, then each net's embeddings, then their readers.
    Model name -> error text; a reader whose net failed fails with the net's reason."""
    readers = [t for t in pending if t.model.embeddings is not None]
    if not readers:
        return session.execute(pending)
    if session.settings.executor == "ray":  # a Ray task fits in a scratch store, where the net's files are not
        raise ConfigError(
            f"model {readers[0].model.name!r}: embeddings are not supported on the Ray executor yet (its tasks read "
            "the net's embeddings from the run folder); set run.executor = 'local'"
        )
    first = [t for t in pending if t.model.embeddings is None]
    errors = dict(session.execute(first)) if first else {}
    blocked: dict[str, str] = {}
    for source in sorted({t.model.embeddings for t in readers if t.model.embeddings is not None}):
        why = errors.get(source) or _build_for(session, source)
        if why:
            blocked[source] = why
    ready = [t for t in readers if t.model.embeddings not in blocked]
    if ready:
        errors |= session.execute(ready)
    for t in readers:
        source = t.model.embeddings
        if source in blocked:
            errors[t.model.name] = f"the embeddings of model {source!r} are missing: {blocked[source]}"
    return errors


def _build_for(session: RunSession, source: str) -> str | None:
    """Build the net's embeddings; None when done, else why not."""
    spec = session.spec.model(source)
    todo, _ = session.tasks(spec)
    if todo:
        return f"{len(todo)} of its fold(s) are not fitted; run it too (it is not among the models run)"
    assert session.job is not None
    ctx = FitContext(
        session.data.task,
        session.data.n_classes,
        session.metric,
        session.spec.seed,
        session.device,
        session.job.context.threads,
    )
    folds = session.folds
    before = _index(session.store.model_dir(source, session.key(spec)) / FOLDER)
    try:
        build(
            session.store,
            spec,
            session.key(spec),
            session.data.train,
            session.data.test,
            folds.tasks(),
            lambda r, k: folds.train_valid(r, k)[1],
            ctx,
            session.net_digests,
        )
    except KitError as exc:
        return str(exc)
    folder = session.store.model_dir(source, session.key(spec)) / FOLDER
    reused = before is not None and before == _index(folder)  # else built, or built again for refitted net folds
    session.say(f"embeddings of model {source!r} {'reused' if reused else 'built'} ({folder})")
    return None


def stale_reader_folds(session: RunSession, model: ModelSpec, done: list[FoldResult]) -> set[tuple[int, int]]:
    """The finished folds of reader ``model`` to fit again: all of them while a fold of its net is not fitted (it
    will be, to weights their embeddings did not come from), else those read through other net folds than the
    net's now (a fold refitted since). Folds written before readers recorded it are taken as they are."""
    if model.embeddings is None or not done:
        return set()
    source = session.spec.model(model.embeddings)
    now = nets_digest(session.store, source.name, session.key(source), session.folds.tasks(), session.net_digests)
    return {(d.repeat, d.fold) for d in done if now is None or d.embedded_by not in (None, now)}


def check_supported(models: Sequence[ModelSpec], *, time_limit: bool, search: bool) -> None:
    """Readers of embeddings need their net's folds first, which the waves of a time limit, a search or a run with
    ``extra_models`` (fitted in those waves) do not order: refuse them there, naming the model and the cause."""
    cause, fix = (
        ("a time limit", "run without one")
        if time_limit
        else ("a [search]", "run the search without them")
        if search
        else ("run(extra_models=...)", "put the extra models in the spec's [[models]] instead")
    )
    for m in models:
        if m.embeddings is not None:
            raise ConfigError(
                f"model {m.name!r}: embeddings are not supported with {cause} yet (the net's folds must finish before "
                f"its readers start); {fix}, or remove embeddings"
            )
