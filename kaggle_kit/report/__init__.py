"""Reports on a run folder: the CV leaderboard of models and blends as a self-contained HTML page and a Markdown
summary, the run history in SQLite, CV against the public leaderboard, adversarial validation, optional MLflow.

One module per job:

=================  ==============================================================================================
``build``          gather every section from the run store (and the data) and write ``report.html`` / ``report.md``
``entries``        the leaderboard rows of models and blends, ranked, and their terminal table
``families``       per model kind: CV spread, fit time, ensemble weights, train vs validation gap in words
``blends``         read ``RUN_DIR/blends/<name>/summary.json``
``training``       learning curves (``history.json``) and feature importance (native model files) per fold
``diversity``      the correlation of the models' OOF predictions
``mistakes``       the worst OOF mistakes and the confusion matrix; pixel columns as images
``adversarial``    a train-vs-test classifier: its AUC, the features that give a shift away, a plain warning
``plots``          matplotlib (Agg) figures as PNG bytes
``html``           the self-contained HTML page;  ``markdown``: the Markdown summary
``history``        the SQLite run history: runs, models, fold scores, blends, submissions, leaderboard scores
``records``        the snapshot of a run that the history and MLflow record
``tracking``       the same records logged to MLflow (optional extra)
``inputs``         find and load the competition data of a run folder
``progress``       a progress bar for the command line
=================  ==============================================================================================

Example::

    from kaggle_kit.report import build_report, record_run
    files = build_report("runs/demo-digits")
    print(files.leaderboard, files.html)
"""

from __future__ import annotations

from .adversarial import AdversarialResult, FeatureShift, adversarial_validation
from .build import Report, ReportFiles, build_report, collect_report
from .entries import Entry, format_entries
from .families import FamilyReport, family_report
from .history import (
    History,
    SubmissionRecord,
    add_lb_score,
    default_db,
    format_history,
    format_submissions,
    history_path,
    record_run,
    record_submission,
)
from .inputs import load_run_data
from .progress import ProgressBar
from .tracking import log_to_mlflow

__all__ = [
    "AdversarialResult",
    "Entry",
    "FamilyReport",
    "FeatureShift",
    "History",
    "ProgressBar",
    "Report",
    "ReportFiles",
    "SubmissionRecord",
    "add_lb_score",
    "adversarial_validation",
    "build_report",
    "collect_report",
    "default_db",
    "family_report",
    "format_entries",
    "format_history",
    "format_submissions",
    "history_path",
    "load_run_data",
    "log_to_mlflow",
    "record_run",
    "record_submission",
]
