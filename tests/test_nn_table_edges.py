"""The table nets (``mlp``, ``realmlp``, ``tabm``) on the edges of real tables, through the adapter's fit path:
columns and targets of tiny magnitude are learnt at their own scale (the predictions of a rescaled problem are the
rescaled predictions), and a single training row under BatchNorm is a clear error, not torch's stack trace."""

from __future__ import annotations

import numpy as np
import pytest

from kaggle_kit.config import ModelSpec
from kaggle_kit.errors import DataError
from kaggle_kit.features import FeatureMatrix
from kaggle_kit.metrics import get_metric
from kaggle_kit.models import FitContext, make_adapter

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # conftest.py

TINY = {
    "mlp": {"hidden": [8], "epochs": 3, "patience": 0, "batch_size": 32},
    "realmlp": {"hidden": [8], "epochs": 3, "patience": 0, "batch_size": 32},
    "tabm": {"hidden": [8], "epochs": 3, "patience": 0, "batch_size": 32, "k": 2, "bins": 4, "num_embedding_dim": 4},
}
NAMES = ("a", "b", "c")


def _matrix(X: np.ndarray) -> FeatureMatrix:
    return FeatureMatrix(np.ascontiguousarray(X, dtype=np.float32), NAMES, ())


def _fit_predict(kind: str, task: str, X: np.ndarray, y: np.ndarray, n_classes: int, **params: object) -> np.ndarray:
    metric = {"binary": "roc_auc", "regression": "rmse", "multiregression": "mean_rmse"}[task]
    ctx = FitContext(task, n_classes, get_metric(metric), seed=3, device="cpu", threads=1)
    adapter = make_adapter(ModelSpec(name=f"m_{kind}", kind=kind, params={**TINY[kind], **params}))
    fitted = adapter.fit(_matrix(X[:120]), y[:120], _matrix(X[120:]), y[120:], ctx)
    return adapter.predict(fitted, _matrix(X[120:]), ctx)


def _data() -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(160, 3))
    return X, X[:, 0] + 0.5 * X[:, 1] + 0.1 * rng.normal(size=160)


@pytest.mark.parametrize("scale", [1e-14, 1e-30, 1e20])
@pytest.mark.parametrize("kind", ["mlp", "realmlp", "tabm"])
def test_a_column_of_tiny_or_huge_values_is_scaled_not_taken_for_a_constant(kind: str, scale: float) -> None:
    """A feature in units of 1e-14 (its std below the old absolute floor of 1e-12): the mlp standardised it by 1,
    so the net saw 0 in every row and lost the column (AUC 0.98 -> 0.41 in the hunt). Standardisation is scale-free,
    so the net fit on the rescaled column predicts what the one fit on the column itself does. Units of 1e-30 and
    1e20 too: numpy's nanstd squares float32 deviations in float32, to 0 and to infinity, and the mlp zeroed them."""
    X, score = _data()
    y = (score > 0).astype(np.int64)
    small = X.copy()
    small[:, 0] *= scale
    np.testing.assert_allclose(
        _fit_predict(kind, "binary", small, y, 2), _fit_predict(kind, "binary", X, y, 2), rtol=1e-4, atol=1e-5
    )


@pytest.mark.parametrize("kind", ["mlp", "realmlp", "tabm"])
def test_a_target_of_tiny_values_is_predicted_in_its_own_units(kind: str) -> None:
    """A regression target in units of 1e-14 (std below 1e-12): it was divided by 1, not its std, and the net's
    outputs (order 0.1) were added to its mean, so predictions were 10^12 times the target's spread off. Now the
    predictions of ``1e-14 y`` are ``1e-14`` times those of ``y``."""
    X, y = _data()
    y = 3.0 + y
    unit = _fit_predict(kind, "regression", X, y, 1)
    np.testing.assert_allclose(_fit_predict(kind, "regression", X, 1e-14 * y, 1), 1e-14 * unit, rtol=1e-4)


