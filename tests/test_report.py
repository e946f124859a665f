"""The HTML report and Markdown summary of a run: every section there, numbers equal to the run store's.

The HTML is parsed (standard library ``html.parser``) and checked cell by cell against the run store: each number
cell carries its exact value in ``data-value``.
"""

from __future__ import annotations

import base64
import io
import json
import math
import shutil
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from conftest import demo_spec, fast_models
from sklearn.metrics import roc_auc_score

from kaggle_kit.errors import DataError, StoreError
from kaggle_kit.metrics import get_metric
from kaggle_kit.readers.competition import CompetitionData, load_competition
from kaggle_kit.report import (
    ProgressBar,
    ReportFiles,
    add_lb_score,
    build_report,
    collect_report,
    load_run_data,
    record_submission,
)
from kaggle_kit.report.blends import parse_blend_summary, read_blends
from kaggle_kit.report.entries import Entry, rank_entries
from kaggle_kit.report.history import default_db
from kaggle_kit.report.html import SECTIONS, render_html
from kaggle_kit.report.mistakes import analyse_errors
from kaggle_kit.runtime.runner import run
from kaggle_kit.runtime.store import RunStore
from kaggle_kit.submit import write_submission

SEQUENTIAL = {"n_jobs": 1, "threads_per_task": 1}
BROKEN = {  # valid params (the check before any fit passes), but more neighbours than a fold has rows: fails at fit
    "name": "broken",
    "kind": "sklearn",
    "estimator": "sklearn.neighbors.KNeighborsClassifier",
    "params": {"n_neighbors": 100000},
}
LB = {"xgb": 0.9812, "lgbm": 0.9845}


# ------------------------------------------------------------------------------------------------- HTML reading
@dataclass
class Cell:
    text: str
    attrs: dict[str, str]

    @property
    def value(self) -> float:
        return float(self.attrs["data-value"])


@dataclass
class Table:
    id: str
    section: str | None
    headers: list[str] = field(default_factory=list)
    rows: list[tuple[dict[str, str], list[Cell]]] = field(default_factory=list)

    def row(self, name: str) -> dict[str, Cell]:
        """The row whose ``data-name`` (or first text cell) is ``name``, as header -> cell."""
        for attrs, cells in self.rows:
            if attrs.get("data-name") == name or cells[0].text == name:
                return dict(zip(self.headers, cells, strict=True))
        raise KeyError(f"no row {name!r} in table {self.id!r}")

    def column(self, header: str) -> list[Cell]:
        j = self.headers.index(header)
        return [cells[j] for _, cells in self.rows]


