"""Render a :class:`~.build.Report` as one self-contained HTML page: inline CSS, plots as inlined PNG data URIs,
no scripts, no fonts or styles fetched from anywhere, so it opens offline and can be mailed or archived as it is.

Every number in a table cell also carries its exact value in a ``data-value`` attribute (the text is rounded), so the
page can be checked against the run store programmatically.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from html import escape

import numpy as np

from ..leaderboard import SIGNED, score_text  # SIGNED: a Num spec, a signed difference of scores (a gap)
from . import plots
from .build import Report, cv_lb_agreement, cv_lb_points
from .entries import Entry
from .families import perfect_score

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; margin: 0 auto;
       max-width: 1180px; padding: 0 24px 48px; color: #1d1d1f; line-height: 1.45; }
header { border-bottom: 2px solid #1f77b4; margin-bottom: 8px; }
h1 { margin: 24px 0 4px; } h2 { margin-top: 36px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
h3 { margin: 20px 0 6px; }
.meta { color: #555; margin: 0 0 12px; }
nav { position: sticky; top: 0; background: #fff; padding: 8px 0; border-bottom: 1px solid #eee; z-index: 1; }
nav a { margin-right: 14px; color: #1f77b4; text-decoration: none; font-size: 0.95em; }
table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.88em; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; white-space: nowrap; }
th { background: #f4f6f8; text-align: center; } td.text { text-align: left; }
tr.baseline td { color: #777; background: #fafafa; } tr.blend td { background: #fff8ef; }
tr.failed td { color: #b00; } tr.best td { font-weight: 600; }
.scroll { overflow-x: auto; max-width: 100%; }
.grid { display: flex; flex-wrap: wrap; gap: 12px 24px; align-items: flex-start; }
.grid > div { flex: 0 1 auto; }
details summary { cursor: pointer; color: #1f77b4; margin: 4px 0; }
.ok-inline { color: #2ca02c; font-weight: 600; } .warn-inline { color: #d62728; font-weight: 600; }
figure { margin: 10px 0 18px; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.88em; }
.warning { background: #fff1f0; border-left: 5px solid #d62728; padding: 10px 14px; }
.ok { background: #f0f8f0; border-left: 5px solid #2ca02c; padding: 10px 14px; }
.note { background: #f6f6f6; border-left: 5px solid #999; padding: 8px 14px; color: #444; }
.small { font-size: 0.88em; color: #555; }
"""

#: the summary's line where no entry can be named the best
NO_BEST = "no model or blend besides the baseline has a score that `kaggle-kit submit --best` could pick"

SECTIONS = (
    ("summary", "Summary"),
    ("leaderboard", "Leaderboard"),
    ("families", "Families"),
    ("blends", "Blends"),
    ("diversity", "Diversity"),
    ("learning-curves", "Learning curves"),
    ("importance", "Feature importance"),
    ("errors", "Error analysis"),
    ("adversarial", "Adversarial validation"),
    ("cv-vs-lb", "CV vs leaderboard"),
)