def test_multiregression_targets_are_each_scaled_by_their_own_spread() -> None:
    """Per target column: a tiny column next to a unit one, each predicted in its own units."""
    X, y = _data()
    Y = np.column_stack([3.0 + y, 1.0 - y])
    unit = _fit_predict("mlp", "multiregression", X, Y, 2)
    tiny = _fit_predict("mlp", "multiregression", X, Y * np.array([1e-14, 1.0]), 2)
    np.testing.assert_allclose(tiny, unit * np.array([1e-14, 1.0]), rtol=1e-4)


def test_a_constant_target_is_still_predicted_as_its_value() -> None:
    """The relative floor keeps a constant target (std 0, or float rounding of a large one) at scale 1: no division
    by a rounding error."""
    X, _ = _data()
    pred = _fit_predict("mlp", "regression", X, np.full(160, 1e6 + 0.1), 1)
    assert np.abs(pred - (1e6 + 0.1)).max() < 5.0  # the net's outputs, of order 1, in the target's units


def test_one_training_row_under_batch_norm_is_a_clear_error() -> None:
    """torch stopped with ``ValueError: Expected more than 1 value per channel when training`` (a stack trace) on a
    fold with one training row; the error now names the model and the fix, and the fix works. Not a KitError: it
    fails this model, not the run (see the next test)."""
    from kaggle_kit.errors import KitError
    from kaggle_kit.models.nn.trainer import TooFewRows

    X, y = _data()
    ctx = FitContext("regression", 1, get_metric("rmse"), seed=0, device="cpu", threads=1)
    adapter = make_adapter(ModelSpec(name="net", kind="mlp", params=TINY["mlp"]))
    match = r"model 'net': kind 'mlp' trains BatchNorm.*1 training row.*batch_norm = false"
    with pytest.raises(TooFewRows, match=match) as caught:
        adapter.fit(_matrix(X[:1]), y[:1], _matrix(X[120:]), y[120:], ctx)
    assert not isinstance(caught.value, KitError)
    plain = make_adapter(ModelSpec(name="net", kind="mlp", params={**TINY["mlp"], "batch_norm": False}))
    pred = plain.predict(plain.fit(_matrix(X[:1]), y[:1], _matrix(X[120:]), y[120:], ctx), _matrix(X[120:]), ctx)
    assert pred.shape == (40, 1) and np.isfinite(pred).all()
    # two rows (a batch of two) train as before
    fitted = adapter.fit(_matrix(X[:2]), y[:2], _matrix(X[120:]), y[120:], ctx)
    assert np.isfinite(adapter.predict(fitted, _matrix(X[120:]), ctx)).all()


