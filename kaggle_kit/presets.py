"""Presets: portfolios of model specs that adapt to the data (``preset = "fast" | "good" | "best"``).

A preset is resolved once the data is read (by :func:`expand_preset`, which the runner calls, and by
``kaggle-kit init``, which writes the resolved models into the config so that they can be edited). Each model comes
with one line saying why it is there, or why a family was left out (too large for this machine's memory, a package
that is not installed, no image or sequence columns).

The portfolios follow what the tabular benchmarks of 2025-26 found (TabArena: with defaults CatBoost is the best
classic model; tuned and ensembled, RealMLP, TabM, LightGBM and CatBoost lead on CPU; ensembles across families set
the state of the art) and what ``benchmarks/portfolio.py`` measured on the datasets listed there:

* ``fast``: LightGBM and the linear model: a first leaderboard in seconds.
* ``good`` (what ``init`` writes): LightGBM, an extra-trees LightGBM (on in-fold generated features when there are
  categorical columns), the RealMLP-style net and the linear model, plus CatBoost when there are categorical columns
  (on numeric tables it cost 5-25x LightGBM's time for no better CV); blended by the kit's blends.
* ``best``: ``good`` plus CatBoost, TabM, XGBoost and the two forests; pair it with ``[search]`` and a time limit.

Nets for images (``cnn``) and sequences (``cnn1d``, ``rnn``) join every preset when the columns hold images
(``pixel<k>`` columns) or sequences (``<column>__t<k>`` columns, as ``[data.sequences]`` writes them); the trees then
read the sequence statistics and not the steps.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import polars as pl
from pydantic import ValidationError

from .config import MULTI_TARGET_TASKS, SEQUENCE_KINDS, ModelSpec, PipelineSpec
from .config_hints import validation_message
from .errors import ConfigError, allowed
from .features.sequence_store import SEQUENCE_ROW

PresetName = Literal["fast", "good", "best"]
#: the kinds a ``--search`` over a preset's run samples configs of (the spec has no [[models]] to take them from):
#: the boosting families, cheap enough on a CPU for many configs per family
PRESET_SEARCH_KINDS: tuple[str, ...] = ("lightgbm", "lightgbm_xt", "xgboost", "catboost")
PRESETS: tuple[str, ...] = ("fast", "good", "best")

_PIXEL = re.compile(r"(?i)pix(el)?_?\d+(_\d+)?")  # pixel0 (Kaggle), pixel_3_5 (scikit-learn digits)
_STEP = re.compile(r".+__t\d+")
#: rows x features (float32 cells) above which the RealMLP-style net leaves ``good`` on a CPU run: about 10 minutes of
#: CPU per fold on 2 cores at that size.
_CPU_NET_CELLS = 20_000_000
#: the same for TabM in ``best`` (k = 32 members cost about 4x a plain MLP on CPU)
_CPU_TABM_CELLS = 5_000_000


@dataclass(frozen=True)
class DataProfile:
    """What a preset looks at: the size and shape of the data and the machine."""

    task: str
    n_rows: int
    n_features: int
    n_categorical: int
    max_cardinality: int
    n_classes: int
    image_shape: tuple[int, int, int] | None = None
    sequence_columns: int = 0
    #: ``data.sequences.layout = "streamed"``: the frame's ``__sequence`` column points into the run's store
    streamed_sequences: bool = False
    memory_bytes: int = field(default_factory=lambda: available_memory())
    gpu: bool = False
    #: the images are streamed ([data.images] stream mode): only a cnn reads them, the other models the other columns
    streamed_images: bool = False
    #: Date / Datetime feature columns, and whether any holds a time of day (Datetime)
    n_dates: int = 0
    times_of_day: bool = False
    #: numeric feature columns (not categorical, not dates): what ``arithmetic_pairs`` combines
    n_numeric: int = 0

    @property
    def cells(self) -> int:
        return self.n_rows * max(1, self.n_features)

    @classmethod
    def of(
        cls,
        train: pl.DataFrame,
        features: tuple[str, ...] | list[str],
        categorical: tuple[str, ...] | list[str],
        task: str,
        n_classes: int,
        *,
        gpu: bool = False,
        streamed_shape: tuple[int, int, int] | None = None,
        image_shape: Sequence[int] | None = None,
    ) -> DataProfile:
        """``streamed_shape``: the ``(H, W, C)`` of streamed ``[data.images]`` (no pixel columns); ``image_shape``:
        that of ``[data.images]`` read into pixel columns, whose count alone tells no shape but a square one."""
        schema = train.schema  # read once: each access rebuilds it (per feature: 9 s for 2,000 step columns)
        cats = [c for c in categorical if c in schema]
        cardinality = max((train[c].n_unique() for c in cats), default=0)
        pixels = [c for c in features if _PIXEL.fullmatch(c)]
        memory = (image_shape[0], image_shape[1], image_shape[2]) if image_shape else None
        steps = [c for c in features if _STEP.fullmatch(c)]
        dates = [schema[c] for c in features if c in schema and schema[c].is_temporal()]
        cat_set = set(cats)
        return cls(
            task=task,
            n_rows=train.height,
            n_features=len(features),
            n_categorical=len(cats),
            max_cardinality=cardinality,
            n_classes=n_classes,
            image_shape=streamed_shape or memory or (_square_image(len(pixels)) if len(pixels) >= 16 else None),
            sequence_columns=len(steps),
            streamed_sequences=SEQUENCE_ROW in train.columns,
            gpu=gpu,
            streamed_images=streamed_shape is not None,
            n_dates=len(dates),
            times_of_day=any(isinstance(d, pl.Datetime) for d in dates),
            n_numeric=sum(c in schema and schema[c].is_numeric() and c not in cat_set for c in features),
        )


#: optimizer steps per fold the preset's RealMLP is sized to: measured on breast cancer, diabetes and fair
#: (benchmarks/portfolio.py), 128 steps of 256 rows scored as well as the paper's 64 epochs of 256 rows at a quarter
#: of the time; from 4,096 rows on (batches of 512), 96 steps: on fair (5,000 rows, two hold-out splits) 12 epochs
#: scored as 16 did (CV 0.7467 vs 0.7463, hidden rows 0.7632 vs 0.7635) at 60 % of the time, which is what keeps the
#: ``good`` preset within 3x the wall time of two GBDTs there.
_NET_STEPS = 128
_NET_STEPS_LARGE = 96


def realmlp_schedule(n_rows: int, n_splits: int = 5) -> tuple[int, int]:
    """(epochs, batch size) giving the RealMLP-style net about ``_NET_STEPS`` optimizer steps of 256 rows per fold
    below 4,096 rows and ``_NET_STEPS_LARGE`` of 512 rows above, 8 to 64 epochs."""
    batch, steps = (256, _NET_STEPS) if n_rows < 4096 else (512, _NET_STEPS_LARGE)
    return min(64, max(8, math.ceil(steps / _steps_per_epoch(n_rows, batch, n_splits)))), batch


def _steps_per_epoch(n_rows: int, batch: int, n_splits: int = 5) -> int:
    """Optimizer steps of one epoch over a fold's training rows."""
    return max(1, math.ceil(n_rows * (n_splits - 1) / n_splits / batch))


