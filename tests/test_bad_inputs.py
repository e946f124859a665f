"""The bad-input catalogue: every row breaks ONE thing in a small valid competition and runs the real command line.

Each row asserts what a user sees: exit status 2, one ``error: ...`` message naming the key, column or file at
fault and the fix, and no Python traceback. Rows that can happen after a run exists (a bad submission, a corrupted
store file, a bad blend option, a config edited to be invalid) start from a finished run and also assert that its
stored fold files are byte-for-byte unchanged: nothing already computed is lost.

``docs/bad-inputs.md`` lists every row id of these tables with the message and the fix (a test checks it).
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import io
import json
import pickle
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.cli import main
from kaggle_kit.errors import DataWarning

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "bad-inputs.md"
RUN = ("run", "{config}", "--runs-root", "{runs}")
N_TRAIN, N_TEST = 36, 12

CONFIG = """\
name = "tiny"
task = "binary"
metric = "roc_auc"
seed = 0

[data]
train = "train.csv"
test = "test.csv"
sample_submission = "sample_submission.csv"
id = "id"
target = "target"

[folds]
n_splits = 3

[run]
n_jobs = 1
threads_per_task = 1

[[models]]
name = "logreg"
kind = "sklearn"
estimator = "sklearn.linear_model.LogisticRegression"
"""

IMAGES = """
[data.images]
folder = "images"
"""

SEQUENCES = """
[data.sequences]
train = "seq_train.csv"
test = "seq_test.csv"
order_by = "step"
"""

Mutation = Callable[[Path], None]


# ------------------------------------------------------------------------------------------------ competitions
def write_table_competition(folder: Path) -> Path:
    """36 train + 12 test rows (id, two numbers, a category, a binary target), a sample submission, the config."""
    rng = np.random.default_rng(0)
    n = N_TRAIN + N_TEST
    x1 = rng.normal(size=n)
    frame = pl.DataFrame(
        {
            "id": np.arange(1, n + 1),
            "x1": x1,
            "x2": rng.normal(size=n),
            "cat": np.array(["a", "b", "c"])[np.arange(n) % 3],
            "target": (x1 + 0.5 * rng.normal(size=n) > 0).astype(np.int64),
        }
    )
    folder.mkdir(parents=True, exist_ok=True)
    frame[:N_TRAIN].write_csv(folder / "train.csv")
    frame[N_TRAIN:].drop("target").write_csv(folder / "test.csv")
    pl.DataFrame({"id": np.arange(N_TRAIN + 1, n + 1), "target": 0.5}).write_csv(folder / "sample_submission.csv")
    (folder / "tiny.toml").write_text(CONFIG)
    return folder / "tiny.toml"


def write_image_competition(folder: Path) -> Path:
    """The table competition without its feature columns: each id's 4 x 4 RGB PNG in images/ instead."""
    from PIL import Image

    config = write_table_competition(folder)
    for name in ("train.csv", "test.csv"):
        pl.read_csv(folder / name).drop("x1", "x2", "cat").write_csv(folder / name)
    (folder / "images").mkdir()
    rng = np.random.default_rng(1)
    for i in range(1, N_TRAIN + N_TEST + 1):
        Image.fromarray(rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)).save(folder / "images" / f"{i}.png")
    config.write_text(CONFIG.replace('target = "target"\n', 'target = "target"\n' + IMAGES))
    return config


def write_sequence_competition(folder: Path) -> Path:
    """The table competition's labels with a long table of 4 steps per id (data.sequences)."""
    config = write_table_competition(folder)
    rng = np.random.default_rng(2)
    rows = [(i, step, float(rng.normal())) for i in range(1, N_TRAIN + N_TEST + 1) for step in range(4)]
    long = pl.DataFrame(rows, schema=["id", "step", "value"], orient="row")
    long.filter(pl.col("id") <= N_TRAIN).write_csv(folder / "seq_train.csv")
    long.filter(pl.col("id") > N_TRAIN).write_csv(folder / "seq_test.csv")
    for name in ("train.csv", "test.csv"):
        pl.read_csv(folder / name).drop("x1", "x2", "cat").write_csv(folder / name)
    config.write_text(CONFIG.replace('target = "target"\n', 'target = "target"\n' + SEQUENCES))
    return config


COMPETITIONS: dict[str, Callable[[Path], Path]] = {
    "table": write_table_competition,
    "images": write_image_competition,
    "sequences": write_sequence_competition,
}


# ------------------------------------------------------------------------------------------------ mutations
def config(old: str, new: str) -> Mutation:
    """Replace ``old`` (which must be there) by ``new`` in the config."""

    def mutate(folder: Path) -> None:
        path = folder / "tiny.toml"
        text = path.read_text()
        assert old in text, f"the config has no {old!r}"
        path.write_text(text.replace(old, new, 1))

    return mutate


def model_as(kind_and_keys: str) -> Mutation:
    """The logistic regression model turned into another kind (its kind and estimator lines replaced)."""
    return config('kind = "sklearn"\nestimator = "sklearn.linear_model.LogisticRegression"', kind_and_keys)


def backbone_weights(state: Callable[[], object] | None) -> Mutation:
    """The logistic regression turned into a resnet18 on the 4 x 4 images, its params.pretrained the file
    ``weights.pth`` in the competition folder, written by ``torch.save(state())`` (``None``: no file)."""

    def mutate(folder: Path) -> None:
        path = folder / "weights.pth"
        if state is not None:
            import torch

            torch.save(state(), path)
        params = f'image_shape = [4, 4, 3], backbone = "resnet18", pretrained = "{path.as_posix()}"'
        model_as(f'kind = "cnn"\nparams = {{ {params} }}')(folder)

    return mutate


def resnet34_weights() -> object:
    from kaggle_kit.models.nn.architectures.resnet import ResNet

    return ResNet("resnet34", 3, 1000).state_dict()


class _RunsCode:
    def __reduce__(self) -> tuple[object, tuple[str]]:
        return (print, ("this ran",))


def append(text: str) -> Mutation:
    """Add ``text`` (e.g. a ``[search]`` table) at the end of the config."""

    def mutate(folder: Path) -> None:
        path = folder / "tiny.toml"
        path.write_text(path.read_text() + "\n" + text)

    return mutate


def unchanged(folder: Path) -> None:
    """A valid competition: the command line is what is wrong."""


def table(name: str, edit: Callable[[pl.DataFrame], pl.DataFrame]) -> Mutation:
    """Rewrite the CSV ``name`` (relative to the competition folder) through ``edit``."""

    def mutate(folder: Path) -> None:
        path = folder / name
        edit(pl.read_csv(path)).write_csv(path)

    return mutate


def write(name: str, content: str | bytes) -> Mutation:
    def mutate(folder: Path) -> None:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)

    return mutate


def delete(name: str) -> Mutation:
    def mutate(folder: Path) -> None:
        (folder / name).unlink()

    return mutate


def chain(*mutations: Mutation) -> Mutation:
    def mutate(folder: Path) -> None:
        for m in mutations:
            m(folder)

    return mutate


def set_value(column: str, where_id: int, value: object) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """The frame with ``column`` set to ``value`` in the row whose id is ``where_id``."""
    return lambda f: f.with_columns(
        pl.when(pl.col("id") == where_id).then(pl.lit(value)).otherwise(pl.col(column)).alias(column)
    )


def train_row_as_test_row(train_id: int, test_id: int) -> Mutation:
    """The test row ``test_id`` replaced by the train row ``train_id`` (its id and values, no target)."""

    def mutate(folder: Path) -> None:
        train, test = pl.read_csv(folder / "train.csv"), pl.read_csv(folder / "test.csv")
        row = train.filter(pl.col("id") == train_id).select(test.columns)
        pl.concat([test.filter(pl.col("id") != test_id), row]).write_csv(folder / "test.csv")

    return mutate


def symlink_run_folder(folder: Path) -> None:
    """runs/tiny is a link to a folder outside the runs folder (as a downloaded runs archive may hold)."""
    (folder / "outside").mkdir()
    (folder / "runs").mkdir()
    (folder / "runs" / "tiny").symlink_to(folder / "outside", target_is_directory=True)