def test_a_fold_of_one_training_row_fails_the_batch_norm_net_and_the_other_models_carry_on(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Group folds where the big group's fold trains on the one row of the other group: the mlp cannot train
    BatchNorm on it. It was a DataError, which stops the whole run (exit 2) with the linear model never fitted, where
    torch's ValueError had failed the mlp alone; now the mlp fails as a model and the linear model is scored."""
    import polars as pl

    from kaggle_kit import run
    from kaggle_kit.config import build_spec

    rng = np.random.default_rng(0)
    x = rng.normal(size=25)
    frame = pl.DataFrame({"id": range(25), "x": x, "g": ["b"] + ["a"] * 24, "y": x + 0.1 * rng.normal(size=25)})
    spec = build_spec(
        {
            "name": "one_row",
            "task": "regression",
            "metric": "rmse",
            "data": {"train": "train.csv", "id": "id", "target": "y"},
            "folds": {"strategy": "group", "group": "g", "n_splits": 2},
            "models": [
                {"name": "net", "kind": "mlp", "params": {"hidden": [4], "epochs": 1, "batch_size": 8}},
                {"name": "lin", "kind": "linear"},
            ],
        }
    )
    with pytest.warns(UserWarning, match="trains on 1 rows"):
        result = run(
            spec, runs_root=tmp_path, train=frame[:20], test=frame[20:].drop("y"), n_jobs=1, record_history=False
        )
    models = {m.name: m for m in result.models}
    assert (
        models["net"].error is not None
        and "TooFewRows: model 'net': kind 'mlp' trains BatchNorm" in models["net"].error
    )
    assert models["lin"].error is None and np.isfinite(models["lin"].cv)


@pytest.mark.parametrize("kind", ["mlp", "realmlp"])
def test_a_validation_fold_of_one_class_stops_early_on_the_loss(kind: str) -> None:
    """Binary, AUC monitored, no positive among the validation rows: AUC is NaN in every epoch. Training stopped at
    epoch ``patience`` (3 of 12) with the loss still falling; now the epoch kept is the one of the lowest loss."""
    X, score = _data()
    y = (score > 1.0).astype(np.int64)
    y[120:] = 0
    ctx = FitContext("binary", 2, get_metric("roc_auc"), seed=0, device="cpu", threads=1)
    adapter = make_adapter(ModelSpec(name="m", kind=kind, params={**TINY[kind], "epochs": 12, "patience": 3}))
    fitted = adapter.fit(_matrix(X[:120]), y[:120], _matrix(X[120:]), y[120:], ctx)
    loss = fitted.history["valid_loss"]
    assert np.isnan(fitted.history["valid_roc_auc"]).all()
    assert fitted.best_iteration == int(np.argmin(loss)) + 1 and len(loss) > 3


@pytest.mark.parametrize(
    ("kind", "params", "match"),
    [
        ("mlp", {"batch_size": 1}, r"model 'net': params.batch_size = 1 trains the BatchNorm.*, or params.batch_norm"),
        ("hybrid", {"batch_size": 1, "image_shape": [2, 2, 1]}, r"params.batch_size = 1 trains the BatchNorm"),
        (  # BatchNorm in the head alone
            "hybrid",
            {"batch_size": 1, "image_shape": [2, 2, 1], "table_batch_norm": False},
            r"params.batch_size = 1 trains the BatchNorm",
        ),
    ],
)
def test_batches_of_one_row_under_batch_norm_are_refused_with_the_spec(kind: str, params: dict, match: str) -> None:
    """Every batch one row: torch's ``ValueError: Expected more than 1 value per channel`` in the first step of the
    first fold (the model FAILED); now a ConfigError when the spec is read."""
    from kaggle_kit.errors import ConfigError

    with pytest.raises(ConfigError, match=match):
        make_adapter(ModelSpec(name="net", kind=kind, params=params))


@pytest.mark.parametrize("params", [{"batch_norm": False}, {"self_normalizing": True}])
def test_batches_of_one_row_train_a_mlp_without_batch_norm(params: dict) -> None:
    X, y = _data()
    pred = _fit_predict("mlp", "regression", X, y, 1, **{**params, "batch_size": 1, "epochs": 1})
    assert pred.shape == (40, 1) and np.isfinite(pred).all()


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("realmlp", {}),
        ("tabm", {}),
        ("hybrid", {"image_shape": [2, 2, 1], "table_batch_norm": False, "head_hidden": []}),
    ],
)
def test_batches_of_one_row_are_taken_without_batch_norm_1d(kind: str, params: dict) -> None:
    """Only a BatchNorm over (rows, features) refuses batch_size = 1: realmlp and tabm have none, nor a hybrid whose
    dense branch and head have none."""
    make_adapter(ModelSpec(name="net", kind=kind, params={**params, "batch_size": 1}))