def fmt(value: float | None, digits: int = 5) -> str:
    """A score as the report shows it (:func:`~kaggle_kit.leaderboard.score_text`: 1e-9 is not ``0.00000``)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return score_text(value, digits)


@dataclass(frozen=True)
class Num:
    """A number shown with its own format spec, e.g. ``".1f"`` (the cell's ``data-value`` keeps it exact)."""

    value: float | None
    spec: str


def _cell(value: object, digits: int = 5, fixed: bool = False) -> str:
    """A table cell: numbers right-aligned with their exact value in ``data-value``, text left-aligned. ``fixed``: a
    number that is no score (a weight, a correlation, a share) keeps ``digits`` fixed decimals, never scientific."""
    spec: str | None = f".{digits}f" if fixed else None  # None: a score, fmt()
    if isinstance(value, Num):
        value, spec = value.value, value.spec
    if value is None:
        return "<td>-</td>"
    if isinstance(value, (bool, np.bool_)):
        return f'<td class="text">{"yes" if value else "no"}</td>'
    if isinstance(value, (int, np.integer)):
        return f'<td data-value="{int(value)}">{int(value)}</td>'
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return '<td data-value="nan">-</td>'
        text = (
            fmt(v, digits)
            if spec is None
            else score_text(v, digits, signed=True)
            if spec == SIGNED
            else format(v, spec)
        )
        return f'<td data-value="{v!r}">{text}</td>'
    return f'<td class="text">{escape(str(value))}</td>'


def _table(
    table_id: str,
    headers: Sequence[str],
    rows: Iterable[tuple[str, Sequence[object]]],
    digits: int = 5,
    *,
    fixed: bool = False,
) -> str:
    """``rows``: (tr attributes, cell values); ``fixed``: its numbers are no scores (see :func:`_cell`). ``table_id``
    is escaped: it may hold a name from a file (a blend written by hand names itself in its summary: a quote in it had
    ended the attribute, and its text became markup)."""
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(f"<tr{attrs}>{''.join(_cell(v, digits, fixed) for v in cells)}</tr>\n" for attrs, cells in rows)
    return (
        f'<div class="scroll"><table id="{escape(table_id)}">\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}</tbody>'
        "</table></div>\n"
    )


def _img(png: bytes, alt: str, caption: str = "") -> str:
    data = base64.b64encode(png).decode("ascii")
    cap = f"<figcaption>{escape(caption)}</figcaption>" if caption else ""
    return f'<figure><img alt="{escape(alt)}" src="data:image/png;base64,{data}">{cap}</figure>\n'


def _section(sid: str, title: str, body: str) -> str:
    return f'<section id="{sid}">\n<h2>{escape(title)}</h2>\n{body}</section>\n'


def _note(text: str) -> str:
    return f'<p class="note">{escape(text)}</p>\n'


# ---------------------------------------------------------------------------------------------- sections
def _summary(r: Report) -> str:
    m = r.metric
    items = []
    best, base = r.best, r.baseline
    if best is not None:
        what = f"blend: {best.method}" if best.is_blend else best.kind
        score = best.score_name
        items.append(
            f"Best: <b>{escape(best.name)}</b> ({escape(what)}), {score} {m.name} <b>{fmt(best.score)}</b>, "
            f"{fmt(best.mean)} &plusmn; {fmt(best.std)} over {len(best.fold_scores)} folds."
        )
        if base is not None and not math.isnan(base.cv):
            gain = (best.score - base.cv) * (1 if m.greater_is_better else -1)
            verdict = f"the best beats it by {fmt(gain)}" if gain > 0 else "<b>nothing beats it</b>: check the setup"
            items.append(f"Baseline CV {fmt(base.cv)}: {verdict}.")
        # the next scored row below the best (the rows are ranked by fold mean): one ranked above it (imported
        # predictions without test predictions) had been named, "behind" by the distance it was ahead, and an
        # unscored one read "nan behind"
        below = list(r.entries)[[e is best for e in r.entries].index(True) + 1 :]
        runner_up = next(
            (e for e in below if not e.is_baseline and e.status == "ok" and not math.isnan(e.rank_score)), None
        )
        if runner_up is not None and best.std > 0:
            gap = abs(best.rank_score - runner_up.rank_score)
            sure = "more than" if gap > best.std else "less than"
            items.append(
                f"Runner-up {escape(runner_up.name)} is {fmt(gap)} behind by fold mean: {sure} one fold standard "
                f"deviation ({fmt(best.std)}){'' if gap > best.std else ', so the order may be noise'}."
            )
    else:  # every model failed (or only what `submit --best` cannot pick scored): the summary had said nothing
        items.append(f"<b>No best</b>: {escape(NO_BEST)}.")
    unfinished: dict[str, list[str]] = {}  # "failed" / "incomplete" (a time limit cut it short: not a failure)
    for e in r.entries:
        if e.status != "ok":
            unfinished.setdefault(e.status, []).append(e.name)
    for status, names in unfinished.items():
        items.append(f"{escape(status.capitalize())}: {escape(', '.join(names))} (see the leaderboard).")
    if r.adversarial is not None:
        a = r.adversarial
        cls, verdict = ("ok-inline", "no shift") if a.verdict == "none" else ("warn-inline", f"{a.verdict} shift")
        items.append(f'Adversarial validation: <span class="{cls}">AUC {a.auc:.3f}, {verdict}</span>.')
    points = cv_lb_points(r)
    if points:
        rho = cv_lb_agreement(points)
        items.append(
            f"{len(points)} submission(s) with a public LB score"
            + (f"; CV vs LB rank correlation {rho:+.2f}." if rho is not None else ".")
        )
    body = "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>\n"
    body += "".join(_note(n) for n in r.notes)
    return _section("summary", "Summary", body)


def _leaderboard(r: Report) -> str:
    n_folds = max((len(e.fold_scores) for e in r.entries), default=0)
    headers = ["#", "name", "kind", f"CV {r.metric.name}", "nested CV", "mean", "std"]
    headers += [f"fold {i + 1}" for i in range(n_folds)] + ["fit s", "best iteration", "status"]
    best = r.best

    def row(i: int, e: Entry) -> tuple[str, list[object]]:
        cls = "blend" if e.is_blend else "baseline" if e.is_baseline else "model"
        if e.status != "ok":
            cls += " failed"
        if best is not None and e.name == best.name and e.kind == best.kind:
            cls += " best"
        folds: list[object] = [*e.fold_scores, *([None] * (n_folds - len(e.fold_scores)))]
        kind = e.label
        status = e.status if e.status == "ok" else f"{e.status}: {e.error or ''}"
        cells = [i, e.name, kind, e.cv, e.nested_cv, e.mean, e.std, *folds]
        cells += [Num(e.fit_seconds, ".1f"), Num(e.best_iteration, ".0f"), status]
        return f' class="{cls}" data-name="{escape(e.name)}" data-kind="{escape(e.kind)}"', cells

    body = (
        '<p class="small">Rows are ranked by the mean of their fold scores, as <code>kaggle-kit blend</code> ranks: '
        "a model's OOF and a blend's nested OOF (weights fit on K-1 folds, scored on the held-out fold), each fold "
        "scored on its own. CV and nested CV score every held-out row at once. "
        f"{escape(r.metric.name)}: {'higher' if r.metric.greater_is_better else 'lower'} is better. Mean and std are "
        "over the folds.</p>\n"
    )
    body += _table("leaderboard-table", headers, [row(i, e) for i, e in enumerate(r.entries, 1)])
    if any(e.fold_scores and not e.is_baseline for e in r.entries):
        caption = "Each dot is one fold's score (the baseline is in the table only)."
        body += _img(plots.fold_strip(r.entries, r.metric), "per-fold scores", caption)
    return _section("leaderboard", "Leaderboard", body)


def _families(r: Report) -> str:
    f = r.families
    if f is None or not f.rows:
        return _section("families", "Families", _note("No model of the run finished every fold."))
    m = r.metric
    base = fmt(f.baseline) if f.baseline is not None else "-"
    body = (
        f"<p class='small'>Per model kind (a search's configs, seed bags and shortened configs belong to their kind; "
        f"the baseline is left out): the fold mean {escape(m.name)} (as the leaderboard ranks; "
        f"{'higher' if m.greater_is_better else 'lower'} is better) of its models that finished every fold, the fit "
        f"time of all its folds ({f.total_fit_seconds:.1f} s in all), and its best model's fold means on its own "
        "training rows (a seeded subsample) vs its validation "
        f"rows. Gap &gt; 0: the training rows score better; it is judged against the headroom {fmt(f.headroom, 4)} "
        f"(from the baseline's {base} to a perfect {perfect_score(m):g}).</p>\n"
    )
    headers = ["family", "models", "unfinished", "best model", "best", "median", "IQR", "worst", "fit s", "share"]
    headers += ["train", "valid", "gap", "diagnosis"]
    rows = [
        (
            f' data-family="{escape(x.family)}" data-verdict="{escape(x.diagnosis.verdict)}"',
            [
                x.family,
                x.n_models,
                x.n_unfinished,
                x.best_model,
                x.best,
                x.median,
                x.iqr,
                x.worst,
                Num(x.fit_seconds, ".1f"),
                Num(100 * x.share, ".0f"),
                x.train,
                x.valid,
                Num(x.gap, SIGNED),
                x.diagnosis.verdict,
            ],
        )
        for x in f.rows
    ]
    body += _table("families-table", headers, rows)
    body += "<ul>" + "".join(f"<li><b>{escape(x.family)}</b>: {escape(x.diagnosis.text)}</li>" for x in f.rows)
    body += "</ul>\n"
    e = f.ensemble
    if e is not None:
        body += (
            f"<h3>Ensemble weights of {escape(e.name)} <span class='small'>({escape(e.method)})</span></h3>\n"
            f"<p>Nested CV {fmt(e.mean)} (fold mean), {fmt(e.nested_cv)} (all rows).</p>\n"
        )
        body += _table(
            "ensemble-families",
            ["family", "weight", "models"],
            [
                (
                    f' data-family="{escape(g.family)}"',
                    [g.family, g.weight, ", ".join(f"{n} {w:.3f}" for n, w in g.models)],
                )
                for g in e.families
            ],
            4,
            fixed=True,  # weights: a weight of 0.00018 had read 1.824e-04
        )
    body += "".join(_note(n) for n in f.notes)
    return _section("families", "Families", body)


def _blends(r: Report) -> str:
    if not r.blends:
        return _section("blends", "Blends", _note("No blends in this run (RUN_DIR/blends/ is empty)."))
    body = ""
    for b in r.blends:
        body += f"<h3>{escape(b.name)} <span class='small'>({escape(b.method)})</span></h3>\n"
        verdict = (
            "" if math.isnan(b.gap) else ": the in-sample score flatters the blend" if b.gap > 0 else ": no optimism"
        )
        body += (
            f"<p>CV {fmt(b.cv)} (weights fit on all rows), nested CV <b>{fmt(b.nested_cv)}</b>, "
            f"gap {fmt(b.gap)}{verdict}.</p>\n"
        )
        weights = b.weights if b.weights is not None else [None] * len(b.models)
        body += _table(
            f"blend-{b.name}-weights",
            ["model", "weight"],
            [("", [m, w]) for m, w in zip(b.models, weights, strict=True)],
            4,
            fixed=True,  # weights, not scores: 0.00018 had read 1.824e-04
        )
        if b.weights is not None:
            body += _img(plots.weights_bar(b), f"weights of blend {b.name}")
    return _section("blends", "Blends", body)


def _diversity(r: Report) -> str:
    c = r.correlation
    if c is None:
        return _section("diversity", "Diversity", _note("Fewer than two models with varying OOF predictions."))
    body = (
        "<p class='small'>Pearson correlation of the models' OOF predictions (positive-class probability for binary "
        "tasks, all class probabilities for multiclass). Low correlation between good models means useful diversity "
        "for a blend.</p>\n"
    )
    body += _table(
        "correlation-table",
        ["model", *c.names],
        [("", [n, *c.matrix[i]]) for i, n in enumerate(c.names)],
        3,
        fixed=True,
    )
    body += _img(
        plots.heatmap(c.matrix, c.names, c.names, "Correlation of OOF predictions"), "OOF correlation heat map"
    )
    pairs = c.pairs()
    if pairs:
        a, b, v = pairs[0]
        body += f"<p>Least correlated pair: <b>{escape(a)}</b> and <b>{escape(b)}</b> ({v:.3f}).</p>\n"
    return _section("diversity", "Diversity", body)


def _curves(r: Report) -> str:
    if not r.curves:
        return _section("learning-curves", "Learning curves", _note("No model recorded a learning curve."))
    kinds = r.meta.get("kinds", {})
    cards = []
    for name, curves in r.curves.items():
        is_net = any(k.startswith(("train_", "valid_")) for c in curves for k in c.series)
        what = "train (solid) vs validation (dashed) per epoch" if is_net else "validation metric per boosting round"
        title = f"{name} ({kinds.get(name, '?')})"
        caption = f"{what.capitalize()}; {len(curves)} fold(s); dotted lines: the iteration each fold kept."
        png = plots.learning_curves(curves, title, "epoch" if is_net else "boosting round")
        cards.append(f'<div data-model="{escape(name)}">{_img(png, f"learning curves of {name}", caption)}</div>')
    return _section("learning-curves", "Learning curves", _grid(cards))


def _importance(r: Report) -> str:
    if not r.importance:
        return _section("importance", "Feature importance", _note("No tree model with readable importance."))
    cards = []
    for name, imp in r.importance.items():
        rows = [("", [f, s, sd]) for f, s, sd in imp.top(20)]
        table = _table(f"importance-{name}", ["feature", "gain share", "std over folds"], rows, 4, fixed=True)
        cards.append(
            f'<div data-model="{escape(name)}"><h3>{escape(name)}</h3>{_img(plots.importance_bar(imp), name)}'
            f"<details><summary>the numbers</summary>{table}</details></div>"
        )
    return _section("importance", "Feature importance", _grid(cards))


def _grid(cards: list[str]) -> str:
    return '<div class="grid">' + "\n".join(cards) + "</div>\n"


def _errors(r: Report) -> str:
    e = r.errors
    if e is None:
        return _section("errors", "Error analysis", _note("Needs the competition data (see the summary's notes)."))
    classification = e.labels is not None
    what = "lowest probability given to the true class" if classification else f"largest {e.error_name}"
    body = f"<p>The {len(e.mistakes)} worst OOF predictions of <b>{escape(e.model)}</b> ({what}).</p>\n"
    if r.error_images is not None:
        captions = [f"true {m.true} / pred {m.predicted}" for m in e.mistakes]
        body += _img(plots.image_grid(r.error_images, captions), "worst mistakes as images", "Red: true / predicted.")
    headers = ["id", "true", "predicted", "p(true)" if classification else e.error_name]
    rows = [("", [m.id, m.true, m.predicted, m.p_true if classification else m.error]) for m in e.mistakes]
    body += _table("mistakes-table", headers, rows, 4)
    if r.error_rows is not None:
        frame = r.error_rows
        body += "<h3>The rows</h3>\n" + _table(
            "mistakes-rows", frame.columns, [("", list(row)) for row in frame.iter_rows()], 4
        )
    if e.confusion is not None and e.labels is not None:
        body += "<h3>Confusion matrix</h3>\n"
        body += _img(
            plots.heatmap(
                e.confusion.astype(float),
                e.labels,
                e.labels,
                f"Confusion matrix of {e.model} (OOF)",
                fmt=".0f",
                cmap="Blues",
                xlabel="predicted",
                ylabel="true",
            ),
            "confusion matrix",
        )
        body += _table(
            "confusion-table",
            ["true \\ predicted", *e.labels],
            [("", [lbl, *map(int, e.confusion[i])]) for i, lbl in enumerate(e.labels)],
        )
    return _section("errors", "Error analysis", body)


def _adversarial(r: Report) -> str:
    a = r.adversarial
    if a is None:
        return _section("adversarial", "Adversarial validation", _note("Not run (see the summary's notes)."))
    cls = "warning" if a.verdict != "none" else "ok"
    body = f'<p class="{cls}" id="adversarial-verdict" data-verdict="{a.verdict}">{escape(a.message)}</p>\n'
    body += f'<p>AUC <span id="adversarial-auc" data-value="{a.auc!r}">{a.auc:.4f}</span>; per fold: '
    body += ", ".join(f"{x:.3f}" for x in a.fold_aucs) + "</p>\n"
    body += _img(
        plots.adversarial_bar(a),
        "adversarial validation feature shares",
        "Red: the features that give the shift away (a large share of the gain and a significant train/test "
        "difference of their own). Distance: Kolmogorov-Smirnov statistic, or total variation for categories.",
    )
    flagged = {f.name for f in a.flagged}
    body += _table(
        "adversarial-table",
        ["feature", "gain share", "distance", "p-value", "train", "test", "gives the shift away"],
        [
            (
                "",
                [
                    f.name,
                    f.share,
                    f.distance,
                    Num(f.p_value, ".2g"),
                    f.train_summary,
                    f.test_summary,
                    f.name in flagged,
                ],
            )
            for f in a.features[:15]
        ],
        3,
    )
    return _section("adversarial", "Adversarial validation", body)


def _cv_vs_lb(r: Report) -> str:
    body = ""
    points = cv_lb_points(r)
    if points:
        body += _img(
            plots.cv_vs_lb(points, r.metric),
            "CV vs public LB",
            "Trust your CV: the points should rise together, along the dashed line.",
        )
        rho = cv_lb_agreement(points)
        if rho is not None:
            body += f"<p>Rank correlation of CV and public LB over {len(points)} submissions: {rho:+.2f}.</p>\n"
    else:
        body += _note(
            "No submission has a public leaderboard score yet: record one with `kaggle-kit lb add SUBMISSION SCORE`."
        )
    if r.submissions:
        body += _table(
            "submissions-table",
            ["submission", "source", "recorded", "CV", "public LB", "private LB", "file"],
            [
                ("", [f"#{s.id}", s.source, s.recorded_at[:19], s.cv, s.public_lb, s.private_lb, s.path])
                for s in r.submissions
            ],
        )
    return _section("cv-vs-lb", "CV vs leaderboard", body)


def render_html(r: Report) -> str:
    meta = r.meta
    name = str(meta.get("name") or r.run_dir.name)
    direction = "higher is better" if r.metric.greater_is_better else "lower is better"
    head = (
        f"<header><h1>CV report: {escape(name)}</h1>\n"
        f'<p class="meta">{escape(str(meta.get("task")))} &middot; {escape(r.metric.name)} ({direction}) &middot; '
        f"{meta.get('n_train', '?')} train / {meta.get('n_test', '?')} test rows &middot; run folder "
        f"<code>{escape(str(r.run_dir))}</code> &middot; kaggle_kit {escape(str(meta.get('kit_version', '?')))} "
        f"&middot; generated {escape(r.generated)} UTC</p></header>\n"
    )
    nav = "<nav>" + "".join(f'<a href="#{sid}">{escape(title)}</a>' for sid, title in SECTIONS) + "</nav>\n"
    sections = [
        _summary,
        _leaderboard,
        _families,
        _blends,
        _diversity,
        _curves,
        _importance,
        _errors,
        _adversarial,
        _cv_vs_lb,
    ]
    body = "".join(s(r) for s in sections)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>CV report: {escape(name)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{head}{nav}{body}</body>\n</html>\n"
    )
