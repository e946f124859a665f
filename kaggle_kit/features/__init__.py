"""Feature pipelines: polars steps fitted on each fold's training rows only, then the base encoding for the models.

A model's pipeline is declared in the competition spec (``[pipelines.<name>]``, picked by ``pipeline = "<name>"``
on the model) or built in Python from the step classes below. Every step has ``fit(train) -> state`` (a small
JSON-able dict) and ``transform(frame, state)``, written as polars expressions over lazy frames; the
:class:`Pipeline` runs them in order and ends with :class:`TableEncoder`, which turns the frame into the
:class:`FeatureMatrix` (float32, categorical columns as codes) that every model adapter takes.

========================  ==========================================================================
numeric                   ``standardize``, ``robust_scale``, ``quantile`` (rank-gauss), ``log1p``, ``clip``,
                          ``missing_indicator``, ``impute``; ``arithmetic_pairs`` (sums, differences,
                          products, ratios of the columns that tell the most of the target)
categorical               ``ordinal``, ``one_hot``, ``count_encode``, ``target_encode`` (out of fold),
                          ``rare_group``
dates                     ``date_parts``, ``cyclical``
selection                 ``select``, ``drop`` (names or a ``pattern``, e.g. the step columns ``.+__t\\d+``)
text                      ``text`` (TF-IDF -> out-of-fold linear model, SVD, statistics; ``[data] text``)
aggregates                ``group_aggregate``; for long tables :func:`sequence_aggregates`,
                          :func:`sequence_wide` / :func:`sequence_tensor` (the nets' ``(N, T, F)`` layout),
                          :class:`SequenceStore` + ``sequence_rows`` (the streamed layout: steps end to end)
========================  ==========================================================================
"""

from __future__ import annotations

from .aggregate import GroupAggregate
from .arithmetic import ArithmeticPairs
from .base import SELECTORS, STEPS, FeatureWarning, Roles, Step, StepContext, register
from .categorical import CountEncode, OneHot, OrdinalEncode, RareGroup, TargetEncode
from .encoder import FeatureMatrix, TableEncoder, model_feature_names, original_feature_names
from .numeric import Clip, Impute, Log1p, MissingIndicator, QuantileTransform, RobustScale, Standardize
from .pipeline import Pipeline, encoder_from_state, step_from_config, validate_steps
from .selection import Drop, Select
from .sequence import sequence_aggregates, sequence_tensor, sequence_wide
from .sequence_store import SequenceRows, SequenceStore
from .temporal import Cyclical, DateParts
from .text import TextFeatures

__all__ = [
    "SELECTORS",
    "STEPS",
    "ArithmeticPairs",
    "Clip",
    "CountEncode",
    "Cyclical",
    "DateParts",
    "Drop",
    "FeatureMatrix",
    "FeatureWarning",
    "GroupAggregate",
    "Impute",
    "Log1p",
    "MissingIndicator",
    "OneHot",
    "OrdinalEncode",
    "Pipeline",
    "QuantileTransform",
    "RareGroup",
    "RobustScale",
    "Roles",
    "Select",
    "SequenceRows",
    "SequenceStore",
    "Standardize",
    "Step",
    "StepContext",
    "TableEncoder",
    "TargetEncode",
    "TextFeatures",
    "encoder_from_state",
    "model_feature_names",
    "original_feature_names",
    "register",
    "sequence_aggregates",
    "sequence_tensor",
    "sequence_wide",
    "step_from_config",
    "validate_steps",
]