def a_png(height: int, width: int) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.zeros((height, width, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


REGRESSION = chain(
    config('task = "binary"', 'task = "regression"'),
    config('metric = "roc_auc"', 'metric = "rmse"'),
    config("sklearn.linear_model.LogisticRegression", "sklearn.linear_model.Ridge"),
)
RMSLE = chain(REGRESSION, config('metric = "rmse"', 'metric = "rmsle"'))
DISTRIBUTION_TASK = chain(  # the target's CDF at bins, scored by CRPS: without its [distribution] table
    config('task = "binary"', 'task = "distribution"'),
    config('metric = "roc_auc"', 'metric = "crps"'),
)
DISTRIBUTION = chain(
    DISTRIBUTION_TASK, config("threads_per_task = 1\n", "threads_per_task = 1\n\n[distribution]\nbins = [0, 1]\n")
)
TEXT_LEVELS = chain(  # ordinal text labels, scored by quadratic weighted kappa
    config('task = "binary"', 'task = "multiclass"'),
    config('metric = "roc_auc"', 'metric = "qwk"'),
    table(
        "train.csv",
        lambda f: f.with_columns(target=(pl.col("id") % 3).replace_strict([0, 1, 2], ["low", "mid", "high"])),
    ),
)


def steps_as(pattern: str) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """A long table whose ``step`` k is written ``pattern`` of k + 1 (the steps as text dates)."""
    return lambda f: f.with_columns(pl.format(pattern, pl.col("step") + 1).alias("step"))


def thousands(column: str) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """``column`` written as text with thousands separators, e.g. "51,257.30" (quoted in the CSV)."""
    return lambda f: f.with_columns(pl.col(column).map_elements(lambda v: f"{v * 10_000:,.2f}", return_dtype=pl.String))


def placeholder(column: str, ids: tuple[int, ...], text: str = "?") -> Callable[[pl.DataFrame], pl.DataFrame]:
    def edit(f: pl.DataFrame) -> pl.DataFrame:
        f = f.with_columns(pl.col(column).cast(pl.String))
        for i in ids:
            f = set_value(column, i, text)(f)
        return f

    return edit


def semicolons_with_decimal_commas(name: str) -> Mutation:
    def mutate(folder: Path) -> None:
        path = folder / name
        pl.read_csv(path).write_csv(path, separator=";", decimal_comma=True)

    return mutate


def semicolons(name: str) -> Mutation:
    """The CSV ``name`` rewritten ';'-separated, its numbers still written with dots."""

    def mutate(folder: Path) -> None:
        path = folder / name
        pl.read_csv(path).write_csv(path, separator=";")

    return mutate


DECIMAL_COMMA = config('target = "target"', 'target = "target"\ndecimal = ","')


def each_line(name: str, edit: Callable[[int, str], str]) -> Mutation:
    """Rewrite each line of the CSV ``name`` as text: ``edit(line number, line)`` (0 is the header)."""

    def mutate(folder: Path) -> None:
        path = folder / name
        lines = path.read_text().splitlines()
        path.write_text("".join(edit(i, line) + "\n" for i, line in enumerate(lines)))

    return mutate


def latin1(name: str, column: str, row: int, value: str) -> Mutation:
    """Set ``column`` of the row whose id is ``row`` to ``value`` and save the file as Latin-1 (a spreadsheet's
    export), not UTF-8."""

    def mutate(folder: Path) -> None:
        path = folder / name
        text = set_value(column, row, value)(pl.read_csv(path)).write_csv()
        path.write_bytes(text.encode("latin-1"))

    return mutate


def append_line(name: str, line: str) -> Mutation:
    def mutate(folder: Path) -> None:
        with (folder / name).open("a") as f:
            f.write(line + "\n")

    return mutate


TABLES = ("train.csv", "test.csv")

UTF8_SET = 'target = "target"\nencoding = "utf-8"'
DAY_FIRST = 'target = "target"\ndate_formats = { day = "%d/%m/%Y" }'
#: train's column `day` of ISO dates, 2020-01-10 .. 2020-01-18
TRAIN_ISO_DAYS = table(
    "train.csv", lambda f: f.with_columns(day=pl.format("2020-01-{}", 10 + pl.int_range(pl.len()) % 9))
)
#: a date column written month first, as text (days mixed over a year: train's and test's ranges overlap)
US_DATES = lambda f: f.with_columns(  # noqa: E731
    day=(pl.date(2020, 1, 1) + pl.duration(days=(pl.col("id") * 37) % 360)).dt.strftime("%m/%d/%Y")
)
MULTICLASS_WITH_A_RARE_CLASS = chain(
    config('task = "binary"', 'task = "multiclass"'),
    config('metric = "roc_auc"', 'metric = "accuracy"'),
    table("train.csv", set_value("target", 3, 7)),  # class 7 has one member; 3 folds
)
#: the same, with stratified folds asked for by name (the default's folds take the rare class: WARNED)
STRATIFIED_WITH_A_RARE_CLASS = chain(
    MULTICLASS_WITH_A_RARE_CLASS, config("n_splits = 3", 'n_splits = 3\nstrategy = "stratified"')
)


# ------------------------------------------------------------------------------------------------ the table
@dataclass(frozen=True)
class Case:
    """One bad input: what breaks it, the command, and the fragments the one-line error must contain."""

    id: str
    breaks: Mutation
    says: tuple[str, ...]
    argv: tuple[str, ...] = RUN
    competition: str = "table"
    marks: tuple[pytest.MarkDecorator, ...] = field(default=())

    def param(self) -> object:
        return pytest.param(self, id=self.id, marks=self.marks)


def _importable(module: str) -> bool:
    """Whether a module being built right now has landed (its rows are skipped until it has)."""
    try:
        importlib.import_module(module)
    except ImportError:
        return False
    return True


def _registered(kind: str) -> bool:
    from kaggle_kit.models import ADAPTERS

    return kind in ADAPTERS


HAVE_IMAGES = _importable("kaggle_kit.readers.images")
HAVE_SEQUENCES = _importable("kaggle_kit.readers.sequences")
PENDING_IMAGES = pytest.mark.skipif(not HAVE_IMAGES, reason="pending [data.images]")
PENDING_SEQUENCES = pytest.mark.skipif(not HAVE_SEQUENCES, reason="pending [data.sequences]")


BEFORE_RUN: list[Case] = [
    # --- the config file
    Case("config-missing", delete("tiny.toml"), ("tiny.toml' does not exist", "pass the path of a competition TOML")),
    Case(
        "config-malformed-toml",
        config('task = "binary"', 'task = "binary'),
        ("tiny.toml: not valid TOML", "line 2", "Check quotes, brackets and '=' on that line"),
    ),
    Case("config-not-utf8", write("tiny.toml", b'name = "\xff"\n'), ("not UTF-8 text", "save it as UTF-8")),
    Case("config-unknown-key", config("seed = 0", "sed = 0"), ("unknown key 'sed'", "Did you mean 'seed'?")),
    Case(
        "config-unknown-data-key",
        config('target = "target"', 'traget = "target"'),
        ("unknown key 'data.traget'", "Did you mean 'target'?", "missing required key 'data.target'"),
    ),
    Case(
        "config-unknown-model-key",
        config('kind = "sklearn"', 'kind = "sklearn"\nparmas = {}'),
        ("unknown key 'models[0].parmas'", "Did you mean 'params'?"),
    ),
    Case(
        "config-embeddings-unknown-model",
        config('kind = "sklearn"', 'kind = "sklearn"\nembeddings = "cnn"'),
        ("model 'logreg': embeddings = 'cnn' is not a model of the spec; models: 'logreg'",),
    ),
    Case("config-bad-task", config('task = "binary"', 'task = "binray"'), ("task must be one of", "'binary'?")),
    Case(
        "config-unknown-metric",
        config('metric = "roc_auc"', 'metric = "roc_acu"'),
        ("unknown metric 'roc_acu'", "Did you mean 'roc_auc'?"),
    ),
    Case(
        "config-metric-task-mismatch",
        config('metric = "roc_auc"', 'metric = "rmse"'),
        ("metric 'rmse' cannot score a binary task; use one of", "'roc_auc'"),
    ),
    Case(
        "config-distribution-without-bins",
        DISTRIBUTION_TASK,
        ("task = 'distribution' needs a [distribution] table", "bins = [...]", "quantiles = [...]"),
    ),
    Case(
        "config-distribution-bins-not-increasing",
        chain(DISTRIBUTION, config("bins = [0, 1]", "bins = [1, 0]")),
        ("distribution.bins", "must increase; item 1 (0) is not above 1"),
    ),
    Case(
        "config-distribution-head-not-a-net",
        chain(DISTRIBUTION, config('LogisticRegression"\n', 'LogisticRegression"\ndistribution = "head"\n')),
        ("model 'logreg': distribution = 'head' is a net's CDF head", "use 'bins', 'gaussian' or 'residuals'"),
    ),
    Case(
        "config-wrong-type",
        config("n_splits = 3", 'n_splits = "three"'),
        ("folds.n_splits: must be a whole number such as 5 without quotes; got 'three'",),
    ),
    Case("config-out-of-range", config("n_splits = 3", "n_splits = 1"), ("folds.n_splits must be at least 2; got 1",)),
    Case(
        "config-group-strategy-without-column",
        config("n_splits = 3", 'n_splits = 3\nstrategy = "group"'),
        ("folds.strategy = 'group' needs folds.group",),
    ),
    Case(
        "config-unknown-kind",
        config('kind = "sklearn"\nestimator = "sklearn.linear_model.LogisticRegression"', 'kind = "xgbost"'),
        ("models[0].kind", "got 'xgbost'", "Did you mean 'xgboost'?"),
    ),
    Case(
        "config-kind-names-python",
        config('kind = "sklearn"\nestimator = "sklearn.linear_model.LogisticRegression"', 'kind = "builtins.eval"'),
        ("models[0].kind (model 'logreg'): kind must be one of", "got 'builtins.eval'"),
    ),
    Case(
        "config-estimator-outside-sklearn",
        config("sklearn.linear_model.LogisticRegression", "os.system"),
        ("estimator must be a scikit-learn class path", "got 'os.system'"),
    ),
    Case(
        "config-estimator-unknown-class",
        config("sklearn.linear_model.LogisticRegression", "sklearn.linear_model.LogisticRegresion"),
        ("model 'logreg'", "'sklearn.linear_model' has no estimator class 'LogisticRegresion'"),
    ),
    Case(
        "config-estimator-not-an-estimator",
        config("sklearn.linear_model.LogisticRegression", "sklearn.datasets._base.Path"),
        ("model 'logreg'", "'sklearn.datasets._base.Path' is not a scikit-learn estimator"),
    ),
    Case(
        "config-estimator-bad-param",
        config("[[models]]", "[[models]]\nparams = { Cc = 1.0 }"),
        (
            "model 'logreg': bad params for sklearn.linear_model.LogisticRegression",
            "unknown param 'Cc'. Did you mean 'C'?",
        ),
    ),
    Case(
        "config-estimator-regressor-for-classification",
        config("sklearn.linear_model.LogisticRegression", "sklearn.linear_model.Ridge"),
        ("model 'logreg': Ridge is not a classifier and the task is binary", "use a classifier such as"),
    ),
    Case(
        "config-estimator-without-predict-proba",
        config("sklearn.linear_model.LogisticRegression", "sklearn.svm.SVC"),
        ("model 'logreg': SVC has no predict_proba", "metric 'roc_auc' scores probabilities", "probability = true"),
    ),
    Case(
        "config-forest-unknown-param",
        config(
            'kind = "sklearn"\nestimator = "sklearn.linear_model.LogisticRegression"',
            'kind = "random_forest"\nparams = { n_estimator = 50 }',
        ),
        ("model 'logreg': bad params for kind = 'random_forest'", "unknown param 'n_estimator'", "'n_estimators'?"),
    ),
    Case(
        "config-linear-bad-numeric",
        config(
            'kind = "sklearn"\nestimator = "sklearn.linear_model.LogisticRegression"',
            'kind = "linear"\nparams = { numeric = "splines" }',
        ),
        ("model 'logreg': params.numeric must be", "got 'splines'", "Did you mean 'spline'?"),
    ),
    # --- library parameters (resolved by each library's own tables, refused before any fit)
    Case(
        "params-unknown-name",
        model_as('kind = "lightgbm"\nparams = { learning_rte = 0.1 }'),
        ("model 'logreg': params.learning_rte is not a parameter LightGBM knows", "Close matches: 'learning_rate'"),
    ),
    Case(
        "params-ill-typed",
        model_as('kind = "xgboost"\nparams = { max_depth = "deep" }'),
        ("model 'logreg': params.max_depth = 'deep' is rejected by XGBoost", "expect int"),
    ),
    Case(
        "params-two-aliases",
        model_as('kind = "lightgbm"\nparams = { eta = 0.1, learning_rate = 0.2 }'),
        ("params.eta and params.learning_rate are two names of LightGBM's parameter learning_rate; keep one",),
    ),
    Case(
        "params-kit-set-alias",
        model_as('kind = "xgboost"\nparams = { n_jobs = 4 }'),
        ("params.n_jobs is set by the kit (XGBoost reads it as nthread); set run.threads_per_task",),
    ),
    Case(
        "params-catboost-unknown-name",
        model_as('kind = "catboost"\nparams = { depht = 4 }'),
        ("model 'logreg': params.depht is not a parameter CatBoost knows", "Close matches: 'depth'"),
    ),
    Case(
        "early-stopping-metric-unknown",
        model_as('kind = "lightgbm"\nearly_stopping_metric = "auc"'),
        ("models[0].early_stopping_metric (model 'logreg') must be one of 'auto', 'metric' or 'loss'; got 'auc'",),
    ),
    Case(
        "early-stopping-metric-not-boosting",
        config('kind = "sklearn"', 'kind = "sklearn"\nearly_stopping_metric = "loss"'),
        ("early_stopping_metric is for the boosting kinds", "kind 'sklearn' has none"),
    ),
    # --- seeds: 32 bits, as every library takes them
    Case(
        "seed-above-32-bits",
        config("seed = 0", "seed = 4294967296"),
        ("seed must be at most 4294967295; got 4294967296",),
    ),
    Case(
        "model-seed-negative",
        config('kind = "sklearn"', 'kind = "sklearn"\nseed = -1'),
        ("models[0].seed (model 'logreg') must be at least 0; got -1",),
    ),
    # --- names that become folders
    Case(
        "run-name-dotdot",
        config("[run]", '[run]\nname = "../../escape"'),
        ("run.name", "(it names a folder); got '../../escape'"),
    ),
    Case("run-name-absolute", config("[run]", '[run]\nname = "/tmp/escape"'), ("run.name", "got '/tmp/escape'")),
    Case("run-name-slash", config("[run]", '[run]\nname = "a/b"'), ("run.name", "got 'a/b'")),
    Case(
        "model-name-dotdot",
        config('name = "logreg"', 'name = "../logreg"'),
        ("models[0].name: the model name must be", "got '../logreg'"),
    ),
    Case("competition-name-dotdot", config('name = "tiny"', 'name = ".."'), ("the competition name must be", "'..'")),
    Case(
        "run-folder-symlink-escape",
        symlink_run_folder,
        ("runs/tiny", "outside the runs folder"),
    ),
    Case(
        "runs-root-is-a-file",
        write("runs", "not a folder"),
        ("cannot write to the run folder", "runs/tiny", "choose another --runs-root"),
    ),
    # --- data files
    Case("train-missing", delete("train.csv"), ("the train file", "train.csv' does not exist; check data.train")),
    Case("test-missing", delete("test.csv"), ("the test file", "test.csv' does not exist; check data.test")),
    Case("train-empty", write("train.csv", ""), ("the train file", "train.csv' is empty")),
    Case("train-header-only", write("train.csv", "id,x1,x2,cat,target\n"), ("train.csv' has a header but no rows",)),
    Case(
        "test-header-only", write("test.csv", "id,x1,x2,cat\n"), ("the test file", "test.csv' has a header but no rows")
    ),
    Case(
        "train-not-parquet",
        chain(config('train = "train.csv"', 'train = "train.parquet"'), write("train.parquet", b"not parquet")),
        ("could not read the train file", "train.parquet"),
    ),
    Case(
        "train-unknown-format",
        chain(config('train = "train.csv"', 'train = "train.xlsx"'), write("train.xlsx", b"PK")),
        ("train.xlsx' must be .csv or .parquet; got '.xlsx'",),
    ),
    # --- columns and values
    Case(
        "target-missing",
        config('target = "target"', 'target = "Target"'),
        ("data.target = 'Target' is not a column of the train file.", "Did you mean 'target'?"),
    ),
    Case(
        "id-missing",
        config('id = "id"', 'id = "idx"'),
        ("data.id = 'idx' is not a column of the train file.", "Did you mean 'id'?"),
    ),
    Case(
        "drop-unknown-column",
        config('target = "target"', 'target = "target"\ndrop = ["x3"]'),
        ("data.drop = 'x3' is not a column of the train file.",),
    ),
    Case(
        "target-nan",
        table("train.csv", set_value("target", 3, None)),
        ("the target column 'target' has 1 missing value(s); drop those rows or fill them",),
    ),
    Case(
        "target-inf",
        chain(REGRESSION, table("train.csv", set_value("target", 3, float("inf")))),
        ("the target column 'target' has 1 NaN or infinite value(s)",),
    ),
    Case(
        "target-three-classes-for-binary",
        table("train.csv", set_value("target", 3, 2)),
        ("task is binary but the target column 'target' has 3 distinct value(s)", "use task = 'multiclass'"),
    ),
    Case(
        "target-fractions-for-classification",
        table("train.csv", set_value("target", 3, 0.5)),
        ("the target column 'target' has non-integer numbers; use task = 'regression'",),
    ),
    Case(
        "date-format-does-not-read",
        chain(*(table(f, US_DATES) for f in TABLES), config('target = "target"', DAY_FIRST)),
        (
            "column 'day' of the train rows holds '03/15/2020' (21 value(s)), which the date format '%d/%m/%Y' "
            "(data.date_formats) does not read: fix the format, or add such values to data.na_values",
        ),
    ),
    Case(
        "date-format-without-percent-codes",
        config('target = "target"', 'target = "target"\ndate_formats = { day = "dd/mm/yyyy" }'),
        ("data.date_formats: day = 'dd/mm/yyyy' is no strptime format: write it with % codes",),
    ),
    Case(
        "split-codes-of-a-dropped-column",
        config('target = "target"', 'target = "target"\ndrop = ["cat"]\nsplit_codes = { cat = "/" }'),
        ("data.split_codes names 'cat', which data.drop also names; a column is split into its parts or has that",),
    ),
    Case(
        "split-codes-separator-not-in-values",
        config('target = "target"', 'target = "target"\nsplit_codes = { cat = "/" }'),
        (
            "data.split_codes = { cat = '/' }: most values of 'cat' (e.g. 'a') hold no '/'; give the separator its "
            "values use, or remove the column from data.split_codes",
        ),
    ),
    Case(
        "split-codes-column-not-in-test",  # it said "test lacks feature column(s) 'cat_1' or 'cat_2' that train has"
        chain(
            config('target = "target"', 'target = "target"\nsplit_codes = { cat = "/" }'),
            table("train.csv", lambda f: f.with_columns(pl.format("{}/{}", "cat", pl.col("id") % 3).alias("cat"))),
            table("test.csv", lambda f: f.drop("cat")),
        ),
        (
            "the test file has no column 'cat', which data.split_codes splits into 'cat_1', 'cat_2': add it to the "
            "file, or remove it from data.split_codes and add it to data.drop",
        ),
    ),
    Case(
        "split-codes-of-the-fold-group",  # it said "folds.group = 'cat' is not a column of the train file"
        chain(
            config('target = "target"', 'target = "target"\nsplit_codes = { cat = "/" }'),
            config("n_splits = 3", 'n_splits = 3\nstrategy = "group"\ngroup = "cat"'),
        ),
        (
            "folds.group names 'cat', which data.split_codes splits into its parts (cat_1, cat_2, ...): name one of "
            "them, or remove 'cat' from data.split_codes",
        ),
    ),
    Case(
        "rare-class-for-stratified-folds",
        STRATIFIED_WITH_A_RARE_CLASS,
        ("has only 1 member: too few rows for any stratified split", "strategy='kfold'", "drop or merge"),
    ),
    Case(
        "rare-class-named-by-its-label",
        STRATIFIED_WITH_A_RARE_CLASS,
        ("class 7 ",),
    ),
    Case(
        "rare-class-with-two-folds",
        chain(STRATIFIED_WITH_A_RARE_CLASS, config("n_splits = 3", "n_splits = 2")),
        ("class 7 of y has only 1 member: too few rows for any stratified split", "strategy='kfold'"),
    ),
    Case(
        "target-one-class",
        table("train.csv", lambda f: f.with_columns(target=pl.lit(1))),
        ("the target column 'target' holds one value (1) in every row", "needs at least two classes"),
    ),
    Case(
        "qwk-on-text-labels",
        TEXT_LEVELS,
        ("metric 'qwk' scores how far", "'target' are text", "give their order in [data]: classes = ["),
    ),
    Case(
        "classes-missing-a-label",
        chain(TEXT_LEVELS, config('target = "target"', 'target = "target"\nclasses = ["low", "mid"]')),
        ("the target column 'target' has label(s) 'high' that data.classes does not list",),
    ),
    Case(
        "rmsle-negative-target",
        chain(RMSLE, table("train.csv", set_value("target", 3, -2))),
        ("the target column 'target' has 1 value(s) outside [0, inf]", "metric 'rmsle' cannot score", "'rmse'"),
    ),
    Case(
        "numbers-with-thousands-separator",
        table("train.csv", thousands("x1")),
        ("column 'x1' of the train file", "holds numbers written like", "set thousands = ',' in [data]"),
    ),
    Case(
        "numbers-with-a-placeholder",
        table("train.csv", placeholder("x2", (3, 9))),
        ("column 'x2' of the train file", "is numbers but for '?' (2 rows)", "na_values = ['?']"),
    ),
    Case(
        "test-numbers-with-a-placeholder",
        table("test.csv", placeholder("x2", (40,), "-")),
        ("column 'x2' of the test file", "is numbers but for '-' (1 row)", "na_values = ['-']"),
    ),
    Case(
        "decimal-commas-in-a-semicolon-file",
        semicolons_with_decimal_commas("train.csv"),
        ("column 'x1' of the train file", "set decimal = ',' in [data]"),
    ),
    Case(
        "test-decimal-mark-unlike-train",  # one data.decimal cannot read both files: the key per file can
        chain(semicolons_with_decimal_commas("train.csv"), semicolons("test.csv"), DECIMAL_COMMA),
        ("column 'x1' of the test file", "written like '", "set decimal = { train = ',', test = '.' } in [data]"),
    ),
    Case(
        "ragged-line",
        append_line("train.csv", "99,0.5,0.5,a,1,extra"),
        ("line 38 of the train file", "train.csv' has 6 fields but its header has 5", "double quotes"),
    ),
    Case(
        "short-line",
        append_line("test.csv", "99,0.5,0.5"),
        ("line 14 of the test file", "test.csv' has 3 fields but its header has 4", "an empty one where the value"),
    ),
    Case(
        "sample-submission-path-typo",
        config('sample_submission = "sample_submission.csv"', 'sample_submission = "sample_submision.csv"'),
        ("the sample_submission file", "sample_submision.csv' does not exist; check data.sample_submission"),
    ),
    Case(
        "more-folds-than-rows",
        config("n_splits = 3", "n_splits = 50"),
        ("n_splits=50 is more than the 36 rows; lower n_splits to at most 36",),
    ),
    Case(
        "group-column-missing",
        config("n_splits = 3", 'n_splits = 3\nstrategy = "group"\ngroup = "patient"'),
        ("folds.group = 'patient' is not a column of the train file",),
    ),
    Case(
        "train-ids-duplicate",
        table("train.csv", set_value("id", 3, 4)),
        ("the id column 'id' of train is not unique", "e.g. 4", "set data.id to a unique column"),
    ),
    Case(
        "test-ids-duplicate",
        table("test.csv", set_value("id", 40, 41)),
        ("the id column 'id' of test is not unique", "e.g. 41"),
    ),
    Case(
        "test-ids-overlap-train",
        train_row_as_test_row(5, 40),
        ("1 id(s) in column 'id' appear in both train and test (e.g. 5) with the same values",),
    ),
    Case(
        "test-dates-in-another-format",  # day and month cannot be told apart: no format is guessed
        chain(
            TRAIN_ISO_DAYS,
            table("test.csv", lambda f: f.with_columns(day=pl.format("01/0{}/2020", 1 + pl.int_range(pl.len()) % 9))),
        ),
        (
            "column 'day' is Date in train but String in test: the test file's values (e.g. '01/01/2020') are not read "
            "as dates; set data.date_formats for it, or write both files' dates in one format",
        ),
    ),
    Case(
        "test-not-utf8-with-utf8-set",
        chain(latin1("test.csv", "cat", 39, "Zürich"), config('target = "target"', UTF8_SET)),
        (
            "could not read the test file",
            "at line 4 (b'",
            "Z\\xfcrich",
            "the file is not UTF-8: set data.encoding = 'cp1252' (or the file's encoding), or save it as UTF-8",
        ),
    ),
    Case(
        "encoding-unknown",
        config('target = "target"', 'target = "target"\nencoding = "latin-9000"'),
        ("data.encoding: 'latin-9000' is no text encoding Python knows; e.g. 'utf-8', 'cp1252'",),
    ),
    Case(
        "test-header-two-spellings",  # 'X1' and 'x1 ': which one is train's x1 is not for the kit to guess
        table("test.csv", lambda f: f.rename({"x1": "X1"}).with_columns(pl.col("X1").alias("x1 "))),
        ("test lacks feature column(s) 'x1' that train has",),
    ),
    Case(
        "test-lacks-a-column",
        table("test.csv", lambda f: f.drop("x2")),
        ("test lacks feature column(s) 'x2' that train has; add them to data.drop",),
    ),
    Case(
        "dtype-mismatch",
        table("test.csv", lambda f: f.with_columns(pl.col("x1").cast(pl.String) + "z")),
        ("column 'x1' is Float64 in train but String in test; make both numeric or both text",),
    ),
    Case(
        "text-unknown-column",
        config('target = "target"', 'target = "target"\ntext = ["reveiw"]'),
        ("data.text = 'reveiw' is not a column of the train file.",),
    ),
    Case(
        "text-column-of-numbers",
        config('target = "target"', 'target = "target"\ntext = ["x1"]'),
        ("data.text lists 'x1', but the train column holds Float64 values, not free text; remove it from data.text",),
    ),
    Case(
        "text-also-categorical",
        config('target = "target"', 'target = "target"\ntext = ["cat"]\ncategorical = ["cat"]'),
        ("data.text lists 'cat', which data.categorical also lists",),
    ),
    Case(
        "only-unknown-model",
        lambda folder: None,
        ("no model named 'logre'; the spec has 'logreg'",),
        argv=(*RUN, "--only", "logre"),
    ),
    # --- [data.images]
    Case(
        "image-file-missing",
        delete("images/3.png"),
        ("1 of 36 train image files are missing", "3.png' (id 3)", "check data.images.folder, data.images.pattern"),
        competition="images",
        marks=(PENDING_IMAGES,),
    ),
    Case(
        "image-sizes-mixed",
        lambda folder: (folder / "images" / "4.png").write_bytes(a_png(5, 4)),
        ("4.png' (id 4) is 4 x 5 but", "data.images.size = [height, width]"),
        competition="images",
        marks=(PENDING_IMAGES,),
    ),
    Case(
        "image-unreadable",
        write("images/5.png", b"not a png"),
        ("5.png' (id 5) could not be read as an image",),
        competition="images",
        marks=(PENDING_IMAGES,),
    ),
    Case(
        "image-name-escapes-folder",
        table("train.csv", lambda f: f.with_columns(pl.col("id").cast(pl.String)).pipe(set_value("id", "2", "../x"))),
        ("names the file '../x.png', which is outside the image folder",),
        competition="images",
        marks=(PENDING_IMAGES,),
    ),
    # --- a backbone's pretrained weights (params.pretrained), read and checked before anything trains
    Case(
        "backbone-weights-missing",
        backbone_weights(None),
        ("model 'logreg': params.pretrained: file", "weights.pth' does not exist", "give an absolute path"),
        competition="images",
        marks=(PENDING_IMAGES,),
    ),
    Case(
        "backbone-weights-other-architecture",
        backbone_weights(resnet34_weights),
        (
            "params.pretrained does not fit backbone 'resnet18'",
            "the checkpoint has key 'layer1.2.conv1.weight', which the model does not",
            "set params.backbone = 'resnet34'",
        ),
        competition="images",
        marks=(PENDING_IMAGES,),
    ),
    Case(
        "backbone-weights-run-code",
        backbone_weights(lambda: {"conv1.weight": np.zeros(1), "x": _RunsCode()}),
        ("holds more than tensors", "which the kit refuses", "torch.save(model.state_dict(), path)"),
        competition="images",
        marks=(PENDING_IMAGES,),
    ),
    Case(
        "backbone-timm-missing",
        model_as('kind = "cnn"\nparams = { image_shape = [4, 4, 3], backbone = "timm:efficientnet_b0" }'),
        (
            "model 'logreg': params.backbone = 'timm:efficientnet_b0' needs the 'timm' package",
            "pip install timm, or use one of the kit's own backbones, which need no package: 'resnet18'",
        ),
        competition="images",
        marks=(PENDING_IMAGES, pytest.mark.skipif(_importable("timm"), reason="timm is installed")),
    ),
    Case(
        "backbone-image-too-small",
        model_as('kind = "cnn"\nparams = { image_shape = [4, 4, 3], backbone = "convnext_atto" }'),
        (
            "model 'logreg': 'convnext_atto' needs images of at least 8 x 8 pixels with small_input",
            "image_shape is [4, 4, 3]: upscale the images, or use a resnet backbone",
        ),
        competition="images",
        marks=(PENDING_IMAGES,),
    ),
    # --- an image + table net (kind hybrid) on a table without images
    Case(
        "hybrid-without-pixels",
        model_as('kind = "hybrid"\nparams = { image_shape = [4, 4, 3], epochs = 1 }'),
        (
            "model 'logreg': kind 'hybrid' reads an image from the pixel columns params.image_columns",
            "none of the net's columns ['x1', 'x2', 'cat'] match",
            "use kind 'mlp' for a table without images",
        ),
        marks=(pytest.mark.skipif(not _registered("hybrid"), reason="pending kind hybrid"),),
    ),
    # --- [data.sequences]
    Case(
        "sequence-table-header-only",
        write("seq_train.csv", "id,step,value\n"),
        ("the sequences.train file", "seq_train.csv' has a header but no rows"),
        competition="sequences",
        marks=(PENDING_SEQUENCES,),
    ),
    Case(
        "sequence-id-without-rows",
        table("seq_train.csv", lambda f: f.filter(pl.col("id") != 7)),
        ("1 id(s) of data.train have no rows in the train long table (data.sequences.train), e.g. 7",),
        competition="sequences",
        marks=(PENDING_SEQUENCES,),
    ),
    Case(
        "sequence-steps-dates-ambiguous",
        chain(*(table(f, steps_as("01/0{}/2020")) for f in ("seq_train.csv", "seq_test.csv"))),
        (
            "the step column 'step' (data.sequences.order_by) of the train long table (data.sequences.train) holds "
            "dates that read as '%m/%d/%Y' and as '%d/%m/%Y', in other orders (no day after the 12th): set "
            "data.date_formats = { step = '%m/%d/%Y' } (or another of them)",
        ),
        competition="sequences",
        marks=(PENDING_SEQUENCES,),
    ),
    # --- [search] and the time limit
    Case(
        "search-unknown-family",
        append('[search]\nfamilies = ["lightgmb"]\n'),
        ("search.families: unknown family 'lightgmb'", "Did you mean 'lightgbm'?"),
    ),
    Case(
        "search-n-configs-zero",
        append('[search]\nfamilies = ["lightgbm"]\nn_configs = 0\n'),
        ("search.n_configs: must be a whole number from 1 to 1000", "got 0"),
    ),
    Case(
        "search-n-configs-other-family",
        append('[search]\nfamilies = ["lightgbm"]\nn_configs = { xgboost = 3 }\n'),
        ("search.n_configs names 'xgboost', which is not in search.families ('lightgbm')",),
    ),
    Case(
        "search-override-unknown-key",
        append('[search]\nfamilies = ["lightgbm"]\n[search.overrides.lightgbm]\nrounds = 50\n'),
        ("search.overrides.lightgbm.rounds is not a model field a search may set", "'num_boost_round'"),
    ),
    Case(
        "search-override-params-not-a-table",
        append('[search]\nfamilies = ["lightgbm"]\n[search.overrides.lightgbm]\nparams = 5\n'),
        ("search.overrides.lightgbm.params must be a table of the library's parameters", "got 5"),
    ),
    Case(
        "search-override-bad-value",
        append('[search]\nfamilies = ["lightgbm"]\n[search.overrides.lightgbm]\nnum_boost_round = 0\n'),
        ("search.overrides.lightgbm.num_boost_round must be at least 1; got 0",),
    ),
    Case(
        "search-family-kind-not-installed",
        append('[search]\nfamilies = ["catboost"]\n'),
        ("search family 'catboost' runs as model kind 'catboost', which this installation does not have",),
        marks=(pytest.mark.skipif(_registered("catboost"), reason="kind catboost is registered here"),),
    ),
    Case(
        "run-search-zero",
        unchanged,
        ("--search / --n takes the number of configs per family", "got 0"),
        argv=(*RUN, "--search", "0"),
    ),
    Case(
        "run-search-too-many",
        unchanged,
        ("--search / --n takes the number of configs per family, from 1 to 1000", "got 5000"),
        argv=(*RUN, "--search", "5000"),
    ),
    Case(
        "run-time-limit-zero",
        unchanged,
        ("--time-limit takes seconds, more than 0; got 0",),
        argv=(*RUN, "--time-limit", "0"),
    ),
    Case(
        "run-time-limit-inf",
        unchanged,
        ("--time-limit takes seconds, a finite number more than 0; got inf",),
        argv=(*RUN, "--time-limit", "inf"),
    ),
    Case(  # it read the data, fitted nothing and failed after the reading
        "run-time-limit-below-the-reserve",
        unchanged,
        ("--time-limit (run.time_limit) must be more than 2 seconds; got 1", "kept for what follows the fits"),
        argv=(*RUN, "--time-limit", "1"),
    ),
    Case(  # the limit is the reserve exactly: no fold time either
        "run-time-limit-at-the-reserve",
        unchanged,
        ("--time-limit (run.time_limit) must be more than 2 seconds; got 2:",),
        argv=(*RUN, "--time-limit", "2"),
    ),
    Case(
        "config-time-limit-below-the-reserve",
        config("[run]", "[run]\ntime_limit = 1.5"),
        ("--time-limit (run.time_limit) must be more than 2 seconds; got 1.5", "kaggle-kit submit RUN_DIR --best"),
    ),
    Case(  # a time-limited command submits after its fits: a sample of other rows still stops it up front
        "time-limited-run-with-a-sample-of-another-test-set",
        table("sample_submission.csv", lambda f: f.with_columns(pl.col("id") + 1000)),
        ("12 test id(s) are not in it (e.g. '37')", "(found before fitting anything"),
        argv=(*RUN, "--time-limit", "60"),
    ),
    Case(  # scikit-learn's "every core": it had run one task at a time, without a word
        "run-jobs-negative",
        unchanged,
        ("n_jobs (--jobs) must be 0 (one task per CPU core) or a positive number; got -1",),
        argv=(*RUN, "--jobs", "-1"),
    ),
    Case(
        "config-time-limit-negative",
        config("[run]", "[run]\ntime_limit = -5"),
        ("run.time_limit must be more than 0; got -5",),
    ),
    Case(
        "config-time-limit-nan",
        config("[run]", "[run]\ntime_limit = nan"),
        ("run.time_limit", "finite number"),
    ),
    # --- [pseudo_label]
    Case(
        "pseudo-source-not-a-model",
        append('[pseudo_label]\nsource = "logrg"\n'),
        (
            "pseudo_label.source = 'logrg' is neither a model of the spec nor a blend stored in the run folder",
            "Did you mean 'logreg'?",
        ),
    ),
    Case(
        "pseudo-threshold-out-of-range",
        append('[pseudo_label]\nsource = "logreg"\nthreshold = 1.5\n'),
        ("pseudo_label.threshold: must be a probability between 0 and 1 (exclusive)", "got 1.5"),
    ),
    Case(
        "pseudo-unknown-key",
        append('[pseudo_label]\nsource = "logreg"\ntreshold = 0.9\n'),
        ("unknown key 'pseudo_label.treshold'", "Did you mean 'threshold'?"),
    ),
    Case(
        "pseudo-models-not-a-model",
        append('[pseudo_label]\nsource = "logreg"\nmodels = ["lgbm"]\n'),
        ("pseudo_label.models names 'lgbm', which is not a model of the spec",),
    ),
    Case(
        "pseudo-soft-without-weights",
        append('[pseudo_label]\nsource = "logreg"\nsoft = true\n'),
        ("pseudo_label.soft = true trains on rows weighted by their probabilities", "model 'logreg' (kind 'sklearn')"),
    ),
    Case(
        "pseudo-model-reads-embeddings",
        append(
            '[[models]]\nname = "cnn"\nkind = "cnn"\n\n[[models]]\nname = "lgbm_emb"\nkind = "lightgbm"\n'
            'embeddings = "cnn"\n\n[pseudo_label]\nsource = "logreg"\nmodels = ["logreg", "lgbm_emb"]\n'
        ),
        (
            "pseudo_label would refit model 'lgbm_emb', which reads the out-of-fold embeddings of 'cnn'",
            "leave it out of pseudo_label.models",
        ),
    ),
    Case(  # cyclical on the target: each validation row's features were made of its own target (CV AUC 1.0)
        "pipeline-step-names-the-target",
        config(
            'estimator = "sklearn.linear_model.LogisticRegression"\n',
            'estimator = "sklearn.linear_model.LogisticRegression"\npipeline = "p"\n\n'
            '[pipelines.p]\nsteps = [{ step = "cyclical", columns = ["target"], period = 2 }]\n',
        ),
        (
            "model 'logreg' (pipeline 'p') steps[0] (cyclical): columns names 'target', the target: a step never "
            "reads it",
        ),
    ),
]


# ------------------------------------------------------------------------------------------------ running a row
def run_cli(argv: tuple[str, ...], folder: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``kaggle-kit ARGV``, ``{config}`` ``{runs}`` ``{run}`` ``{folder}`` filled in -> (code, stderr, stdout)."""
    paths = {
        "config": folder / "tiny.toml",
        "runs": folder / "runs",
        "run": folder / "runs" / "tiny",
        "folder": folder,
    }
    capsys.readouterr()
    code = main([a.format(**{k: str(v) for k, v in paths.items()}) for a in argv])
    out = capsys.readouterr()
    return code, out.err, out.out


def assert_one_clear_error(code: int, err: str, says: tuple[str, ...]) -> None:
    assert code == 2, f"exit status {code}; stderr:\n{err}"
    assert err.startswith("error: "), err
    assert "Traceback" not in err, err
    for fragment in says:
        assert fragment in err, f"{fragment!r} not in:\n{err}"


@pytest.mark.parametrize("case", [c.param() for c in BEFORE_RUN])
def test_bad_input_before_a_run(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    COMPETITIONS[case.competition](tmp_path)
    case.breaks(tmp_path)
    code, err, _ = run_cli(case.argv, tmp_path, capsys)
    assert_one_clear_error(code, err, case.says)


# ---------------------------------------------------------------------------------------------- handled, warned
WARNED: list[Case] = [  # the run goes on (exit 0); each `warning: ...` line names the column and what was done
    Case(
        "inf-feature-values",
        chain(
            table("train.csv", set_value("x1", 3, float("inf"))),
            table("test.csv", set_value("x1", 40, float("-inf"))),
        ),
        (
            "warning: infinite values in the train column(s) 'x1' (1 value) are read as missing",
            "warning: infinite values in the test column(s) 'x1' (1 value) are read as missing",
        ),
    ),
    Case(
        "saved-pandas-index",
        chain(
            table("train.csv", lambda f: f.select(pl.int_range(pl.len()).alias(""), pl.all())),
            table("test.csv", lambda f: f.select(pl.int_range(pl.len()).alias(""), pl.all())),
        ),
        ("warning: column(s) '' of train (unnamed, the distinct row numbers 0..35: a saved pandas index) are dropped",),
    ),
    Case(
        "unnamed-0-index",
        table("train.csv", lambda f: f.select(pl.int_range(pl.len()).alias("Unnamed: 0"), pl.all())),
        ("warning: column(s) 'Unnamed: 0' of train", "are dropped: row numbers are not a feature"),
    ),
    Case(
        "test-headers-spaced-or-cased",
        table("test.csv", lambda f: f.rename({"x1": " X1 ", "cat": "CAT"})),
        (
            "warning: test column(s) named otherwise than in train (spaces or case) are read as train's: ' X1 ' as "
            "'x1', 'CAT' as 'cat'",
        ),
    ),
    Case(
        "test-id-header-cased",
        table("test.csv", lambda f: f.rename({"id": "ID"})),
        ("warning: test id column(s) named otherwise than in train", "are read as train's: 'ID' as 'id'"),
    ),
    Case(
        "class-labels-with-spaces",  # 'yes ' and 'yes' were two classes: a binary run stopped
        table(
            "train.csv",
            lambda f: f.with_columns(
                pl.concat_str(
                    pl.when(pl.col("target") == 1).then(pl.lit("yes")).otherwise(pl.lit("no")),
                    pl.when(pl.int_range(pl.len()) % 3 == 0).then(pl.lit(" ")).otherwise(pl.lit("")),
                ).alias("target")
            ),
        ),
        ("warning: class label(s) of 'target' with spaces around them ('no ', 'yes ') are read without them",),
    ),
    Case(
        "train-lines-end-in-a-separator",  # a spreadsheet's export: an unnamed column, empty, that test lacks
        each_line("train.csv", lambda i, line: line + ","),
        ("warning: column(s) '' of train (unnamed and empty in every row) are dropped",),
    ),
    Case(
        "header-repeats-a-name",  # both files: the run goes on, with the repeat read as x1_duplicated_0
        chain(*(each_line(f, lambda i, line: line.replace("x2", "x1") if i == 0 else line) for f in TABLES)),
        (
            "warning: the header of the file '",
            "train.csv' names column(s) 'x1' (2 times): the repeats are read as",
            "test.csv' names column(s) 'x1' (2 times): the repeats are read as",
        ),
    ),
    Case(
        "init-header-repeats-a-name",  # init reads train twice (roles, then as run will): printed once all the same
        chain(*(each_line(f, lambda i, line: line.replace("x2", "x1") if i == 0 else line) for f in TABLES)),
        ("warning: the header of the file '", "train.csv' names column(s) 'x1' (2 times)"),
        argv=("init", "again", "--train", "{folder}/train.csv", "--out", "{folder}/cfg", "--preset", "fast"),
    ),
    Case(
        "decimal-comma-train-beside-a-comma-separated-test",  # read as written, without a word: ',' files use dots
        chain(semicolons_with_decimal_commas("train.csv"), DECIMAL_COMMA),
        (),
    ),
    Case(
        "test-not-utf8",  # a spreadsheet's export
        latin1("test.csv", "cat", 39, "Zürich"),
        (
            "warning: the test file '",
            "is not UTF-8 (at line 4 (b'",
            "Z\\xfcrich",
            "read as cp1252; set data.encoding if it is another",
            "(e.g. 'Zürich')",  # the level the warning of new test categories names: read as the file meant it
        ),
    ),
    Case(
        "test-dates-written-otherwise",  # a test file written apart: '01/10/2020' beside train's 2020-01-10
        chain(
            TRAIN_ISO_DAYS,
            table("test.csv", lambda f: f.with_columns(day=pl.format("01/{}/2020", 10 + pl.int_range(pl.len()) % 9))),
        ),
        (
            "warning: text column(s) 'day' (e.g. '01/10/2020': '%m/%d/%Y') of the test file (dates in train) hold "
            "dates: read as dates with those formats",
        ),
    ),
    Case(
        "dates-written-as-text",  # a day per category: the date's signal lost
        chain(*(table(f, US_DATES) for f in TABLES)),
        ("warning: text column(s) 'day' (e.g. '02/07/2020': '%m/%d/%Y') hold dates: read as dates with those formats",),
    ),
    Case(
        "test-dates-after-train",  # a test file later in time: a random K-fold CV flatters
        chain(*(table(f, lambda f: f.with_columns(day=pl.date(2020, 1, 1) + pl.duration(days="id"))) for f in TABLES)),
        (
            "warning: most test dates lie outside the train dates (column 'day': train 2020-01-02 .. 2020-02-06, "
            "test 2020-02-07 .. 2020-02-18 (100% of the test dates after train's last date)): ",
            "time-based drift",
            "[folds] strategy = 'time' and time = 'day'",
        ),
    ),
    Case(
        "test-categories-not-in-train",  # told once for the run, not once per fold and pipeline step
        table("test.csv", lambda f: f.with_columns(cat=pl.lit("brand-new"))),
        ("warning: test rows hold categories that no training row has (column 'cat': ", "(e.g. 'brand-new')"),
    ),
    Case(
        "test-column-empty",
        table("test.csv", lambda f: f.with_columns(pl.lit(None, dtype=pl.Float64).alias("x2"))),
        ("warning: column(s) 'x2' are empty in every test row but have values in train", "add them to data.drop"),
    ),
    Case(
        "numbers-with-a-unit",
        chain(
            table("train.csv", lambda f: f.with_columns(pl.format("${}", pl.col("x1")).alias("x1"))),
            table("test.csv", lambda f: f.with_columns(pl.format("{} %", pl.col("x1")).alias("x1"))),
        ),
        (
            "warning: column(s) 'x1' (e.g. '$",
            "of the train file '",
            "hold numbers written with a unit (a currency sign, '%', an accountant's parentheses): read as the "
            "numbers, the unit dropped",
            "warning: column(s) 'x1' (e.g. '",
        ),
    ),
    Case(
        "sequence-steps-as-text-dates",  # a file's '01/13/2020' .. '04/13/2020', read as dates (not sorted as text)
        chain(*(table(f, steps_as("{}/13/2020")) for f in ("seq_train.csv", "seq_test.csv"))),
        (
            "warning: text column(s) 'step' (e.g. '",
            "/13/2020': '%m/%d/%Y') of the train long table (data.sequences.train) hold dates: read as dates",
        ),
        competition="sequences",
        marks=(PENDING_SEQUENCES,),
    ),
    Case(  # `pipeline = "scaled"` forgotten on the model: it ran on the base encoding, unsaid
        "pipeline-declared-unused",
        config("[run]", '[pipelines.scaled]\nsteps = [{ step = "standardize", columns = "numeric" }]\n\n[run]'),
        ("warning: pipeline(s) 'scaled' are declared but no model reads them; set pipeline = 'scaled' on a model",),
    ),
    Case(  # the fold that validates group 0 trains on 10 rows: its score and OOF were a small model's, unsaid
        "group-holds-most-rows",
        chain(
            table("train.csv", lambda f: f.with_columns(g=pl.Series([0] * 24 + [1, 2, 3, 4, 5, 6] * 2))),
            config("n_splits = 3", 'n_splits = 3\nstrategy = "group"\ngroup = "g"'),
        ),
        (
            "warning: folds.group: the group 0 of column 'g' holds 24 of the 36 training rows (67%), so the fold that "
            "validates it trains on 10 rows",
        ),
    ),
    Case(  # a code competition's sample of its hidden test: the run had stopped before fitting anything
        "sample-of-another-test-set",
        table("sample_submission.csv", lambda f: f.with_columns(pl.col("id") + 1000)),
        (
            "warning: the sample submission '",
            "sample_submission.csv' lists other rows than data.test: 12 of data.test's 12 id(s) are not in it (e.g. "
            "'37'). The run goes on",
            "`kaggle-kit predict RUN_DIR --test ITS_TEST_FILE --sample SAMPLE`",
        ),
    ),
    Case(  # every test id and 3 more: the sample of a larger test set
        "sample-of-more-rows-than-data-test",
        table("sample_submission.csv", lambda f: pl.concat([f, f.head(3).with_columns(pl.col("id") + 1000)])),
        (
            "sample_submission.csv' lists other rows than data.test: 3 of its id(s) are not in data.test (e.g. "
            "'1037'). The run goes on",
        ),
    ),
    Case(  # no data.id: rows matched by position, and the sample has 10 of the test file's 12
        "sample-of-other-length-without-ids",
        chain(config('id = "id"\n', 'drop = ["id"]\n'), table("sample_submission.csv", lambda f: f.head(10))),
        ("sample_submission.csv' lists other rows than data.test: 10 rows against the test file's 12. The run",),
    ),
    Case(  # Otto numbers train and test rows from 1 each: the run stopped (`appear in both train and test`)
        "test-ids-also-train-ids-on-other-rows",
        table("test.csv", set_value("id", 40, 5)),
        (
            "warning: 1 test id(s) in column 'id' are also train ids (e.g. 5), on other rows: each file numbers its "
            "own rows",
        ),
    ),
    Case(
        "rare-class-with-the-default-folds",
        MULTICLASS_WITH_A_RARE_CLASS,
        ("warning: 1 class(es) have fewer training rows than the 3 folds: 7 (1 row). The folds spread their rows",),
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in WARNED])
def test_handled_with_a_warning(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    COMPETITIONS[case.competition](tmp_path)
    case.breaks(tmp_path)
    code, err, _ = run_cli(case.argv, tmp_path, capsys)
    assert code == 0, err
    assert "Traceback" not in err, err
    for fragment in case.says:
        assert fragment in err, f"{fragment!r} not in:\n{err}"
    assert all(line.startswith(("warning: ", "baseline", "logreg")) for line in err.splitlines() if line), err
    lines = [line for line in err.splitlines() if line.startswith("warning: ")]
    assert len(lines) == len(set(lines)), f"a warning printed twice:\n{err}"


def test_each_competition_is_valid_before_it_is_broken(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The rows prove something only if the unbroken competitions run: so they must."""
    kinds = ["table"] + ["images"] * HAVE_IMAGES + ["sequences"] * HAVE_SEQUENCES
    for kind in kinds:
        COMPETITIONS[kind](tmp_path / kind)
        code, err, _ = run_cli(RUN, tmp_path / kind, capsys)
        assert code == 0, f"{kind}: {err}"


# ------------------------------------------------------------------------------------------------ after a run
@pytest.fixture(scope="module")
def finished_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The table competition, run once (baseline + logistic regression, 3 folds); rows work on copies of it."""
    folder = tmp_path_factory.mktemp("finished") / "comp"
    write_table_competition(folder)
    assert main(["run", str(folder / "tiny.toml"), "--runs-root", str(folder / "runs")]) == 0
    return folder


def copy_run(finished: Path, dest: Path) -> Path:
    """A copy of the finished competition folder whose run.json points at the copy's own files."""
    shutil.copytree(finished, dest)
    meta_path = dest / "runs" / "tiny" / "run.json"
    meta_path.write_text(meta_path.read_text().replace(str(finished), str(dest)))
    return dest


def fold_hashes(run_dir: Path) -> dict[str, str]:
    """SHA-256 of every stored fold file (predictions, fitted models, results) and of the fold assignment."""
    files = [run_dir / "folds.parquet", *sorted(run_dir.glob("models/*/*/folds/*/*"))]
    return {str(p.relative_to(run_dir)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files if p.is_file()}


def model_file(name: str, fname: str) -> Callable[[Path], Path]:
    return lambda folder: next((folder / "runs" / "tiny" / "models" / name).glob(f"*/{fname}"))


def overwrite(locate: Callable[[Path], Path], content: bytes) -> Mutation:
    return lambda folder: locate(folder).write_bytes(content)


def predictions_file(name: str, edit: Callable[[pl.DataFrame], pl.DataFrame], *, to: str) -> Mutation:
    """Write ``edit`` of model ``logreg``'s stored OOF predictions to ``to`` (relative to the competition folder)."""

    def mutate(folder: Path) -> None:
        oof = pl.read_parquet(model_file("logreg", "oof.parquet")(folder))
        edit(oof).write_csv(folder / to)

    return mutate


def add_model_to_run_json(name: str) -> Mutation:
    """run.json lists a model called ``name`` (a crafted, downloaded run folder)."""

    def mutate(folder: Path) -> None:
        path = folder / "runs" / "tiny" / "run.json"
        meta = json.loads(path.read_text())
        meta["models"][name] = "0" * 16
        path.write_text(json.dumps(meta))

    return mutate


def shorter_test_predictions(folder: Path) -> None:
    """logreg's test.parquet with half its rows, as an older kit (no checksums.json) would have left unchecked."""
    path = model_file("logreg", "test.parquet")(folder)
    pl.read_parquet(path).head(N_TEST // 2).write_parquet(path)
    (path.parent / "checksums.json").unlink(missing_ok=True)


def nothing(folder: Path) -> None:
    return None


class _CreatesFile:
    """Unpickling this object creates ``path``: the proof that a loader executed a pickle."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return (open, (str(self.path), "w"))


def pickled_fold_array(folder: Path, marker: Path | None = None) -> None:
    """logreg's fold 0 ``valid.npy`` replaced by a pickled object array, its checksum in result.json updated to
    match (a crafted download), and the assembled predictions removed so that the next run reads the fold files."""
    fold = next((folder / "runs" / "tiny").glob("models/logreg/*/folds/r0_f0"))
    buf = io.BytesIO()
    np.save(buf, np.array([_CreatesFile(marker or folder / "executed")], dtype=object), allow_pickle=True)
    (fold / "valid.npy").write_bytes(buf.getvalue())
    result = json.loads((fold / "result.json").read_text())
    result["files"]["valid.npy"] = hashlib.sha256(buf.getvalue()).hexdigest()
    (fold / "result.json").write_text(json.dumps(result))
    for assembled in fold.parent.parent.glob("*.parquet"):
        assembled.unlink()


def stored_blend(edit: Callable[[Path], None]) -> Mutation:
    """The blend ``mean`` stored by ``kaggle-kit blend``, then ``edit`` of its folder (a hand edit, a bad disk)."""

    def mutate(folder: Path) -> None:
        run_dir = folder / "runs" / "tiny"
        assert main(["blend", str(run_dir), "--method", "mean"]) == 0
        edit(run_dir / "blends" / "mean")

    return mutate


def pickled_model_file(folder: Path) -> None:
    """logreg's fold 0 ``model.npz`` replaced by a pickled object array, its checksum in result.json updated (a
    crafted download): ``kaggle-kit predict`` must refuse it without unpickling it."""
    fold = next((folder / "runs" / "tiny").glob("models/logreg/*/folds/r0_f0"))
    buf = io.BytesIO()
    np.save(buf, np.array([_CreatesFile(folder / "executed")], dtype=object), allow_pickle=True)
    (fold / "model.npz").write_bytes(buf.getvalue())
    result = json.loads((fold / "result.json").read_text())
    result["files"]["model.npz"] = hashlib.sha256(buf.getvalue()).hexdigest()
    (fold / "result.json").write_text(json.dumps(result))


def new_test(edit: Callable[[pl.DataFrame], pl.DataFrame]) -> Mutation:
    """``new_test.csv`` beside the config: the run's test file through ``edit`` (what `kaggle-kit predict` reads)."""

    def mutate(folder: Path) -> None:
        edit(pl.read_csv(folder / "test.csv")).write_csv(folder / "new_test.csv")

    return mutate


def _scale_test_predictions(folder: Path) -> None:
    frame = pl.read_parquet(folder / "test.parquet")
    frame.with_columns(pl.col("p_1") * 0.9, 1 - pl.col("p_1") * 0.9).write_parquet(folder / "test.parquet")


def _junk_without_checksums(folder: Path) -> None:
    (folder / "test.parquet").write_bytes(b"junk")
    (folder / "checksums.json").unlink()


def _blend_and_new_test(folder: Path) -> None:
    stored_blend(lambda f: None)(folder)
    new_test(lambda f: f)(folder)


def _imported_and_new_test(folder: Path) -> None:
    """logreg's OOF and test predictions imported as 'friend' (a teammate's), and a new test file."""
    import warnings

    from kaggle_kit.blend import import_predictions

    predictions_file("logreg", lambda f: f, to="p.csv")(folder)
    pl.read_parquet(model_file("logreg", "test.parquet")(folder)).write_csv(folder / "p_test.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # no fold column: said, not the point here
        import_predictions(folder / "runs" / "tiny", "friend", folder / "p.csv", folder / "p_test.csv")
    new_test(lambda f: f)(folder)


def _blend_and_file(folder: Path) -> None:
    stored_blend(lambda f: None)(folder)
    predictions_file("logreg", lambda f: f, to="p.csv")(folder)


SUBMIT = ("submit", "{run}", "--model", "logreg")
SUBMIT_BLEND = ("submit", "{run}", "--blend", "mean")
BLEND = ("blend", "{run}", "--method", "mean")
PREDICT = ("predict", "{run}", "--test", "{folder}/new_test.csv", "--model", "logreg", "--out", "{folder}/s.csv")

AFTER_RUN: list[Case] = [
    # --- submissions
    Case(
        "submit-sample-fewer-rows",
        table("sample_submission.csv", lambda f: f.head(5)),
        ("has 5 row(s) but the run has 12 test predictions", "not in it (e.g. '42')", "wrong row count"),
        argv=SUBMIT,
    ),
    Case(
        "submit-sample-unknown-id",
        table("sample_submission.csv", lambda f: pl.concat([f, pl.DataFrame({"id": [999], "target": [0.5]})])),
        ("1 id(s) of the sample submission", "have no test prediction (e.g. '999')", "same competition's files"),
        argv=SUBMIT,
    ),
    Case(
        "submit-sample-duplicate-ids",
        table("sample_submission.csv", lambda f: pl.concat([f, f.head(1)])),
        ("lists 1 id(s) more than once in column 'id' (e.g. '37')",),
        argv=SUBMIT,
    ),
    Case(
        "submit-sample-gone",
        delete("sample_submission.csv"),
        ("sample_submission.csv' recorded for this run no longer exists", "set data.sample_submission"),
        argv=SUBMIT,
    ),
    Case(
        "submit-sample-wrong-columns",
        table("sample_submission.csv", lambda f: f.rename({"target": "a"}).with_columns(b=0.1)),
        ("sample_submission.csv' asks for column(s) ['a', 'b']", "the target column or the class labels"),
        argv=SUBMIT,
    ),
    Case(
        "submit-test-predictions-wrong-rows",
        shorter_test_predictions,
        ("model 'logreg' have 6 row(s) but the run's test file has 12",),
        argv=SUBMIT,
    ),
    Case(
        "submit-unknown-model",
        nothing,
        ("no model named 'logre'", "Did you mean 'logreg'?"),
        argv=("submit", "{run}", "--model", "logre"),
    ),
    Case(
        "submit-unknown-blend",
        nothing,
        ("no blend named 'nelder'", "kaggle-kit blend"),
        argv=("submit", "{run}", "--blend", "nelder"),
    ),
    Case(  # the hint had been to make a blend of that name, which blend refuses (`blend-name-of-a-model`)
        "submit-blend-names-a-model",
        nothing,
        ("'logreg' is a model of the run", "not a blend: name it with --model logreg (model='logreg' in Python)"),
        argv=("submit", "{run}", "--blend", "logreg"),
    ),
    Case(
        "submit-model-names-a-blend",
        stored_blend(lambda f: None),
        ("'mean' is a blend of the run", "not a model: name it with --blend mean (blend='mean' in Python)"),
        argv=("submit", "{run}", "--model", "mean"),
    ),
    Case(
        "submit-blend-name-dotdot",
        nothing,
        ("the blend name '../../x' must start with a letter or digit",),
        argv=("submit", "{run}", "--blend", "../../x"),
    ),
    Case(
        "submit-model-name-from-crafted-run-json",
        add_model_to_run_json("../../evil"),
        ("the model name '../../evil' must be a plain name",),
        argv=("submit", "{run}", "--model", "../../evil"),
    ),
    Case(
        "submit-out-is-a-folder",
        nothing,
        ("is a folder; give a file name", "logreg.csv"),
        argv=(*SUBMIT, "--out", "{folder}"),
    ),
    Case(  # the sample had been replaced by the submission, without a word
        "submit-out-is-the-sample",
        nothing,
        ("sample_submission.csv' is the sample submission this command reads: the submission would replace it",),
        argv=(*SUBMIT, "--out", "{folder}/sample_submission.csv"),
    ),
    Case(  # not plain text under an archive's name
        "submit-out-another-archive",
        nothing,
        ("sub.bz2': a submission is written as .csv, .csv.gz or .zip; got '.bz2'",),
        argv=(*SUBMIT, "--out", "{folder}/sub.bz2"),
    ),
    Case(
        "submit-blend-predictions-edited",
        stored_blend(_scale_test_predictions),
        ("mean/test.parquet does not match its checksum in checksums.json", "--method mean --name mean"),
        argv=SUBMIT_BLEND,
    ),
    Case(
        "submit-blend-predictions-corrupted",
        stored_blend(lambda f: (f / "test.parquet").write_bytes(b"junk")),
        ("mean/test.parquet does not match its checksum", "kaggle-kit blend"),
        argv=SUBMIT_BLEND,
    ),
    Case(
        "submit-blend-predictions-unreadable",
        stored_blend(_junk_without_checksums),
        ("mean/test.parquet is not a readable parquet file", "--method mean --name mean"),
        argv=SUBMIT_BLEND,
    ),
    # --- predict a new test file from the finished run, refit, inference budget
    Case(
        "predict-test-lacks-column",
        new_test(lambda f: f.drop("x2")),
        # not run's "add them to data.drop": the finished run's models read them
        ("test lacks feature column(s) 'x2' that train has; the run's models read them: give a test file",),
        argv=PREDICT,
    ),
    Case(
        "predict-test-column-retyped",
        new_test(lambda f: f.with_columns(pl.col("x1").cast(pl.String) + "?")),
        ("column 'x1' is Float64 in train but String in test", "make both numeric or both text"),
        argv=PREDICT,
    ),
    Case(
        "predict-test-numbers-with-a-placeholder",
        new_test(
            lambda f: f.with_columns(
                pl.when(pl.int_range(pl.len()) == 0)
                .then(pl.lit("?"))
                .otherwise(pl.col("x2").cast(pl.String))
                .alias("x2")
            )
        ),
        (
            "column 'x2' of the test file '",
            "new_test.csv' is numbers but for '?' (1 row), which the run's [data] keys (its spec.toml) do not read as "
            "numbers or as missing; `kaggle-kit predict` reads a new file as the run read its files: write these "
            "values as the training file wrote them (a missing value as an empty field)",
        ),
        argv=PREDICT,
    ),
    Case(
        "predict-test-file-missing",
        nothing,
        ("the test file '", "nope.csv' does not exist"),
        argv=("predict", "{run}", "--test", "{folder}/nope.csv", "--model", "logreg", "--out", "{folder}/s.csv"),
    ),
    Case(
        "predict-unknown-model",
        new_test(lambda f: f),
        ("no finished model named 'logre'", "Did you mean 'logreg'?"),
        argv=("predict", "{run}", "--test", "{folder}/new_test.csv", "--model", "logre", "--out", "{folder}/s.csv"),
    ),
    Case(
        "predict-model-names-a-blend",
        _blend_and_new_test,
        ("'mean' is a blend of the run", "not a model: name it with --blend mean"),
        argv=("predict", "{run}", "--test", "{folder}/new_test.csv", "--model", "mean", "--out", "{folder}/s.csv"),
    ),
    Case(  # it said `no finished model named 'friend'`, as for a typo (refit alike)
        "predict-model-names-imported-predictions",
        _imported_and_new_test,
        ("'friend' are predictions imported into the run", "kaggle-kit submit", "--model friend"),
        argv=("predict", "{run}", "--test", "{folder}/new_test.csv", "--model", "friend", "--out", "{folder}/s.csv"),
    ),
    Case(
        "predict-blend-names-a-model",
        new_test(lambda f: f),
        ("'logreg' is a model of the run", "not a blend: name it with --model logreg"),
        argv=("predict", "{run}", "--test", "{folder}/new_test.csv", "--blend", "logreg", "--out", "{folder}/s.csv"),
    ),
    Case(  # the test file had been replaced by the submission, without a word
        "predict-out-is-the-test-file",
        new_test(lambda f: f),
        ("new_test.csv' is the test file this command reads: the submission would replace it",),
        argv=(*PREDICT[:-1], "{folder}/new_test.csv"),
    ),
    Case(  # `submit` reads it again: replaced, the run's next submission had the predictions' rows, not the sample's
        "predict-out-is-the-runs-sample",
        new_test(lambda f: f),
        ("sample_submission.csv' is the run's sample submission this command reads: the submission would replace it",),
        argv=(*PREDICT[:-1], "{folder}/sample_submission.csv"),
    ),
    Case(
        "predict-no-refit-yet",
        new_test(lambda f: f),
        ("model 'logreg' has no model refit on all rows", "kaggle-kit refit"),
        argv=(*PREDICT, "--refit"),
    ),
    Case(
        "predict-model-file-pickled",
        lambda folder: (new_test(lambda f: f)(folder), pickled_model_file(folder)),
        ("model.json: model 'logreg' (r0_f0) cannot be loaded", "never unpickled"),
        argv=PREDICT,
    ),
    Case(
        "refit-train-missing",
        delete("train.csv"),
        ("refit needs the training rows", "pass the training file with --train FILE"),
        argv=("refit", "{run}"),
    ),
    Case(
        "blend-predict-budget-too-small",
        nothing,
        ("no blend or model predicts 1,000,000 rows within --max-predict-seconds 1e-09",),
        argv=(*BLEND, "--max-predict-seconds", "1e-9", "--test-rows", "1000000"),
    ),
    # --- the run store
    Case(
        "store-run-json-corrupted",
        write("runs/tiny/run.json", "{not json"),
        ("run.json is corrupted", "delete it, run again: folds are kept"),
        argv=("leaderboard", "{run}"),
    ),
    Case(
        "store-folds-corrupted-then-run",
        write("runs/tiny/folds.parquet", b"junk"),
        ("folds.parquet is corrupted", "delete it to recompute the folds"),
    ),
    Case(
        "store-folds-corrupted-then-blend",
        write("runs/tiny/folds.parquet", b"junk"),
        ("folds.parquet is corrupted", "delete it and run the competition again"),
        argv=BLEND,
    ),
    Case(
        "store-oof-corrupted-then-blend",
        overwrite(model_file("logreg", "oof.parquet"), b"junk"),
        ("oof.parquet", "rerun `kaggle-kit run`"),
        argv=BLEND,
    ),
    Case(
        "store-test-corrupted-then-submit",
        overwrite(model_file("logreg", "test.parquet"), b"junk"),
        ("test.parquet", "rerun `kaggle-kit run`"),
        argv=SUBMIT,
    ),
    Case(
        "store-summary-corrupted",
        overwrite(model_file("logreg", "summary.json"), b"{"),
        ("summary.json", "corrupted"),
        argv=("leaderboard", "{run}"),
    ),
    Case(
        "store-target-corrupted",
        write("runs/tiny/target.parquet", b"junk"),
        ("target.parquet", "corrupted"),
        argv=BLEND,
    ),
    Case(
        "store-fold-array-pickled",
        pickled_fold_array,
        ("valid.npy", "pickle"),
    ),
    Case(
        "store-not-a-run-folder",
        nothing,
        ("is not a run directory (no run.json)", "pass the folder `kaggle-kit run` created"),
        argv=("leaderboard", "{folder}"),
    ),
    Case(
        "store-run-dir-dotdot",
        nothing,
        ("tiny/../..' is not a run directory",),
        argv=("report", "{run}/../.."),
    ),
    # --- blends
    Case(
        "blend-unknown-method",
        nothing,
        ("unknown blend method 'neldermead'", "Did you mean 'nelder_mead'?"),
        argv=("blend", "{run}", "--method", "neldermead"),
    ),
    Case(
        "blend-unknown-model",
        nothing,
        ("no model or imported predictions named 'xgb'", "'logreg'"),
        argv=("blend", "{run}", "--models", "logreg,xgb"),
    ),
    Case(
        "blend-restarts-zero",
        nothing,
        ("the restarts of blend method 'nelder_mead' must be a positive integer; got 0",),
        argv=("blend", "{run}", "--restarts", "0"),
    ),
    Case(
        "blend-group-malformed",
        nothing,
        ("--group takes NAME=MODEL,MODEL", "got 'wide'"),
        argv=("blend", "{run}", "--group", "wide"),
    ),
    Case(
        "blend-group-unknown-model",
        nothing,
        ("no model or imported predictions named 'xgb'", "it has 'baseline' or 'logreg'"),
        argv=("blend", "{run}", "--group", "wide=logreg,xgb"),
    ),
    Case(
        "blend-name-dotdot",
        nothing,
        ("the blend name '../../evil' must start with a letter or digit",),
        argv=(*BLEND, "--name", "../../evil"),
    ),
    Case(
        "blend-group-name-dotdot",
        nothing,
        ("the group name '../x' must start with a letter or digit",),
        argv=("blend", "{run}", "--group", "../x=logreg"),
    ),
    Case(
        "blend-name-of-a-model",
        nothing,
        ("the blend name 'logreg' is the name of a model", "unique across models and blends", "--name logreg_blend"),
        argv=("blend", "{run}", "--method", "mean", "--name", "logreg"),
    ),
    Case(
        "blend-name-with-two-methods",
        nothing,
        ("a blend name ('both') goes with one method; got 2",),
        argv=("blend", "{run}", "--method", "mean,nelder_mead", "--name", "both"),
    ),
    Case(
        "blend-calibrate-not-log-loss",
        nothing,
        ("calibration 'temperature' changes no ranking", "cannot move 'roc_auc'", "for metric 'log_loss' only"),
        argv=("blend", "{run}", "--method", "mean", "--calibrate", "temperature"),
    ),
    # --- imported predictions
    Case(
        "import-name-dotdot",
        predictions_file("logreg", lambda f: f, to="p.csv"),
        ("the external predictions name '../../evil' must start with a letter or digit",),
        argv=("import-predictions", "{run}", "../../evil", "--oof", "{folder}/p.csv"),
    ),
    Case(
        "import-name-absolute",
        predictions_file("logreg", lambda f: f, to="p.csv"),
        ("the external predictions name '/tmp/evil' must start",),
        argv=("import-predictions", "{run}", "/tmp/evil", "--oof", "{folder}/p.csv"),
    ),
    Case(
        "import-name-of-a-model",
        predictions_file("logreg", lambda f: f, to="p.csv"),
        ("'logreg' is the name of a model of the run", "import under another name"),
        argv=("import-predictions", "{run}", "logreg", "--oof", "{folder}/p.csv"),
    ),
    Case(
        "import-name-of-a-blend",
        _blend_and_file,
        ("'mean' is the name of a blend of the run", "import under another name"),
        argv=("import-predictions", "{run}", "mean", "--oof", "{folder}/p.csv"),
    ),
    Case(
        "import-extra-class-column",
        predictions_file("logreg", lambda f: f.with_columns(p_2=pl.lit(0.0)), to="p.csv"),
        ("has column(s) ['p_2'] besides the run's prediction columns ['p_0', 'p_1']", "one column per class"),
        argv=("import-predictions", "{run}", "ext", "--oof", "{folder}/p.csv"),
    ),
    Case(
        "import-rows-not-summing-to-one",
        predictions_file("logreg", lambda f: f.with_columns(pl.col("p_1") * 0.5), to="p.csv"),
        ("have class probabilities that do not sum to 1", "divide each row by its sum"),
        argv=("import-predictions", "{run}", "ext", "--oof", "{folder}/p.csv"),
    ),
    Case(
        "import-file-missing",
        nothing,
        ("the prediction file", "nope.csv' does not exist"),
        argv=("import-predictions", "{run}", "ext", "--oof", "{folder}/nope.csv"),
    ),
    Case(
        "import-pickle-file",
        write("p.pkl", pickle.dumps({"oof": [0.5]})),
        ("p.pkl' must be .csv or .parquet; got '.pkl'",),
        argv=("import-predictions", "{run}", "ext", "--oof", "{folder}/p.pkl"),
    ),
    Case(
        "import-wrong-row-count",
        predictions_file("logreg", lambda f: f.head(10), to="p.csv"),
        ("do not match the run's training ids: 26 of the run's training id(s) are missing",),
        argv=("import-predictions", "{run}", "ext", "--oof", "{folder}/p.csv"),
    ),
    Case(
        "import-probabilities-out-of-range",
        predictions_file("logreg", lambda f: f.with_columns(pl.col("p_1") * 5), to="p.csv"),
        ("a classification task needs class probabilities within [0, 1]",),
        argv=("import-predictions", "{run}", "ext", "--oof", "{folder}/p.csv"),
    ),
    Case(
        "import-other-folds",
        predictions_file("logreg", lambda f: f.with_columns(fold=pl.int_range(pl.len()) % 3), to="p.csv"),
        ("splits the rows differently from the run's folds", "share the run's fold", "--fold-column"),
        argv=("import-predictions", "{run}", "ext", "--oof", "{folder}/p.csv"),
    ),
    # --- the config edited after the run
    Case(  # it had said the folder "does not exist"
        "run-given-the-run-folder",
        nothing,
        ("runs/tiny' is a run folder, not a config file; pass the path of a competition TOML file",),
        argv=("run", "{run}"),
    ),
    Case(
        "config-edited-invalid",
        config("n_splits = 3", "n_splits = 1"),
        ("folds.n_splits must be at least 2; got 1",),
    ),
    Case(
        "config-edited-other-metric",
        config('metric = "roc_auc"', 'metric = "log_loss"'),
        ("belongs to a binary run scored by 'roc_auc'; set run.name to a new name",),
    ),
    Case(
        "config-edited-other-n-splits",
        config("n_splits = 3", "n_splits = 4"),
        ("holds folds made from other data or fold settings", "set run.name to a new name"),
    ),
]


@pytest.mark.parametrize("case", [c.param() for c in AFTER_RUN])
def test_bad_input_after_a_run_loses_nothing(
    case: Case, finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = copy_run(finished_run, tmp_path / "comp")
    case.breaks(folder)
    before = fold_hashes(folder / "runs" / "tiny")
    assert len(before) > 1  # folds.parquet and the folds' files
    code, err, _ = run_cli(case.argv, folder, capsys)
    assert_one_clear_error(code, err, case.says)
    assert fold_hashes(folder / "runs" / "tiny") == before


def test_row_ids_are_unique() -> None:
    ids = [c.id for c in BEFORE_RUN + AFTER_RUN + WARNED]
    assert len(ids) == len(set(ids)) and len(ids) >= 30


def test_the_doc_lists_every_row() -> None:
    doc = DOC.read_text()
    missing = [c.id for c in BEFORE_RUN + AFTER_RUN + WARNED if f"`{c.id}`" not in doc]
    assert not missing, f"docs/bad-inputs.md lacks rows {missing}"


# ------------------------------------------------------------------------------------------------ the fixes work
def test_a_run_warned_of_another_test_sets_sample_writes_no_submission_of_the_wrong_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``sample-of-another-test-set``: the run goes on with a warning, but no submission is written for that pair:
    ``submit`` (a model, ``--best``) refuses it and leaves no file; ``predict --test HIDDEN --sample SAMPLE`` writes
    the other test set's rows in the sample's order."""
    write_table_competition(tmp_path)
    hidden = pl.read_csv(tmp_path / "test.csv").with_columns(pl.col("id") + 1000).reverse()
    hidden.write_csv(tmp_path / "hidden_test.csv")
    table("sample_submission.csv", lambda f: f.with_columns(pl.col("id") + 1000))(tmp_path)
    code, err, _ = run_cli(RUN, tmp_path, capsys)
    assert code == 0 and "lists other rows than data.test" in err, err
    for which in (("--model", "logreg"), ("--best",)):
        code, err, _ = run_cli(("submit", "{run}", *which), tmp_path, capsys)
        assert code == 2 and "12 test id(s) are not in it (e.g. '37')" in err, err
    assert not list((tmp_path / "runs" / "tiny").glob("submissions/*"))
    out = tmp_path / "hidden_submission.csv"
    argv = ("predict", "{run}", "--model", "logreg", "--test", str(tmp_path / "hidden_test.csv"))
    code, err, _ = run_cli((*argv, "--sample", "{folder}/sample_submission.csv", "--out", str(out)), tmp_path, capsys)
    assert code == 0, err
    assert pl.read_csv(out)["id"].to_list() == list(range(N_TRAIN + 1001, N_TRAIN + N_TEST + 1001))


def test_a_python_time_limited_run_is_not_refused_a_sample_it_never_submits(tmp_path: Path) -> None:
    """``kaggle_kit.run(spec, time_limit=...)`` never submits: a sample of another test set is warned of, as in a run
    without a limit, and the models are fitted (it had refused the run as ``run --time-limit`` does, which submits:
    the case ``time-limited-run-with-a-sample-of-another-test-set``)."""
    from kaggle_kit import run

    config = write_table_competition(tmp_path)
    table("sample_submission.csv", lambda f: f.with_columns(pl.col("id") + 1000))(tmp_path)
    with pytest.warns(DataWarning, match="lists other rows than data.test: 12 of data.test's 12 id"):
        result = run(config, runs_root=tmp_path / "runs", time_limit=60, progress=None, record_history=False)
    assert any(m.name == "logreg" and m.status == "ok" for m in result.models)


def test_a_python_run_that_submits_is_refused_a_sample_of_another_test_set_without_a_limit(tmp_path: Path) -> None:
    """``run(spec, submits=True)`` says the caller submits after the fits: a sample of another test set stops it
    before any fit, with or without a time limit (without one it went on with the warning: the runs without a limit
    or a search check the sample in ``fit_all``, which was not told)."""
    from kaggle_kit import run
    from kaggle_kit.errors import DataError

    config = write_table_competition(tmp_path)
    table("sample_submission.csv", lambda f: f.with_columns(pl.col("id") + 1000))(tmp_path)
    for limit in (None, 60):
        with pytest.raises(DataError, match="found before fitting anything"):
            run(
                config, runs_root=tmp_path / "runs", time_limit=limit, progress=None, record_history=False, submits=True
            )
        assert not list((tmp_path / "runs").glob("*/models/*/*/folds/*")), limit  # no fold stored


@pytest.mark.parametrize(
    ("limit_in", "argv"),
    [("config", RUN), ("flag", ("search", "{config}", "--runs-root", "{runs}", "--n", "1", "--time-limit", "60"))],
)
def test_every_time_limited_command_is_refused_a_sample_of_another_test_set_before_any_fit(
    limit_in: str, argv: tuple[str, ...], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The commands that submit after their fits: ``run`` with the config's run.time_limit (no flag) and ``search
    --time-limit`` stop on a sample of another test set before fitting anything, as ``run --time-limit`` does."""
    write_table_competition(tmp_path)
    table("sample_submission.csv", lambda f: f.with_columns(pl.col("id") + 1000))(tmp_path)
    if limit_in == "config":
        config("[run]", "[run]\ntime_limit = 60")(tmp_path)
    else:  # a search over one family
        append('[search]\nfamilies = ["lightgbm"]\nn_configs = 1')(tmp_path)
    code, err, _ = run_cli(argv, tmp_path, capsys)
    assert_one_clear_error(code, err, ("12 test id(s) are not in it (e.g. '37')", "(found before fitting anything"))
    assert not list(tmp_path.glob("runs/*/models/*/*/folds/*"))  # no fold fitted


def test_a_sample_of_the_test_ids_in_another_order_is_no_other_test_set(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The sample lists data.test's ids in reverse: the same rows, so no warning of another test set, and ``submit``
    writes them in the sample's order; a sample of half of them is another test set (warned)."""
    write_table_competition(tmp_path)
    table("sample_submission.csv", lambda f: f.reverse())(tmp_path)
    code, err, _ = run_cli(RUN, tmp_path, capsys)
    assert code == 0 and "other rows" not in err, err
    code, err, _ = run_cli(("submit", "{run}", "--model", "logreg", "--out", "{folder}/sub.csv"), tmp_path, capsys)
    assert code == 0, err
    assert pl.read_csv(tmp_path / "sub.csv")["id"].to_list() == list(range(N_TRAIN + N_TEST, N_TRAIN, -1))
    table("sample_submission.csv", lambda f: f.head(N_TEST // 2))(tmp_path)
    code, err, _ = run_cli((*RUN[:3], "{folder}/runs2"), tmp_path, capsys)
    assert code == 0 and "lists other rows than data.test: 6 of data.test's 12 id(s) are not in it" in err, err


def test_submit_and_predict_write_gzip_and_zip_as_kaggle_takes_them(
    finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """'--out sub.csv.gz' had been a polars traceback, and '--out sub.zip' plain text under an archive's name."""
    import gzip
    import zipfile

    folder = copy_run(finished_run, tmp_path / "comp")
    for command in (SUBMIT, ("predict", "{run}", "--test", "{folder}/test.csv", "--model", "logreg")):
        code, err, _ = run_cli((*command, "--out", "{folder}/plain.csv"), folder, capsys)
        assert code == 0, err
        plain = (folder / "plain.csv").read_bytes()
        for name in ("sub.csv.gz", "sub.zip", "sub.csv.zip"):
            code, err, _ = run_cli((*command, "--out", f"{{folder}}/{name}"), folder, capsys)
            assert code == 0 and "Traceback" not in err, err
            if name.endswith(".gz"):
                assert gzip.decompress((folder / name).read_bytes()) == plain
            else:
                with zipfile.ZipFile(folder / name) as archive:
                    assert archive.namelist() == ["sub.csv"] and archive.read("sub.csv") == plain


def test_corrupted_folds_fix_recomputes_the_same_folds_and_refits_nothing(
    finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The message says: delete folds.parquet and run again. Doing so reuses every finished fold."""
    folder = copy_run(finished_run, tmp_path / "comp")
    pristine = fold_hashes(folder / "runs" / "tiny")
    write("runs/tiny/folds.parquet", b"junk")(folder)
    assert run_cli(RUN, folder, capsys)[0] == 2
    (folder / "runs" / "tiny" / "folds.parquet").unlink()
    code, err, out = run_cli(RUN, folder, capsys)
    assert code == 0, err
    assert "fitted 0 fold(s), reused 6" in out
    assert fold_hashes(folder / "runs" / "tiny") == pristine


def test_corrupted_run_json_fix_keeps_every_fold(
    finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The message says: delete run.json and run again. Doing so keeps and reuses every finished fold."""
    folder = copy_run(finished_run, tmp_path / "comp")
    pristine = fold_hashes(folder / "runs" / "tiny")
    write("runs/tiny/run.json", "{not json")(folder)
    assert run_cli(RUN, folder, capsys)[0] == 2
    (folder / "runs" / "tiny" / "run.json").unlink()
    code, err, out = run_cli(RUN, folder, capsys)
    assert code == 0, err
    assert "fitted 0 fold(s), reused 6" in out
    assert fold_hashes(folder / "runs" / "tiny") == pristine


# ------------------------------------------------------------------------------------------------ the real process
@pytest.mark.parametrize("case_id", ["config-unknown-key", "train-header-only"])
def test_installed_command_exits_2_without_traceback(case_id: str, tmp_path: Path) -> None:
    exe = Path(sys.executable).with_name("kaggle-kit")
    if not exe.is_file():
        pytest.skip("the kaggle-kit entry point is not installed in this environment")
    case = next(c for c in BEFORE_RUN if c.id == case_id)
    write_table_competition(tmp_path)
    case.breaks(tmp_path)
    argv = [a.format(config=tmp_path / "tiny.toml", runs=tmp_path / "runs") for a in case.argv]
    done = subprocess.run([str(exe), *argv], capture_output=True, text=True, timeout=120, check=False)
    assert_one_clear_error(done.returncode, done.stderr, case.says)


def test_output_closed_by_its_reader_ends_without_a_traceback(finished_run: Path) -> None:
    """`kaggle-kit leaderboard RUN | head -1`: the pipe's reader leaves; it had been a BrokenPipeError traceback."""
    cmd = [sys.executable, "-m", "kaggle_kit.cli", "leaderboard", str(finished_run / "runs" / "tiny")]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).parent.parent)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()  # the reader ends before the command writes a line
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141, err
    assert "Traceback" not in err and "stopped: the output was closed" in err


def test_a_broken_pipe_of_the_commands_own_is_a_failure_shown_not_a_closed_output() -> None:
    """A BrokenPipeError from another pipe (a worker process's) while the output is open: it had been "stopped: the
    output was closed (its reader ended); nothing finished is lost", status 141 and no traceback."""
    code = (
        "import argparse, sys\n"
        "from kaggle_kit.cli import _dispatch\n"
        "def func(args):\n"
        "    print('a line the reader reads')\n"
        "    raise BrokenPipeError(32, 'Broken pipe')\n"
        "sys.exit(_dispatch(argparse.Namespace(func=func)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(__file__).parent.parent, timeout=120
    )
    assert proc.returncode == 1 and "BrokenPipeError" in proc.stderr and "stopped:" not in proc.stderr
    assert proc.stdout == "a line the reader reads\n"


# ------------------------------------------------------------------------------------------------ security
def test_pickles_in_a_run_store_are_never_unpickled(
    finished_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A downloaded run folder holding pickles: model.pkl files beside the folds, and a fold's valid.npy replaced
    by a pickled object array whose checksum in result.json was updated to match. Nothing reads the pickles."""
    folder = copy_run(finished_run, tmp_path / "comp")
    run_dir = folder / "runs" / "tiny"
    marker = tmp_path / "executed"
    evil = pickle.dumps(_CreatesFile(marker))
    for fold in run_dir.glob("models/*/*/folds/*"):
        (fold / "model.pkl").write_bytes(evil)
        (fold / "model.joblib").write_bytes(evil)
    pickled_fold_array(folder, marker)

    commands = [
        ["leaderboard", str(run_dir)],
        ["submit", str(run_dir), "--model", "baseline", "--out", str(tmp_path / "sub.csv")],
        ["blend", str(run_dir), "--models", "baseline", "--method", "mean"],
        ["run", str(folder / "tiny.toml"), "--runs-root", str(folder / "runs")],
    ]
    for argv in commands:
        try:
            main(argv)
        except ValueError as exc:  # numpy refusing the object array (allow_pickle=False) is the safe outcome
            assert "allow_pickle=False" in str(exc)
        assert not marker.exists(), f"`kaggle-kit {argv[0]}` unpickled a file of the run store"
    capsys.readouterr()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
def test_torch_load_weights_only_refuses_a_malicious_pickle(tmp_path: Path) -> None:
    torch = pytest.importorskip("torch")
    marker = tmp_path / "executed"
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(_CreatesFile(marker)))
    saved = tmp_path / "saved.pt"
    torch.save({"weight": _CreatesFile(marker)}, saved)
    assert not marker.exists()
    for path in (raw, saved):
        with pytest.raises(pickle.UnpicklingError, match="Weights only load failed"):
            torch.load(path, map_location="cpu", weights_only=True)
        assert not marker.exists()


def _calls(tree: ast.AST, owner: str, name: str) -> list[ast.Call]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == name
        and isinstance(node.func.value, ast.Name)
        and node.func.value.id == owner
    ]


def _keyword(call: ast.Call, key: str) -> object:
    for kw in call.keywords:
        if kw.arg == key and isinstance(kw.value, ast.Constant):
            return kw.value.value
    return None


def test_the_package_has_no_loader_that_can_execute_code() -> None:
    """Every loader of user-downloadable files refuses pickles: no pickle / joblib / dill / cloudpickle import,
    every ``torch.load`` passes ``weights_only=True`` and every ``np.load`` ``allow_pickle=False``."""
    problems = []
    for path in sorted((REPO / "kaggle_kit").rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        where = path.relative_to(REPO)
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                if name.split(".")[0] in {"pickle", "joblib", "dill", "cloudpickle", "shelve", "marshal"}:
                    problems.append(f"{where}:{node.lineno} imports {name}")
        for call in _calls(tree, "torch", "load"):
            if _keyword(call, "weights_only") is not True:
                problems.append(f"{where}:{call.lineno} torch.load without weights_only=True")
        for call in _calls(tree, "np", "load"):
            if _keyword(call, "allow_pickle") is not False:
                problems.append(f"{where}:{call.lineno} np.load without allow_pickle=False")
    assert not problems, "\n".join(problems)