def available_memory() -> int:
    """Bytes of memory available to new work (``MemAvailable``; physical memory where that is not readable)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not a POSIX system
        return 8 * 1024**3


def _square_image(n_pixels: int) -> tuple[int, int, int] | None:
    """``(H, W, C)`` of ``pixel0..`` columns holding square grey or RGB images, or None when they do not."""
    for channels in (1, 3):
        side = math.isqrt(n_pixels // channels)
        if side * side * channels == n_pixels:
            return side, side, channels
    return None


@dataclass(frozen=True)
class PresetModel:
    """One model of a resolved preset and why it is there."""

    spec: dict[str, Any]
    why: str


@dataclass(frozen=True)
class ResolvedPreset:
    models: list[PresetModel]
    pipelines: dict[str, dict[str, Any]]
    left_out: list[str]

    def lines(self) -> list[str]:
        """One line per model (and per family left out) for the user."""
        out = [f"{m.spec['name']:<10} {m.spec['kind']:<14} {m.why}" for m in self.models]
        return out + [f"(left out) {why}" for why in self.left_out]


def _memory_factor(kind: str) -> float:
    """Bytes of working memory per float32 cell of the training data for one fitting task, measured loosely
    (LightGBM bins ~1x, XGBoost's DMatrix + gradient ~3x, forests grow with rows: ~12x at 300 trees)."""
    return {"random_forest": 12.0, "extra_trees": 12.0, "catboost": 4.0, "xgboost": 3.0}.get(kind, 2.0)


def resolve_preset(name: str, profile: DataProfile, *, jobs: int = 2) -> ResolvedPreset:
    """The models of preset ``name`` for data shaped like ``profile``; see the module docstring."""
    if name not in PRESETS:
        raise ConfigError(f"preset must be one of {allowed(PRESETS)}; got {name!r}")
    models: list[PresetModel] = []
    pipelines: dict[str, dict[str, Any]] = {}
    left_out: list[str] = []
    no_input: list[str] = []  # said after the other reasons
    budget = profile.memory_bytes * 0.7

    dates = _date_parts(profile)
    dated_why = f"; with the {', '.join(dates['parts'])} of the {profile.n_dates} date column(s)" if dates else ""

    def add(spec: dict[str, Any], why: str) -> None:
        if dates is not None and spec.get("pipeline") in (DATES, "generated", ARITHMETIC):
            why += dated_why
        need = profile.cells * 4 * _memory_factor(spec["kind"]) * jobs
        if need > budget:
            left_out.append(
                f"{spec['kind']}: needs about {need / 1024**3:.1f} GB for {jobs} parallel folds; "
                f"{profile.memory_bytes / 1024**3:.1f} GB is available"
            )
        elif (why_not := _no_input(spec, profile)) is not None:
            no_input.append(why_not)
        else:
            models.append(PresetModel(spec, why))

    trees_pipeline: str | None = None
    if profile.sequence_columns:
        pipelines["trees"] = {"steps": [{"step": "drop", "pattern": r".+__t\d+"}]}
        trees_pipeline = "trees"
    if dates is not None and trees_pipeline is None:  # every table model reads the dates' parts
        pipelines[DATES] = {"steps": [dates]}
        trees_pipeline = DATES

    def tree(spec: dict[str, Any]) -> dict[str, Any]:
        """``spec`` reading the table models' pipeline, where it has none of its own."""
        return {**spec, "pipeline": trees_pipeline} if trees_pipeline and "pipeline" not in spec else spec

    fast = name == "fast"
    add(
        tree(
            {
                "name": "lgbm",
                "kind": "lightgbm",
                "params": {"learning_rate": 0.1 if fast else 0.05},
                "early_stopping_rounds": 50 if fast else 200,
            }
        ),
        "LightGBM: the strongest fast GBDT on most tables; native categoricals",
    )
    if not profile.image_shape and not profile.sequence_columns:
        add(
            tree({"name": "linear", "kind": "linear"}),
            "linear model on impute + one-hot + standardize: a different error pattern that blends well",
        )
    if not fast:
        catboost_here = importlib.util.find_spec("catboost") is not None
        if not catboost_here:
            left_out.append("catboost: not installed (pip install 'kaggle-kit[catboost]')")
        elif profile.n_categorical or name == "best":
            why = "CatBoost: the best GBDT with defaults (TabArena)"
            if profile.n_categorical:
                why += f"; ordered target statistics on the {profile.n_categorical} categorical column(s)"
            add(tree({"name": "catboost", "kind": "catboost", "params": {"learning_rate": 0.08}}), why)
        else:
            left_out.append(
                "catboost: no categorical columns, where its ordered target statistics pay; on numeric tables it "
                "took 5-25x LightGBM's time for no better CV (benchmarks/portfolio.py): it is in preset 'best'"
            )
        generated = _generated_features(profile) if trees_pipeline in (None, DATES) else None
        why_xt = "extra-trees LightGBM: randomised splits, a diverse partner for the blend"
        encodings = "count and target encodings" if len((generated or {}).get("steps", [])) > 1 else "count encodings"
        why_generated = f"; on in-fold {encodings} of the categorical columns" if generated else ""
        pairs = _pairs_apply(profile, trees_pipeline)
        if not pairs or name == "best":  # good: the model on the pairs in its place (benchmarks/arithmetic_member.py)
            spec_xt: dict[str, Any] = {"name": "lgbm_xt", "kind": "lightgbm_xt"}
            if generated is not None:
                pipelines["generated"] = {"steps": [*([dates] if dates else []), *generated["steps"]]}
                spec_xt["pipeline"] = "generated"
            add(tree(spec_xt), why_xt + why_generated)
        if pairs:
            pipelines[ARITHMETIC] = {
                "steps": [
                    {"step": "arithmetic_pairs"},
                    *([dates] if dates else []),
                    *(generated or {}).get("steps", []),
                ]
            }
            why_ar = (
                f"{why_xt}; on in-fold sums, differences, products and ratios of the (up to) 6 numeric columns a quick "
                "LightGBM finds most useful (AutoGluon's portfolio entry)"
            )
            add({"name": "lgbm_ar", "kind": "lightgbm_xt", "pipeline": ARITHMETIC}, why_ar + why_generated)
        if profile.image_shape is None and profile.sequence_columns == 0:
            if profile.gpu or profile.cells <= _CPU_NET_CELLS:
                epochs, batch = realmlp_schedule(profile.n_rows)
                steps = epochs * _steps_per_epoch(profile.n_rows, batch)  # 8 epochs at least: more on large tables
                add(
                    tree({"name": "realmlp", "kind": "realmlp", "params": {"epochs": epochs, "batch_size": batch}}),
                    "RealMLP-style net: the strongest tuned-and-ensembled CPU family (TabArena); the deep half "
                    f"({epochs} epochs of {batch} rows: about {steps:,} steps a fold)",
                )
            else:
                left_out.append(
                    f"realmlp: {profile.cells:,} cells is slow for a net on CPU; set device = 'cuda' or add it by hand"
                )
    if name == "best":
        add(tree({"name": "xgb", "kind": "xgboost"}), "XGBoost: a third GBDT with depth-wise trees")
        add(tree({"name": "rf", "kind": "random_forest"}), "random forest: bagged deep trees, low-variance partner")
        add(tree({"name": "xt", "kind": "extra_trees"}), "extra trees: fully randomised splits")
        if profile.image_shape is None and profile.sequence_columns == 0:
            if profile.gpu or profile.cells <= _CPU_TABM_CELLS:
                epochs, batch = realmlp_schedule(profile.n_rows)
                add(
                    tree({"name": "tabm", "kind": "tabm", "params": {"epochs": epochs, "batch_size": batch}}),
                    f"TabM: 32 weight-sharing MLPs trained as one ensemble ({epochs} epochs of {batch} rows)",
                )
            else:
                left_out.append(f"tabm: {profile.cells:,} cells is slow for k = 32 members on CPU")
    if profile.image_shape is not None:
        h, w, c = profile.image_shape
        cnn: dict[str, Any] = {"image_shape": [h, w, c]}
        if not profile.streamed_images and profile.n_features > h * w * c:  # table columns beside the pixels
            cnn["columns"] = r"pixel\d+"
        add(
            {"name": "cnn", "kind": "cnn", "params": cnn},
            f"CNN on the {profile.image_shape[0]}x{profile.image_shape[1]}x{profile.image_shape[2]} pixel columns",
        )
        if not fast:
            add({"name": "mlp", "kind": "mlp"}, "MLP on the pixels: a cheap second net for the blend")
    if profile.sequence_columns or profile.streamed_sequences:
        # streamed: the nets read the run's store (no step columns to pick)
        params = {} if profile.streamed_sequences else {"columns": r".+__t\d+"}
        add({"name": "cnn1d", "kind": "cnn1d", "params": params}, "1D-CNN on the steps of the sequences")
        if not fast:
            add({"name": "gru", "kind": "rnn", "params": dict(params)}, "GRU on the steps")
    return ResolvedPreset(models, pipelines, left_out + no_input)


#: the preset's pipeline of the date columns' parts (every table model's, where the table has dates)
DATES = "dates"
#: the preset's pipeline of the extra-trees LightGBM on arithmetic pairs (``best``)
ARITHMETIC = "arithmetic"


def _date_parts(profile: DataProfile) -> dict[str, Any] | None:
    """The ``date_parts`` step that gives the models a date's calendar (the base encoding gives days since 1970,
    from which a tree cannot learn a weekday: neighbouring days differ in it), as AutoGluon's datetime features do;
    the hour where a column holds times of day. None without date columns."""
    if profile.n_dates == 0:
        return None
    parts = ["year", "month", "day", "weekday", "dayofyear", *(["hour"] if profile.times_of_day else [])]
    return {"step": "date_parts", "columns": "temporal", "parts": parts}


def _no_input(spec: dict[str, Any], profile: DataProfile) -> str | None:
    """Why model ``spec`` has nothing to read when the images are streamed (None when it has its input): only the
    cnn reads streamed images, and the nets of streamed sequences read the run's sequence store; the others read the
    table's other columns (the MLP on the pixels has none)."""
    if not profile.streamed_images or spec["kind"] == "cnn":
        return None
    if profile.streamed_sequences and spec["kind"] in SEQUENCE_KINDS:
        return None
    if spec["name"] == "mlp":
        missing = "no pixel columns"
    elif not profile.n_features:
        missing = "no other feature column"
    else:
        return None
    return f"{spec['name']}: the images are streamed ([data.images] stream mode) and the table has {missing} for it"


def _pairs_apply(profile: DataProfile, trees_pipeline: str | None) -> bool:
    """Whether the extra-trees LightGBM on ``arithmetic_pairs`` has pairs to read: two numeric columns or more, one
    target (the step picks its columns by it), and no pixel or step columns (their pairs mean nothing)."""
    return (
        profile.n_numeric >= 2
        and profile.task in ("binary", "multiclass", "regression")
        and profile.image_shape is None
        and trees_pipeline in (None, DATES)
    )


def _generated_features(profile: DataProfile) -> dict[str, Any] | None:
    """In-fold generated features for the extra-trees LightGBM (AutoGluon's XT portfolio entry): counts and
    out-of-fold target encodings of the categorical columns beside them; counts alone for a task of several target
    columns, which a target encoding (of one) cannot read (the run refuses it). None without categorical columns."""
    if profile.n_categorical == 0:
        return None
    steps: list[dict[str, Any]] = [{"step": "count_encode", "columns": "categorical", "keep": True}]
    if profile.task not in MULTI_TARGET_TASKS:
        steps.append({"step": "target_encode", "columns": "categorical", "keep": True})
    return {"steps": steps}


def expand_preset(spec: Any, profile: DataProfile, *, jobs: int = 2) -> tuple[Any, ResolvedPreset | None]:
    """``spec`` with its preset's models appended to its own ``[[models]]`` (and the preset's pipelines added), and
    ``preset`` cleared so that the spec written beside the run lists exactly what ran. The user's own models and
    pipelines win on a name clash."""
    if spec.preset is None:
        return spec, None
    resolved = resolve_preset(spec.preset, profile, jobs=jobs)
    own = {m.name for m in spec.models}
    pipelines = dict(spec.pipelines)
    for name, pipe in resolved.pipelines.items():
        pipelines.setdefault(name, PipelineSpec(**pipe))
    added = [ModelSpec(**m.spec) for m in resolved.models if m.spec["name"] not in own]
    if not spec.models and not added:
        raise ConfigError(f"preset {spec.preset!r} left no model for this data: {'; '.join(resolved.left_out)}")
    fields = {name: getattr(spec, name) for name in type(spec).model_fields}
    expanded = {**fields, "preset": None, "models": [*spec.models, *added], "pipelines": pipelines}
    try:  # the spec's checks of its models' names ([pseudo_label], a reader's net) wait for the preset's models
        return type(spec).model_validate(expanded), resolved
    except ValidationError as exc:  # was raised as pydantic's own error: a traceback from the command line
        raise ConfigError(validation_message(exc, f"the spec with the models of preset {spec.preset!r}")) from None
