"""Does a model reading a net's out-of-fold embeddings get an optimistic CV? (the second-order leak of
``kaggle_kit/runtime/embeddings.py``)

The reader's fold ``k`` trains on rows of folds ``j != k`` whose embeddings come from net ``j``, which trained on
fold ``k``: the validation rows' labels shaped the features of the reader's training rows. Whether that makes the
reader's CV optimistic is measured here, on the shapes task of ``tests/test_embeddings.py`` (12 x 12 grey noise with
a plus, an x or a ring at a random place; 3 classes) with a share ``--noise`` of the labels redrawn at random
(``--noise 1``: labels no model can learn, which a net can only memorise).

For each seed: ``--rows`` training rows are run by the kit's ``run()`` with a ``cnn``, LightGBM on the pixels and
LightGBM on the cnn's embeddings (3 stratified folds; no early stopping anywhere, so that no validation row chooses
a fit), and ``--hidden`` more rows are passed as test rows, their labels kept aside. Each fold model ``k`` is scored
on its validation fold (CV) and on the hidden rows; the reader's hidden score of fold ``k`` uses **net k's**
embeddings, the net that never saw fold ``k`` either: a fold model's validation rows and the hidden rows then differ
in one thing only, that the validation rows' labels reached the reader's training features, and without a leak the
expected per-fold "optimism" (CV minus hidden accuracy; hidden minus CV log loss) is zero. Beside it: the same for
the two models without embeddings (stratified folds give them a little optimism of their own on random labels: each
fold's classes in the training share), the reader's hidden accuracy with the other fold nets' embeddings (which its
training rows had) against net ``k``'s, and the pooled CV against the hidden score of the test predictions as the
run makes them (each fold model over every fold net's embeddings, the folds averaged).

    .venv/bin/python benchmarks/embedding_leak.py --seeds 20                     # 300 rows, 10 % noise
    .venv/bin/python benchmarks/embedding_leak.py --rows 150 --noise 1 --epochs 40 --seeds 40
    .venv/bin/python benchmarks/embedding_leak.py --quick                          # seconds: the test suite's check
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from _machine import load_average, machine_line, versions

from kaggle_kit.blend.inputs import run_folds
from kaggle_kit.config import build_spec
from kaggle_kit.predict.models import predict_folder
from kaggle_kit.predict.run_folder import RunFolder
from kaggle_kit.runtime import embeddings
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore

SIDE = 12
SHAPES = np.array(
    [[[0, 1, 0], [1, 1, 1], [0, 1, 0]], [[1, 0, 1], [0, 1, 0], [1, 0, 1]], [[1, 1, 1], [1, 0, 1], [1, 1, 1]]],
    dtype=np.float32,
)
NAMES = np.array(["plus", "x", "ring"])
MODELS = ("cnn", "lgbm_pixels", "lgbm_emb")
READER = "lgbm_emb"


def shapes(n: int, noise: float, seed: int) -> pl.DataFrame:
    """``n`` images with their shape's name as ``label``, a share ``noise`` of the labels redrawn at random."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 3, n)
    images = rng.normal(0, 0.35, (n, SIDE, SIDE)).astype(np.float32)
    for i in range(n):
        r, c = rng.integers(0, SIDE - 2, 2)
        images[i, r : r + 3, c : c + 3] += SHAPES[y[i]]
    redrawn = rng.random(n) < noise
    y[redrawn] = rng.integers(0, 3, int(redrawn.sum()))
    frame = pl.DataFrame(images.reshape(n, -1), schema=[f"pixel{k}" for k in range(SIDE * SIDE)], orient="row")
    return frame.with_columns(pl.Series("id", np.arange(n)), pl.Series("label", NAMES[y]))


