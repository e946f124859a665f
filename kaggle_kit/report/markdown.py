"""Render a :class:`~.build.Report` as a short Markdown summary (no pictures): the leaderboard, the blends, the
verdict of adversarial validation, CV against the public leaderboard, and what was left out."""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..leaderboard import score_text
from .build import Report, cv_lb_agreement, cv_lb_points
from .html import NO_BEST, fmt

#: what Markdown reads as markup in a name (emphasis, code, links, HTML, a table's bar, GitHub's ``$`` math):
#: backslash-escaped
_MARKUP = re.compile(r"([\\`*\[\]<>|$])")


def _md(text: object) -> str:
    """``text`` (a name from a file: a blend written by hand names itself) shown as text in Markdown: its markup had
    been left raw (``<i>x</i>`` rendered, ``*c*`` emphasised); only a table's bar was escaped."""
    return _MARKUP.sub(r"\\\1", re.sub(r"\r\n|[\r\n]", " ", str(text)))  # a line break had ended a table's row


def _note(text: str) -> str:
    """A note as Markdown: HTML in the names it quotes escaped; its own ``code`` spans kept."""
    return re.sub(r"([<>])", r"\\\1", text)


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    def cell(v: object) -> str:
        return fmt(v) if isinstance(v, float) or v is None else _md(v)

    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def render_markdown(r: Report) -> str:
    name = str(r.meta.get("name") or r.run_dir.name)
    direction = "higher is better" if r.metric.greater_is_better else "lower is better"
    out = [
        f"# CV report: {name}\n",
        f"{r.meta.get('task')} · {r.metric.name} ({direction}) · {r.meta.get('n_train', '?')} train / "
        f"{r.meta.get('n_test', '?')} test rows · generated {r.generated} UTC\n",
    ]
    best = r.best
    if best is not None:
        out.append(
            f"**Best: {_md(best.name)}** — {best.score_name} {fmt(best.score)} "
            f"({fmt(best.mean)} ± {fmt(best.std)} over {len(best.fold_scores)} folds)\n"
        )
    else:
        out.append(f"**No best**: {NO_BEST}.\n")

    out.append("## Leaderboard\n")
    rows = []
    for i, e in enumerate(r.entries, 1):
        kind = e.label
        folds = " ".join(score_text(s, 4) for s in e.fold_scores)
        status = "ok" if e.status == "ok" else f"{e.status.upper()}: {(e.error or '').removeprefix(f'{e.status}: ')}"
        # seconds and rounds as the HTML shows them (as scores, they read 0.33300 and 60.00000)
        fit = f"{e.fit_seconds:.1f}" if e.fit_seconds is not None else None
        rounds = f"{e.best_iteration:.0f}" if e.best_iteration is not None else None
        rows.append([i, e.name, kind, e.cv, e.nested_cv, e.mean, e.std, folds, fit, rounds, status])
    headers = ["#", "name", "kind", f"CV {r.metric.name}", "nested CV", "mean", "std", "folds", "fit s"]
    out.append(_table([*headers, "best iter", "status"], rows))

    if r.families is not None and r.families.rows:
        f = r.families
        out.append("## Families\n")
        out.append(
            "Per model kind: fold mean (as the leaderboard ranks) of its finished models, fit time of all its folds, "
            "and its best model's fold means on its own training rows vs its validation rows (gap > 0: training rows "
            "score better).\n"
        )
        out.append(
            _table(
                ["family", "models", "best", "median", "IQR", "worst", "fit s", "share", "train", "valid", "gap"],
                [
                    [
                        x.family,
                        x.n_models,
                        x.best,
                        x.median,
                        x.iqr,
                        x.worst,
                        f"{x.fit_seconds:.1f}",
                        f"{100 * x.share:.0f}%",
                        x.train,
                        x.valid,
                        x.gap,
                    ]
                    for x in f.rows
                ],
            )
        )
        out += [f"- **{_md(x.family)}** ({_md(x.best_model)}): {_note(x.diagnosis.text)}\n" for x in f.rows]
        if f.ensemble is not None:
            e = f.ensemble
            out.append(f"\nEnsemble weights of **{_md(e.name)}** ({e.method}; nested CV {fmt(e.mean)}), by family:\n")
            out += [
                f"- {_md(g.family)} {g.weight:.3f}: " + ", ".join(f"{_md(n)} {w:.3f}" for n, w in g.models) + "\n"
                for g in e.families
            ]
        out.append("")

    if r.blends:
        out.append("## Blends\n")
        for b in r.blends:
            weights = ", ".join(
                f"{_md(m)} {w:.3f}" for m, w in zip(b.models, b.weights or [float("nan")] * len(b.models), strict=True)
            )
            out.append(
                f"- **{_md(b.name)}** ({_md(b.method)}): CV {fmt(b.cv)}, nested CV {fmt(b.nested_cv)}, "
                f"gap {fmt(b.gap)}; weights {weights}\n"
            )

    if r.correlation is not None and r.correlation.pairs():
        a, b, v = r.correlation.pairs()[0]
        out.append(f"\n## Diversity\n\nLeast correlated pair of OOF predictions: {_md(a)} and {_md(b)} ({v:.3f}).\n")

    if r.errors is not None:
        e = r.errors
        out.append(f"\n## Worst OOF mistakes of {_md(e.model)}\n")
        out.append(
            _table(
                ["id", "true", "predicted", "p(true)" if e.labels else e.error_name],
                [[m.id, m.true, m.predicted, m.p_true if e.labels else m.error] for m in e.mistakes],
            )
        )

    if r.adversarial is not None:
        a = r.adversarial
        out.append(f"\n## Adversarial validation\n\n{_note(a.message)}\n")  # it quotes column names
        if a.flagged:
            out.append(
                _table(["feature", "gain share", "distance"], [[f.name, f.share, f.distance] for f in a.flagged])
            )

    out.append("\n## CV vs public leaderboard\n")
    points = cv_lb_points(r)
    if points:
        out.append(_table(["submission", "CV", "public LB"], [[label, cv, lb] for label, cv, lb in points]))
        rho = cv_lb_agreement(points)
        if rho is not None:
            out.append(f"\nRank correlation of CV and public LB: {rho:+.2f}\n")
    else:
        out.append("No submission has a public leaderboard score yet (`kaggle-kit lb add SUBMISSION SCORE`).\n")

    if r.notes:
        out.append("\n## Left out\n")
        out += [f"- {_note(n)}\n" for n in r.notes]
    return "\n".join(out)