def test_a_constant_float64_column_or_a_subnormal_spread_is_read_as_nothing_learnt() -> None:
    """A float64 matrix (the adapter's callers may hand one): a column of 0.1 has a float64 std of 1e-17 (its mean
    rounded), above the float32 floor, and ``(0.1 - mean) / 1e-17`` made every row -1e8 to the net; a constant is
    told exactly now, and the rows hold 0."""
    from kaggle_kit.models.nn.inputs import TableInputs

    X = np.column_stack([np.linspace(0.0, 1.0, 7), np.full(7, 0.1), np.full(7, 1e6 + 0.3)])
    fm = FeatureMatrix(X, NAMES, ())
    inputs = TableInputs("m")
    x_num, _ = inputs.arrays(fm, inputs.fit(fm))
    assert np.count_nonzero(x_num[:, 1:]) == 0 and np.abs(x_num[:, 0]).max() > 1
    # float32 spreads below its smallest normal number (subnormal values, 7 bits of precision or fewer): constant too
    X32 = np.column_stack([np.linspace(0.0, 1.0, 7), np.linspace(0.0, 1e-39, 7), np.zeros(7)]).astype(np.float32)
    fm = FeatureMatrix(X32, NAMES, ())
    x_num, _ = inputs.arrays(fm, inputs.fit(fm))
    assert np.count_nonzero(x_num[:, 1:]) == 0


@pytest.mark.parametrize("train_value", [np.nan, 0.0])
@pytest.mark.parametrize("kind", ["mlp", "realmlp", "tabm"])
def test_a_column_without_spread_in_training_is_read_as_nothing_learnt(kind: str, train_value: float) -> None:
    """Column ``c`` all missing (or constant) in the training rows, around 5e4 in the rows predicted: the net learnt
    nothing of it, so the predictions are those of rows holding the training value (missing) there. The mlp divided
    such a column by 1, took 5e4 in, and predicted 10^4 target spreads off."""
    X, y = _data()
    X[:, 2] = 5e4 + 1e4 * np.random.default_rng(5).normal(size=len(X))
    X[:120, 2] = train_value
    unseen = X.copy()
    unseen[120:, 2] = train_value
    pred = _fit_predict(kind, "regression", X, y, 1)
    np.testing.assert_allclose(pred, _fit_predict(kind, "regression", unseen, y, 1), rtol=1e-6, atol=1e-6)
    assert np.sqrt(np.mean((pred[:, 0] - y[120:]) ** 2)) < 2 * y.std()