class Page(HTMLParser):
    """Sections, tables (cells with their attributes), images and every src / href of a page."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.sections: list[str] = []
        self.tables: dict[str, Table] = {}
        self.images: list[tuple[str | None, str]] = []
        self.tags: set[str] = set()
        self.links: list[str] = []
        self.by_id: dict[str, dict[str, str]] = {}
        self._section: str | None = None
        self._table: Table | None = None
        self._cell: Cell | None = None
        self.feed(text)
        self.close()

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: v or "" for k, v in attrs_list}
        self.tags.add(tag)
        if "id" in attrs:
            self.by_id[attrs["id"]] = attrs
        self.links += [attrs[k] for k in ("src", "href") if k in attrs]
        if tag == "section":
            self._section = attrs.get("id")
            self.sections.append(attrs.get("id", ""))
        elif tag == "table":
            self._table = self.tables[attrs["id"]] = Table(attrs["id"], self._section)
        elif tag == "tr" and self._table is not None:
            self._table.rows.append((attrs, []))
        elif tag in ("td", "th"):
            self._cell = Cell("", attrs)
        elif tag == "img":
            self.images.append((self._section, attrs.get("src", "")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "section":
            self._section = None
        elif tag == "table" and self._table is not None:
            self._table.rows = [r for r in self._table.rows if r[1]]  # drop the header row
            self._table = None
        elif tag in ("td", "th") and self._cell is not None and self._table is not None:
            self._cell.text = self._cell.text.strip()
            if tag == "th":
                self._table.headers.append(self._cell.text)
            else:
                self._table.rows[-1][1].append(self._cell)
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.text += data

    def images_in(self, section: str) -> list[str]:
        return [src for sec, src in self.images if sec == section]


# ------------------------------------------------------------------------------------------------- fixtures
@dataclass(frozen=True)
class Built:
    """A trained run and its report."""

    run_dir: Path
    files: ReportFiles
    page: Page
    data: CompetitionData
    blend: dict = field(default_factory=dict)
    progress: list[str] = field(default_factory=list)


def _write_blend(run_dir: Path, y: np.ndarray) -> dict:
    """A blend in the layout of kaggle_kit.blend: RUN_DIR/blends/<name>/{oof.parquet, test.parquet, summary.json}
    (without its test predictions the report marks it, and never names it the best: `submit --best` cannot pick it)."""
    store = RunStore(run_dir)
    weights = [0.35, 0.65]
    folder = run_dir / "blends" / "nm"
    folder.mkdir(parents=True)
    for kind in ("oof", "test"):
        a, b = store.read_predictions("xgb", kind), store.read_predictions("lgbm", kind)
        frame = a.select("id").with_columns([(weights[0] * a[c] + weights[1] * b[c]).alias(c) for c in a.columns[1:]])
        frame.write_parquet(folder / f"{kind}.parquet")
    oof = pl.read_parquet(folder / "oof.parquet")
    cv = get_metric("roc_auc").score(y, oof.drop("id").to_numpy())
    summary = {
        "name": "nm",
        "method": "nelder_mead",
        "metric": "roc_auc",
        "models": ["xgb", "lgbm"],
        "weights": weights,
        "cv": cv,
        "nested_cv": cv - 0.0004,
        "nested_fold_scores": [0.99871, 0.97213, 0.99922, 0.99998, 0.99417],
        "gap": 0.0004,
    }
    (folder / "summary.json").write_text(json.dumps(summary))
    return summary


@pytest.fixture(scope="module")
def binary(demo_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """The breast-cancer demo with xgb, lgbm, a failing model and a blend; two submissions with LB scores."""
    spec = demo_spec("demo-breast-cancer", demo_data, models=[*fast_models(), BROKEN], run=SEQUENTIAL)
    result = run(spec, runs_root=tmp_path_factory.mktemp("report_runs"), progress=None)
    data = load_competition(spec)
    blend = _write_blend(result.run_dir, data.y)
    for name, score in LB.items():
        path = write_submission(result.run_dir, name)
        record_submission(result.run_dir, name, path)
        add_lb_score(path, score, db=default_db(result.run_dir))
    log = io.StringIO()  # not a terminal: one line per step
    files = build_report(result.run_dir, progress=ProgressBar(stream=log))
    return Built(result.run_dir, files, Page(files.html.read_text()), data, blend, log.getvalue().splitlines())


@pytest.fixture(scope="module")
def digits(demo_data: Path, tmp_path_factory: pytest.TempPathFactory):
    """The digits demo (images as pixel columns, 10 classes) with LightGBM only."""
    spec = demo_spec("demo-digits", demo_data, models=fast_models(("lightgbm",)), run=SEQUENTIAL)
    result = run(spec, runs_root=tmp_path_factory.mktemp("report_runs"), progress=None)
    files = build_report(result.run_dir, adversarial=False)
    return Built(result.run_dir, files, Page(files.html.read_text()), load_competition(spec))


# ------------------------------------------------------------------------------------------------- the page
def test_every_section_is_there_and_the_page_is_self_contained(binary: Built) -> None:
    assert binary.page.sections == [sid for sid, _ in SECTIONS]
    assert not {"script", "link", "iframe"} & binary.page.tags  # nothing to fetch, nothing to run
    for link in binary.page.links:
        assert link.startswith(("data:image/png;base64,", "#")), link
    assert len(binary.page.images) >= 8
    for _, src in binary.page.images:
        assert base64.b64decode(src.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"
    assert binary.files.markdown.is_file() and binary.files.html.parent == binary.files.markdown.parent


def test_leaderboard_numbers_equal_the_run_store(binary: Built) -> None:
    store = RunStore(binary.run_dir)
    table = binary.page.tables["leaderboard-table"]
    assert table.section == "leaderboard"
    for name in store.current_models():
        expected = store.read_summary(name)
        row = table.row(name)
        assert row["kind"].text == expected.kind
        if expected.status != "ok":
            assert "failed" in row["status"].text and "n_neighbors" in row["status"].text
            continue
        assert row["CV roc_auc"].value == expected.cv
        assert row["mean"].value == expected.mean and row["std"].value == expected.std
        assert [row[f"fold {k + 1}"].value for k in range(5)] == list(expected.fold_scores)
        assert row["fit s"].value == expected.fit_seconds
        if expected.best_iteration is not None:
            assert row["best iteration"].value == expected.best_iteration
        assert row["CV roc_auc"].text == f"{expected.cv:.5f}"
    assert table.row("baseline")["kind"].text == "dummy"  # the baseline row is always there
    classes = {attrs["data-name"]: attrs["class"] for attrs, _ in table.rows}
    assert "baseline" in classes["baseline"] and "failed" in classes["broken"] and "blend" in classes["nm"]


def test_rows_are_ranked_by_honest_score_best_first(binary: Built) -> None:
    table = binary.page.tables["leaderboard-table"]
    names = [attrs["data-name"] for attrs, _ in table.rows]
    # ranked as `kaggle-kit blend` ranks: the mean over folds of each one's stored (nested) OOF, recomputed here
    score = {n: float(np.mean(_fold_aucs(binary, n))) for n in ("xgb", "lgbm", "baseline", "nm")}
    assert names[:4] == sorted(score, key=lambda n: -score[n]) and names[4] == "broken"  # failed last
    assert [c.value for c in table.column("#")] == [1, 2, 3, 4, 5]


def _oof(binary: Built, name: str) -> np.ndarray:
    folder = binary.run_dir / "blends" / name
    if folder.is_dir():
        return pl.read_parquet(folder / "oof.parquet").drop("id").to_numpy()
    return RunStore(binary.run_dir).read_predictions(name, "oof").drop("id").to_numpy()


def _fold_aucs(binary: Built, name: str) -> list[float]:
    """sklearn's AUC of the stored OOF on each fold's rows (the run has one repeat)."""
    folds = pl.read_parquet(binary.run_dir / "folds.parquet")["fold_r0"].to_numpy()
    oof, y = _oof(binary, name), binary.data.y
    return [roc_auc_score(y[folds == k], oof[folds == k, 1]) for k in range(5)]


def test_blend_row_weights_and_nested_cv(binary: Built) -> None:
    row = binary.page.tables["leaderboard-table"].row("nm")
    assert row["kind"].text == "blend: nelder_mead"
    # the scores are recomputed from the blend's stored (checksum-protected) predictions, not read from its summary
    assert row["CV roc_auc"].value == binary.blend["cv"] and row["nested CV"].value == pytest.approx(binary.blend["cv"])
    np.testing.assert_allclose([row[f"fold {k + 1}"].value for k in range(5)], _fold_aucs(binary, "nm"), rtol=1e-12)
    weights = binary.page.tables["blend-nm-weights"]
    assert [c.text for c in weights.column("model")] == binary.blend["models"]
    assert [c.value for c in weights.column("weight")] == binary.blend["weights"]
    assert len(binary.page.images_in("blends")) == 1


def test_correlation_of_oof_predictions(binary: Built) -> None:
    store = RunStore(binary.run_dir)
    table = binary.page.tables["correlation-table"]
    names = [c.text for c in table.column("model")]
    assert names == ["xgb", "lgbm"]  # the constant baseline and the failed model have no correlation
    pos = np.stack([store.read_predictions(n, "oof")["p_malignant"].to_numpy().astype(np.float64) for n in names])
    expected = np.corrcoef(pos)
    got = np.array([[table.row(a)[b].value for b in names] for a in names])
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert len(binary.page.images_in("diversity")) == 1


def test_learning_curves_and_feature_importance_of_the_trees(binary: Built) -> None:
    assert len(binary.page.images_in("learning-curves")) == 2  # xgb and lgbm
    assert set(binary.files.report.curves) == {"xgb", "lgbm"}
    xgb_curve = binary.files.report.curves["xgb"][0]
    assert list(xgb_curve.series) == ["logloss"] and xgb_curve.best_iteration is not None
    for name in ("xgb", "lgbm"):
        table = binary.page.tables[f"importance-{name}"]
        features = [c.text for c in table.column("feature")]
        shares = [c.value for c in table.column("gain share")]
        assert set(features) <= set(binary.data.features) and len(features) == 20
        assert shares == sorted(shares, reverse=True) and shares[0] > 0.05 and sum(shares) <= 1 + 1e-9
    assert len(binary.page.images_in("importance")) == 2


def test_worst_mistakes_and_confusion_matrix(binary: Built) -> None:
    best = binary.files.report.best
    means = {n: float(np.mean(_fold_aucs(binary, n))) for n in ("xgb", "lgbm", "nm")}
    assert best is not None and best.name == max(means, key=lambda n: means[n])  # the best honest score
    oof = _oof(binary, best.name)
    p_true = oof[np.arange(len(binary.data.y)), binary.data.y]
    worst = np.argsort(p_true, kind="stable")[:12]
    table = binary.page.tables["mistakes-table"]
    assert [int(c.text) for c in table.column("id")] == binary.data.train_ids.to_numpy()[worst].tolist()
    np.testing.assert_allclose([c.value for c in table.column("p(true)")], p_true[worst], rtol=1e-6)
    assert [c.text for c in table.column("true")] == [binary.data.classes[k] for k in binary.data.y[worst]]
    rows = binary.page.tables["mistakes-rows"]
    assert rows.headers[:2] == ["id", "diagnosis"] and len(rows.rows) == 12
    confusion = binary.page.tables["confusion-table"]
    got = np.array([[confusion.row(t)[p].value for p in ("benign", "malignant")] for t in ("benign", "malignant")])
    expected = np.bincount(binary.data.y * 2 + oof.argmax(axis=1), minlength=4).reshape(2, 2)
    np.testing.assert_array_equal(got, expected)
    assert len(binary.page.images_in("errors")) == 1  # the confusion heat map; tables are not images


def test_adversarial_validation_is_quiet_on_the_random_demo_split(binary: Built) -> None:
    adv = binary.files.report.adversarial
    assert adv is not None and adv.verdict == "none" and adv.auc < 0.6 and adv.flagged == ()
    assert binary.page.by_id["adversarial-verdict"]["data-verdict"] == "none"
    assert float(binary.page.by_id["adversarial-auc"]["data-value"]) == adv.auc
    assert "gives the shift away" in binary.page.tables["adversarial-table"].headers


def test_cv_against_public_leaderboard(binary: Built) -> None:
    table = binary.page.tables["submissions-table"]
    assert [c.text for c in table.column("source")] == list(LB)
    assert [c.value for c in table.column("public LB")] == list(LB.values())
    store = RunStore(binary.run_dir)
    assert [c.value for c in table.column("CV")] == [store.read_summary(n).cv for n in LB]
    assert len(binary.page.images_in("cv-vs-lb")) == 1


def test_markdown_summary_and_printed_leaderboard(binary: Built) -> None:
    text = binary.files.markdown.read_text()
    store = RunStore(binary.run_dir)
    for name in ("xgb", "lgbm", "baseline"):
        cv = store.read_summary(name).cv
        assert f"| {name} |" in text and f"{cv:.5f}" in text
        row = next(line for line in text.splitlines() if f"| {name} |" in line).split(" | ")
        summary = store.read_summary(name)
        assert row[-3:-1] == [  # fit seconds and rounds as the HTML shows them, not as scores (0.33300)
            f"{summary.fit_seconds:.1f}",
            f"{summary.best_iteration:.0f}" if summary.best_iteration is not None else "-",
        ]
        assert name in binary.files.leaderboard and f"{cv:.5f}" in binary.files.leaderboard
    assert "**nm** (nelder_mead)" in text and f"{binary.blend['nested_cv']:.5f}" in text
    assert "## Adversarial validation" in text and "## CV vs public leaderboard" in text
    assert "nm" in binary.files.leaderboard and "FAILED" in binary.files.leaderboard


def test_progress_bar_reports_every_step(binary: Built) -> None:
    lines = binary.progress
    assert lines[0].startswith("report  [") and " 0/9  leaderboard" in lines[0]
    assert "9/9  done" in lines[-1] and len(lines) == 10


def test_image_competition_shows_the_mistaken_images(digits: Built) -> None:
    report = digits.files.report
    assert report.error_images is not None and report.error_images.shape == (12, 8, 8)
    table = digits.page.tables["mistakes-table"]
    first = table.rows[0][1]
    assert first[1].text != first[2].text  # the worst row is a mistake: true != predicted
    assert len(digits.page.images_in("errors")) == 2  # the image grid and the confusion heat map
    confusion = digits.page.tables["confusion-table"]
    assert confusion.headers[1:] == [str(c) for c in range(10)]
    assert sum(c.value for _, cells in confusion.rows for c in cells[1:]) == digits.data.train.height
    assert digits.page.sections == [sid for sid, _ in SECTIONS]  # no blends, no adversarial: still every section
    assert "No blends" in digits.files.html.read_text()


def _copy_run(run_dir: Path, dest: Path) -> Path:
    copy = dest / "runs" / run_dir.name
    shutil.copytree(run_dir, copy, ignore=shutil.ignore_patterns("report", "submissions"))
    return copy


def _relocate(copy: Path, data: dict[str, str], sample: str | None) -> None:
    spec = (copy / "spec.toml").read_text()
    for key, value in data.items():
        spec = "\n".join(f'{key} = "{value}"' if line.startswith(f"{key} = ") else line for line in spec.splitlines())
    (copy / "spec.toml").write_text(spec)
    meta = json.loads((copy / "run.json").read_text())
    meta.pop("config_dir", None)  # moved to another machine: the folder the run was started from is not there
    (copy / "run.json").write_text(json.dumps({**meta, "sample_submission": sample}))


def test_sections_that_need_the_data_explain_why_when_it_is_missing(binary: Built, tmp_path, monkeypatch) -> None:
    copy = _copy_run(binary.run_dir, tmp_path)
    _relocate(copy, {"train": "gone/train.csv", "test": "gone/test.csv"}, None)
    monkeypatch.chdir(tmp_path)
    report = collect_report(copy)
    assert report.errors is None and report.adversarial is None
    assert any("need the competition data" in n and "gone/train.csv" in n for n in report.notes)
    page = Page(render_html(report))
    assert page.sections == [sid for sid, _ in SECTIONS] and "leaderboard-table" in page.tables


def test_the_data_is_found_from_relative_spec_paths(binary: Built, demo_data, tmp_path, monkeypatch) -> None:
    project = tmp_path / "project"
    shutil.copytree(demo_data / "demo-breast-cancer", project / "data" / "demo-breast-cancer")
    copy = _copy_run(binary.run_dir, project)
    rel = "../data/demo-breast-cancer/"
    sample = project / "data" / "demo-breast-cancer" / "sample_submission.csv"
    paths = {"train": rel + "train.csv", "test": rel + "test.csv", "sample_submission": rel + "sample_submission.csv"}
    _relocate(copy, paths, str(sample))
    monkeypatch.chdir(tmp_path)  # neither the config folder nor the data folder
    found = load_run_data(copy)
    assert found.fingerprint() == RunStore(copy).read_meta()["data_fingerprint"]

    train = project / "data" / "demo-breast-cancer" / "train.csv"
    pl.read_csv(train)[1:].write_csv(train)  # other data than the run was trained on
    with pytest.raises(DataError, match=r"not the data run .* was trained on"):
        load_run_data(copy)


# ------------------------------------------------------------------------------------------------- small parts
def test_worst_mistakes_of_a_regressor_skip_rows_never_validated() -> None:
    y = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    oof = np.array([[1.1], [np.nan], [0.0], [4.5], [5.0]])  # row 1: in the earliest time block, never validated
    result = analyse_errors("m", oof, y, np.array([10, 11, 12, 13, 14]), None, n_worst=3)
    assert [(m.id, m.error) for m in result.mistakes] == [(12, 3.0), (13, 0.5), (10, pytest.approx(0.1))]
    assert result.confusion is None and result.labels is None


def test_worst_mistakes_of_a_classifier_and_its_confusion_matrix() -> None:
    y = np.array([0, 1, 2, 1])
    oof = np.array([[0.8, 0.1, 0.1], [0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.3, 0.6, 0.1]])
    result = analyse_errors("m", oof, y, np.array(["a", "b", "c", "d"]), ["cat", "dog", "eel"], n_worst=2)
    assert [(m.id, m.true, m.predicted, m.p_true) for m in result.mistakes] == [
        ("b", "dog", "cat", pytest.approx(0.2)),
        ("d", "dog", "dog", pytest.approx(0.6)),
    ]
    np.testing.assert_array_equal(result.confusion, [[1, 0, 0], [1, 1, 0], [0, 0, 1]])


def test_a_confident_miss_costs_in_the_error_analysis_what_the_metric_charges() -> None:
    """The report's worst rows showed -log(1e-15) = 34.5 for a 0 given to the true class, where log loss (and so the
    CV beside it) charges -log(2.2e-16) = 36.04: the row's cost is the metric's."""
    y = np.array([0, 1, 1])
    oof = np.array([[0.0, 1.0], [0.3, 0.7], [0.4, 0.6]], dtype=np.float32)
    result = analyse_errors("m", oof, y, np.array([1, 2, 3]), ["no", "yes"], n_worst=1)
    assert result.mistakes[0].error == pytest.approx(get_metric("log_loss").score(y[:1], oof[:1]), rel=1e-12)
    labels = np.array([[0.0, 1.0], [1.0, np.nan]])
    multi = analyse_errors("m", np.array([[1.0, 0.9], [0.0, 0.5]]), labels, np.array([1, 2]), None, multilabel=True)
    assert multi.mistakes[0].error == pytest.approx(-np.log(np.finfo(np.float64).eps), rel=1e-12)


def test_lower_is_better_metrics_rank_the_smallest_first() -> None:
    rows = [Entry("a", "xgboost", 0.30, (0.3,)), Entry("b", "lightgbm", 0.25, (0.25,)), Entry("c", "x", math.nan, ())]
    blend = Entry("nm", "blend", 0.20, (0.26,), nested_cv=0.26, method="hill_climbing")
    ranked = rank_entries([*rows, blend], get_metric("log_loss"))
    assert [e.name for e in ranked] == ["b", "nm", "a", "c"]  # the blend by its nested CV, not its in-sample 0.20


@pytest.mark.parametrize(
    ("summary", "weights", "nested", "folds"),
    [
        (
            {"weights": {"lgbm": 0.75, "xgb": 0.25}, "nested_cv": 0.9, "nested_fold_scores": [0.9]},
            (0.25, 0.75),
            0.9,
            (0.9,),
        ),
        ({"weights": [0.5, 0.5], "fold_scores": [0.8, 0.9]}, (0.5, 0.5), pytest.approx(0.85), (0.8, 0.9)),
        ({"nested_fold_scores": [0.7]}, None, 0.7, (0.7,)),
    ],
)
def test_blend_summaries_are_read_tolerantly(summary: dict, weights, nested, folds, tmp_path: Path) -> None:
    blend = parse_blend_summary({"method": "x", "models": ["xgb", "lgbm"], "cv": 0.95, **summary}, tmp_path)
    assert (blend.name, blend.weights, blend.nested_cv, blend.nested_fold_scores) == (
        tmp_path.name,
        weights,
        nested,
        folds,
    )
    assert blend.gap == pytest.approx(0.95 - blend.nested_cv)


def test_a_broken_blend_summary_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "blends" / "bad").mkdir(parents=True)
    (tmp_path / "blends" / "bad" / "summary.json").write_text('{"method": "x", "models": ["a"], "weights": [1, 2]}')
    with pytest.raises(StoreError, match=r"2 weights for 1 models"):
        read_blends(tmp_path)
    assert read_blends(tmp_path / "nowhere") == []


_LOGREG = {"kind": "sklearn", "estimator": "sklearn.linear_model.LogisticRegression"}


def _logreg_runs(tmp_path: Path, name: str, seed: int, rows: int = 90, n_splits: int = 3):
    """``run_with({model: C, ...})``: run ``name`` of those logistic regressions on a made binary table of ``rows``
    rows (two thirds train, the rest test) in ``tmp_path``; each call runs the same folder again (resumes)."""
    from kaggle_kit.config import build_spec

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 2))
    frame = pl.DataFrame({"id": np.arange(rows), "a": x[:, 0], "b": x[:, 1], "y": (x[:, 0] > 0).astype(int)})
    cut = rows * 2 // 3

    def run_with(models: dict[str, float]):
        spec = build_spec(
            {
                "name": name,
                "task": "binary",
                "metric": "roc_auc",
                "data": {"train": "t.csv", "test": "u.csv", "id": "id", "target": "y"},
                "folds": {"n_splits": n_splits},
                "run": {"n_jobs": 1, "threads_per_task": 1},
                "models": [{"name": n, **_LOGREG, "params": {"C": c}} for n, c in models.items()],
            }
        )
        train, test = frame[:cut], frame[cut:].drop("y")
        return run(spec, runs_root=tmp_path, train=train, test=test, progress=None, record_history=False)

    return run_with


def test_a_blend_of_models_refit_since_is_left_out_and_named(tmp_path: Path) -> None:
    """A blend stored, then one of its models refit with other params (a new key): `submit --blend` refuses it, but
    the report had ranked it with its old scores and weights, and named it the best."""
    from kaggle_kit.blend import blend_report
    from kaggle_kit.report.families import family_report

    run_with = _logreg_runs(tmp_path, "stale", seed=1)
    result = run_with({"lr": 1.0, "weak": 1e-4})
    blend_report(result.run_dir, "mean")
    run_with({"lr": 1.0, "weak": 1e-3})  # 'weak' refit: a new key
    report = collect_report(result.run_dir, adversarial=False)
    assert [e.name for e in report.entries if e.is_blend] == [] and report.blends == ()
    assert any("Blends left out" in n and "'mean' (made from earlier versions of 'weak'" in n for n in report.notes)
    assert family_report(result.run_dir).ensemble is None  # nor weighed by family
    # submit --best: not "no blend is stored", which there is
    from kaggle_kit.predict import best_choice

    assert (
        "no stored blend can predict these rows ('mean': made from earlier versions"
        in best_choice(result.run_dir).verdict
    )
    assert (  # submit --best (the run's own test rows) alike: the stale blend's stored test predictions are refused
        "no stored blend is current ('mean': made from earlier versions"
        in best_choice(result.run_dir, new_rows=False).verdict
    )
    from kaggle_kit.report.records import snapshot

    assert snapshot(result.run_dir).blends == ()  # nor recorded in the run history (its best there)
    blend_report(result.run_dir, "mean")  # blended again: ranked again
    assert [e.name for e in collect_report(result.run_dir, adversarial=False).entries if e.is_blend] == ["mean"]
    assert [b.name for b in snapshot(result.run_dir).blends] == ["mean"]


def test_a_blend_of_a_model_the_run_no_longer_lists_is_named_so_not_refit(tmp_path: Path) -> None:
    """A model left out of the config (or a search's config after a plain run) is not refit: the report, submit and
    predict had all said the blend was "made from earlier versions of" it."""
    from kaggle_kit.blend import blend_report
    from kaggle_kit.errors import StoreError
    from kaggle_kit.submit import write_submission

    run_with = _logreg_runs(tmp_path, "gone", seed=2, rows=60, n_splits=2)
    run_dir = run_with({"lr": 1.0, "weak": 1e-3}).run_dir
    blend_report(run_dir, "mean")
    run_with({"lr": 1.0})  # 'weak' no longer listed, 'lr' as it was
    (note,) = [n for n in collect_report(run_dir, adversarial=False).notes if "Blends left out" in n]
    assert "'mean' (made from 'weak', which the run no longer lists" in note and "earlier versions" not in note
    from kaggle_kit.predict.blends import blend_spec
    from kaggle_kit.predict.run_folder import RunFolder

    refused = r"the blend 'mean' was made from 'weak', which the run no longer lists .*; blend again"
    with pytest.raises(StoreError, match=refused):
        write_submission(run_dir, blend="mean")
    with pytest.raises(StoreError, match=refused):
        blend_spec(RunFolder.open(run_dir), "mean")  # predict's reading of it


def test_imported_predictions_are_rows_of_the_leaderboard(binary: Built, tmp_path) -> None:
    """Predictions imported from a notebook rank beside the models in `kaggle-kit blend` and are candidates of
    `submit --best`; the report showed blends of them but never them, so its best could not be one. Their row's
    fold scores are sklearn's AUC of the stored OOF, fold by fold."""
    from kaggle_kit.blend import fit_blend, import_predictions
    from kaggle_kit.report.entries import format_entries
    from kaggle_kit.report.families import family_report

    copy = _copy_run(binary.run_dir, tmp_path)
    store = RunStore(copy)
    y = binary.data.y
    folds = pl.read_parquet(store.folds_path)["fold_r0"]
    sure = 0.1 + 0.8 * y + np.random.default_rng(0).uniform(-0.05, 0.05, len(y))  # better than any model of the run
    oof = pl.DataFrame({"id": store.read_predictions("xgb", "oof")["id"], "p_malignant": sure, "fold": folds})
    oof.write_csv(tmp_path / "oof.csv")
    store.read_predictions("xgb", "test").drop("p_benign").write_csv(tmp_path / "test.csv")
    import_predictions(copy, "notebook", tmp_path / "oof.csv", tmp_path / "test.csv")
    report = collect_report(copy, adversarial=False)
    (row,) = [e for e in report.entries if e.name == "notebook"]
    assert row.kind == "external" and report.entries[0].name == "notebook"  # the best
    k = folds.to_numpy()
    assert list(row.fold_scores) == pytest.approx([roc_auc_score(y[k == f], sure[k == f]) for f in range(5)])
    assert row.cv == pytest.approx(roc_auc_score(y, sure))
    assert "notebook" in format_entries(list(report.entries), get_metric("roc_auc"))
    fit_blend(copy, "mean", models=["xgb", "notebook"])  # the families' view names its kind, not 'other'
    ensemble = family_report(copy).ensemble
    assert ensemble is not None and {f.family for f in ensemble.families} == {"xgboost", "external"}


def test_a_model_finished_after_the_blends_is_named(tmp_path: Path) -> None:
    """A model added to the config and run after the blends were made: the blends are not stale (their models are
    unchanged) and stay ranked, but none weighs the new model, and the report said nothing of it."""
    from kaggle_kit.blend import blend_report, fit_blend

    run_with = _logreg_runs(tmp_path, "added", seed=3)
    result = run_with({"lr": 1.0, "weak": 1e-3})
    blend_report(result.run_dir, "mean")
    assert not any("finished after" in n for n in collect_report(result.run_dir, adversarial=False).notes)
    run_with({"lr": 1.0, "weak": 1e-3, "late": 10.0})
    report = collect_report(result.run_dir, adversarial=False)
    assert [b.name for b in report.blends] == ["mean"]  # not stale: still ranked
    (note,) = [n for n in report.notes if "finished after" in n]
    assert note.startswith("'late' finished after the stored blends were made") and "kaggle-kit blend" in note
    fit_blend(result.run_dir, "mean", models=["lr", "weak"], name="later")  # made with 'late' finished, left out
    assert not any("finished after" in n for n in collect_report(result.run_dir, adversarial=False).notes)


def test_a_resumed_run_names_no_model_finished_after_the_blends(tmp_path: Path) -> None:
    """The note on models finished after the blends compared file times: a run resumed unchanged (every fold reused)
    rewrites each model's summary, and a model a blend left out (``--models``) was named as finished after it,
    which it was not. A blend records what the run could blend when it was made; a model refit since is named."""
    from kaggle_kit.blend import fit_blend

    run_with = _logreg_runs(tmp_path, "resumed", seed=3)
    run_dir = run_with({"lr": 1.0, "weak": 1e-3}).run_dir
    fit_blend(run_dir, "mean", models=["lr"])  # 'weak' finished, left out
    run_with({"lr": 1.0, "weak": 1e-3})  # resumed: every fold reused
    assert not [n for n in collect_report(run_dir, adversarial=False).notes if "finished after" in n]
    run_with({"lr": 1.0, "weak": 1e-2})  # 'weak' refit (a new key): no blend saw it
    (note,) = [n for n in collect_report(run_dir, adversarial=False).notes if "finished after" in n]
    assert note.startswith("'weak' finished after the stored blends were made")