def scores(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    """Accuracy and log loss."""
    p = np.clip(p, 1e-7, 1)
    p = p / p.sum(axis=1, keepdims=True)
    return float(np.mean(p.argmax(axis=1) == y)), float(-np.mean(np.log(p[np.arange(len(y)), y])))


def hidden_pred(
    folder: RunFolder,
    model: str,
    fold_dir: Path,
    repeat: int,
    test: pl.DataFrame,
    nets_used: list[int] | None,
    nets: embeddings.FoldEmbeddings,
) -> np.ndarray:
    """A fold model's predictions of the hidden rows; a reader's averaged over the fold nets ``nets_used``."""
    emb = None
    if nets_used is not None:
        tests = tuple(nets.tests[j] for j in nets_used)
        emb = embeddings.FoldEmbeddings(nets.columns, nets.oof[:0], tests, nets.image_columns)
    return predict_folder(folder, model, fold_dir, repeat, test, threads=1, device="cpu", embeddings=emb)


def one_seed(seed: int, args: argparse.Namespace, root: Path) -> list[dict[str, Any]]:
    frame = shapes(args.rows + args.hidden, args.noise, 1000 + seed)
    train, hidden = frame[: args.rows], frame[args.rows :]
    net = {"epochs": args.epochs, "patience": 0, "batch_size": 32, "lr": 3e-3, "image_shape": [SIDE, SIDE, 1]}
    tree = {"num_boost_round": 100, "early_stopping_rounds": 0, "params": {"learning_rate": 0.1, "num_leaves": 7}}
    spec = build_spec(
        {
            "name": f"leak{seed}",
            "task": "multiclass",
            "metric": "log_loss",
            "seed": seed,
            "data": {"train": "train.csv", "id": "id", "target": "label"},
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": args.threads},
            "models": [
                {"name": "cnn", "kind": "cnn", "params": {**net, "channels": [8, 16]}},
                {"name": "lgbm_pixels", "kind": "lightgbm", **tree},
                {"name": READER, "kind": "lightgbm", "embeddings": "cnn", **tree},
            ],
        },
        base_dir=root,
    )
    test = hidden.drop("label")
    result = run(spec, runs_root=root, train=train, test=test, progress=None, record_history=False)
    failed = [(m.name, m.error) for m in result.models if m.status != "ok"]
    if failed:
        raise SystemExit(f"seed {seed}: {failed}")
    store, folder = RunStore(result.run_dir), RunFolder.open(result.run_dir)
    folds = run_folds(store)
    nets = embeddings.read(store, "cnn", store.current_models()["cnn"], 0, with_test=True)
    rows = []
    for model in MODELS:
        oof, pooled = store.read_predictions(model, "oof"), store.read_predictions(model, "test")
        code = {c.removeprefix("p_"): i for i, c in enumerate(oof.columns[1:])}
        y = np.array([code[v] for v in train["label"]])
        y_hidden = np.array([code[v] for v in hidden["label"]])
        P = oof.drop("id").to_numpy()
        row: dict[str, Any] = {"seed": seed, "model": model}
        row["cv_acc"], row["cv_ll"] = scores(y, P)
        row["pooled_hidden_acc"], row["pooled_hidden_ll"] = scores(y_hidden, pooled.drop("id").to_numpy())
        per_fold = []
        pooled_every: list[np.ndarray] = []  # the reader's fold models over every fold net (the run's way)
        pooled_skip: list[np.ndarray] = []  # fold model k over the fold nets but net k (whose embeddings it never saw)
        for r, k in folds.tasks():
            _, valid = folds.train_valid(r, k)
            fold_dir, _ = folder.fold(model, r, k)
            at = (folder, model, fold_dir, r, test)
            cv = scores(y[valid], P[valid])
            own = scores(y_hidden, hidden_pred(*at, [k] if model == READER else None, nets))
            fold = {"cv_acc": cv[0], "cv_ll": cv[1], "hidden_acc": own[0], "hidden_ll": own[1]}
            if model == READER:
                others = [j for j in range(len(nets.tests)) if j != k]
                skip_own = hidden_pred(*at, others, nets)
                fold["others_acc"] = scores(y_hidden, skip_own)[0]
                every = hidden_pred(*at, list(range(len(nets.tests))), nets)  # as the run predicts test rows
                fold["all_acc"], fold["all_ll"] = scores(y_hidden, every)
                fold["skip_acc"], fold["skip_ll"] = scores(y_hidden, skip_own)
                pooled_every.append(every)
                pooled_skip.append(skip_own)
            per_fold.append(fold)
        row["optimism_acc"] = float(np.mean([f["cv_acc"] - f["hidden_acc"] for f in per_fold]))
        row["optimism_ll"] = float(np.mean([f["hidden_ll"] - f["cv_ll"] for f in per_fold]))
        if model == READER:
            row["other_nets_gain_acc"] = float(np.mean([f["others_acc"] - f["hidden_acc"] for f in per_fold]))
            # the test rows read by fold model k through every fold net (the default) or all but net k: per fold model
            # and pooled over the folds (probabilities averaged, the same way for both)
            row["skip_own_gain_acc"] = float(np.mean([f["skip_acc"] - f["all_acc"] for f in per_fold]))
            row["skip_own_gain_ll"] = float(np.mean([f["all_ll"] - f["skip_ll"] for f in per_fold]))
            every_acc, every_ll = scores(y_hidden, np.mean(pooled_every, axis=0))
            skip_acc, skip_ll = scores(y_hidden, np.mean(pooled_skip, axis=0))
            row["pooled_skip_own_gain_acc"], row["pooled_skip_own_gain_ll"] = skip_acc - every_acc, every_ll - skip_ll
        rows.append(row)
    return rows


def mean_se(values: list[float]) -> str:
    x = np.asarray(values, dtype=np.float64)
    se = x.std(ddof=1) / np.sqrt(len(x)) if len(x) > 1 else float("nan")
    return f"{x.mean():+.4f} ± {se:.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300, help="training rows")
    parser.add_argument("--hidden", type=int, default=600, help="hidden rows (passed as test rows)")
    parser.add_argument("--noise", type=float, default=0.1, help="share of the labels redrawn at random")
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--first-seed", type=int, default=0, help="seeds first-seed .. first-seed + seeds - 1")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for the test suite")
    parser.add_argument("--json", help="also write the figures to this JSON file")
    args = parser.parse_args()
    if args.quick:
        args.rows, args.hidden, args.epochs, args.seeds = 60, 30, 2, 1
    print(machine_line())
    print(versions("torch", "lightgbm"))
    print(
        f"{args.rows} training rows (3 folds), {args.hidden} hidden, {args.noise:.0%} of the labels at random, cnn "
        f"{args.epochs} epochs, x {args.seeds} seed(s); mean ± s.e. over the seeds"
    )
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="kit-emb-leak-") as tmp:
        for seed in range(args.first_seed, args.first_seed + args.seeds):
            rows += one_seed(seed, args, Path(tmp))
    by = {m: [r for r in rows if r["model"] == m] for m in MODELS}
    print(f"{'model':12} {'CV acc':>7} {'per-fold optimism: acc':>24} {'log loss':>18} {'hidden acc (pooled)':>20}")
    for model, rs in by.items():
        print(
            f"{model:12} {np.mean([r['cv_acc'] for r in rs]):7.3f} {mean_se([r['optimism_acc'] for r in rs]):>24} "
            f"{mean_se([r['optimism_ll'] for r in rs]):>18} {np.mean([r['pooled_hidden_acc'] for r in rs]):>20.3f}"
        )
    paired = {}
    for ref in ("cnn", "lgbm_pixels"):
        acc = [a["optimism_acc"] - b["optimism_acc"] for a, b in zip(by[READER], by[ref], strict=True)]
        ll = [a["optimism_ll"] - b["optimism_ll"] for a, b in zip(by[READER], by[ref], strict=True)]
        paired[ref] = {"acc": mean_se(acc), "ll": mean_se(ll)}
        print(f"reader's optimism beyond {ref}'s (paired): accuracy {paired[ref]['acc']}, log loss {paired[ref]['ll']}")
    gain = mean_se([r["other_nets_gain_acc"] for r in by[READER]])
    print(f"reader's hidden accuracy with the other fold nets' embeddings rather than net k's: {gain}")
    skip = {
        f: mean_se([r[f] for r in by[READER]])
        for f in ("skip_own_gain_acc", "skip_own_gain_ll", "pooled_skip_own_gain_acc", "pooled_skip_own_gain_ll")
    }
    print(
        "reader's test rows through the fold nets but net k rather than every fold net (+: skipping is better): "
        f"per fold model accuracy {skip['skip_own_gain_acc']}, log loss {skip['skip_own_gain_ll']}; pooled "
        f"accuracy {skip['pooled_skip_own_gain_acc']}, log loss {skip['pooled_skip_own_gain_ll']}"
    )
    print(f"load average after: {load_average()}")
    if args.json:
        figures = {"rows": rows, "paired": paired, "other_nets_gain_acc": gain, "skip_own": skip}
        figures["load_after"] = load_average()
        Path(args.json).write_text(json.dumps(figures, indent=1))


if __name__ == "__main__":
    main()