def test_saved_weights_forwarded_by_hand_give_the_predictions_in_the_targets_units(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """A target of 1e6 + a spread of 1e3, early stopping on RMSE: the state_dict saved (read back with
    ``weights_only=True`` into a fresh MLP) and fed the training rows' standardisation computed here, its output
    scaled by the training target's std and mean, gives the adapter's predictions; they score the best epoch's RMSE,
    the epoch kept."""
    from kaggle_kit.models.nn.architectures.mlp import MLP

    X, y = _data()
    X[::7, 1] = np.nan
    y = 1e6 + 1e3 * y
    ctx = FitContext("regression", 1, get_metric("rmse"), seed=1, device="cpu", threads=1)
    params = {"hidden": [32], "epochs": 30, "patience": 3, "batch_size": 16, "lr": 0.03, "schedule": "constant"}
    adapter = make_adapter(ModelSpec(name="m", kind="mlp", params=params))
    fitted = adapter.fit(_matrix(X[:120]), y[:120], _matrix(X[120:]), y[120:], ctx)
    pred = adapter.predict(fitted, _matrix(X[120:]), ctx)[:, 0]
    adapter.save(fitted, tmp_path / "model.pt")

    module = MLP(3, [], 1, hidden=[32])
    module.load_state_dict(torch.load(tmp_path / "model.pt", weights_only=True))
    train = X[:120].astype(np.float32).astype(np.float64)
    mean, std = np.nanmean(train, axis=0), np.nanstd(train, axis=0)
    x = np.nan_to_num((X[120:].astype(np.float32) - mean) / std).astype(np.float32)
    with torch.no_grad():
        out = module.eval()(torch.from_numpy(x), torch.zeros((40, 0), dtype=torch.int64)).numpy()[:, 0]
    np.testing.assert_allclose(pred, out * y[:120].std() + y[:120].mean(), rtol=0, atol=0.25)  # float32 at 1e6

    curve = fitted.history["valid_rmse"]
    assert fitted.best_iteration == int(np.argmin(curve)) + 1 < len(curve) < 30  # stopped early, the best kept
    assert np.sqrt(np.mean((pred - y[120:]) ** 2)) == pytest.approx(curve[fitted.best_iteration - 1], rel=1e-6)


def _level_task(n: int = 1200) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """y = effect of a 30-level column + x; the levels' effects have std about 1."""
    rng = np.random.default_rng(0)
    level = rng.integers(0, 30, n).astype(np.float64)
    x = rng.normal(size=n)
    effect = rng.normal(size=30)
    return np.column_stack([x, level]), effect[level.astype(int)] + x + 0.1 * rng.normal(size=n), effect


@pytest.mark.parametrize("kind", ["mlp", "realmlp", "tabm"])
def test_an_unseen_level_reads_as_the_centre_of_the_levels_not_a_random_one(kind: str) -> None:
    """No training row misses the 30-level column; the rows predicted hold a level no training row has. Their
    embedding row (index 0) was drawn at random and nothing trained it: the predictions moved by about one level
    effect, up or down by the seed (0.7 .. 1.0 off the mean effect for the mlp). It starts at zeros now, where it
    stays without missing training rows, and such rows are predicted near the levels' mean effect."""
    X, y, effect = _level_task()
    names = ("x", "c")
    fm = lambda a: FeatureMatrix(np.ascontiguousarray(a, dtype=np.float32), names, (1,))  # noqa: E731
    unseen = X[900:].copy()
    unseen[:, 1] = np.nan  # a level unseen in training reads as missing
    params = {**TINY[kind], "hidden": [16], "epochs": 10} | ({"one_hot_max": 4} if kind != "mlp" else {})
    for seed in (0, 1):
        ctx = FitContext("regression", 1, get_metric("rmse"), seed=seed, device="cpu", threads=1)
        adapter = make_adapter(ModelSpec(name="m", kind=kind, params=params))
        fitted = adapter.fit(fm(X[:900]), y[:900], fm(X[900:]), y[900:], ctx)
        module = fitted.model.module
        table = module.embeddings[0] if kind == "mlp" else module.front.categorical.embeddings["0"]
        assert torch.count_nonzero(table.weight[0]) == 0
        pred = adapter.predict(fitted, fm(unseen), ctx)[:, 0]
        off = np.sqrt(np.mean((pred - (effect.mean() + X[900:, 0])) ** 2))
        assert kind == "tabm" or off < 0.5, (seed, off)  # the tiny TabM is too far from trained to tell
    # training rows missing the column train its row 0 as before
    X[:900:5, 1] = np.nan
    fitted = adapter.fit(fm(X[:900]), y[:900], fm(X[900:]), y[900:], ctx)
    module = fitted.model.module
    table = module.embeddings[0] if kind == "mlp" else module.front.categorical.embeddings["0"]
    assert torch.count_nonzero(table.weight[0]) > 0


def test_a_multiregression_target_without_values_in_the_training_rows_is_refused() -> None:
    """Target 1 (around 1e6) has no value in the training rows: the net assumed mean 0 and std 1 and predicted it
    around 0, silently. Refused as the per-target models refuse it."""
    X, y = _data()
    Y = np.column_stack([y, 1e6 + 1e3 * y])
    Y[:120, 1] = np.nan
    ctx = FitContext("multiregression", 2, get_metric("mean_rmse"), seed=0, device="cpu", threads=1)
    adapter = make_adapter(ModelSpec(name="m", kind="mlp", params=TINY["mlp"]))
    with pytest.raises(DataError, match=r"model 'm': the target data.target\[1\] has no value in this fold's training"):
        adapter.fit(_matrix(X[:120]), Y[:120], _matrix(X[120:]), Y[120:], ctx)
    Y[:120:2, 1] = 1e6  # a few values: fitted, in the target's units
    fitted = adapter.fit(_matrix(X[:120]), Y[:120], _matrix(X[120:]), Y[120:], ctx)
    assert np.abs(adapter.predict(fitted, _matrix(X[120:]), ctx)[:, 1] - 1e6).max() < 1e3
