"""Ensembling of a run's stored OOF predictions, scored honestly.

Methods (one registry, :data:`BLENDERS`): ``mean``, ``rank`` (rank average, for rank metrics), ``nelder_mead``
(weights on the simplex found by Nelder-Mead on the metric, or log loss where the metric is flat), ``hill_climb``
(ensemble selection: Caruana's greedy forward selection with replacement, optionally bagged, fast over hundreds of
configs), ``calibrated_hill_climb`` (the same selection among the models and a logistic recalibration of each) and
``stack`` (a level-2 logistic / ridge regression, kept by ``auto`` / ``all`` only when it beats the
selection: :func:`stacking_guard`). Every blend is scored twice: in-sample (fitted and scored on all OOF rows:
optimistic) and by nested CV over the run's folds (fitted on K-1 folds' OOF, scored on the held-out fold), and the
leaderboard shows both and the gap. A blend's nested OOF is scored by the function that scores a model's OOF
(:func:`kaggle_kit.runtime.scoring.score_folds`), so models and blends are ranked on the same basis.

Modules: ``base`` (the blender interface, simplex mapping), ``objective`` (fast metrics for weight search),
``weighting``, ``selection``, ``calibrated`` and ``stacking`` (the methods), ``scoring`` (the honest score of models
and blends), ``registry``, ``nested`` (nested CV), ``engine`` (blend arrays in memory), ``inputs`` / ``target`` (read
a run), ``external`` (import predictions made elsewhere), ``storage`` (``RUN_DIR/blends``, ``RUN_DIR/external``),
``result``, ``report`` and ``api`` (what the CLI calls).
"""

from __future__ import annotations

from .api import ALL_METHODS, blend_report, blend_test_predictions, fit_blend
from .base import Blender, Fitted, to_simplex, weighted_sum
from .calibrated import CalibratedHillClimb
from .engine import BlendOutcome, blend_predictions, stacking_guard
from .external import ImportedPredictions, import_predictions
from .nested import NestedScores, nested_cv
from .objective import Objective, make_objective
from .registry import BLENDERS, make_blender, register
from .report import BlendReport, format_blend_leaderboard
from .result import BlendResult
from .selection import HillClimb
from .stacking import Stack
from .storage import blend_names, read_blend
from .weighting import Mean, NelderMead, Rank

__all__ = [
    "ALL_METHODS",
    "BLENDERS",
    "BlendOutcome",
    "BlendReport",
    "BlendResult",
    "Blender",
    "CalibratedHillClimb",
    "Fitted",
    "HillClimb",
    "ImportedPredictions",
    "Mean",
    "NelderMead",
    "NestedScores",
    "Objective",
    "Rank",
    "Stack",
    "blend_names",
    "blend_predictions",
    "blend_report",
    "blend_test_predictions",
    "fit_blend",
    "format_blend_leaderboard",
    "import_predictions",
    "make_blender",
    "make_objective",
    "nested_cv",
    "read_blend",
    "register",
    "stacking_guard",
    "to_simplex",
    "weighted_sum",
]
