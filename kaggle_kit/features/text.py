"""Free-text columns as features, fitted on the fold's training rows only (``[data] text = [...]`` or the step).

For each column the ``text`` step makes:

==========================  =============================================================================
``<col>__lin`` (``_<k>``)   a linear model on the word + character n-gram TF-IDF: logistic regression
                            (binary: P(positive); multiclass: one column per class) or ridge (regression).
                            The training rows get **out-of-fold** predictions from ``cv`` inner folds (the
                            inner models never saw the row, as ``target_encode`` does); validation and test
                            rows the model fitted on all training rows
``<col>__svd_<i>``          a truncated SVD of the TF-IDF (seeded), ``svd`` components
``<col>__chars`` ...        statistics: characters, words, mean word length, uppercase / digit /
                            punctuation fractions
==========================  =============================================================================

The raw column is dropped: a model never sees free text as a category. Missing text is the empty string. The TF-IDF
vocabulary and idf weights come from the training rows only (``min_df`` of them), so a word seen only in validation
or test rows has no weight. The fitted state is JSON: the vocabulary, and the idf weights, linear coefficients and
SVD components as base64 float32 arrays (never pickle).
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import polars as pl
import scipy.sparse as sp
from pydantic import Field, field_validator, model_validator

from .base import Roles, Step, StepContext, register, warn

#: the statistics made per column (suffixes after ``<col>__``)
STATS = ("chars", "words", "mean_word_len", "upper_frac", "digit_frac", "punct_frac")


def _pack(array: np.ndarray) -> dict[str, Any]:
    a = np.ascontiguousarray(array, dtype=np.float32)
    return {"shape": list(a.shape), "f32": base64.b64encode(a.tobytes()).decode("ascii")}


def _unpack(packed: dict[str, Any]) -> np.ndarray:
    return np.frombuffer(base64.b64decode(packed["f32"]), dtype=np.float32).reshape(packed["shape"])


def _texts(frame: pl.LazyFrame, column: str) -> list[str]:
    return frame.select(pl.col(column).cast(pl.String).fill_null("")).collect().to_series().to_list()


@register
class TextFeatures(Step):
    """Word and character n-gram TF-IDF of free-text ``columns``, feeding a linear model whose out-of-fold
    predictions, plus an SVD of the TF-IDF and simple statistics, become numeric columns; the text is dropped.

    ``word_ngrams`` / ``char_ngrams``: n-gram ranges (``char_ngrams = [0, 0]`` turns characters off, same for words);
    ``max_features``: vocabulary size per analyzer (the most frequent n-grams); ``min_df``: the fewest training rows
    an n-gram must appear in; ``alpha``: the linear model's L2 strength (ridge ``alpha``, logistic ``C = 1/alpha``);
    ``cv``: inner folds for the out-of-fold predictions; ``svd``: components (0: none); ``linear`` / ``stats``: turn
    those outputs off."""

    kind = "text"
    columns: list[str]
    word_ngrams: tuple[int, int] = (1, 2)
    char_ngrams: tuple[int, int] = (2, 4)
    max_features: int = Field(default=10_000, ge=1)
    min_df: int = Field(default=2, ge=1)
    lowercase: bool = True
    linear: bool = True
    alpha: float = Field(default=1.0, gt=0)
    cv: int = Field(default=5, ge=2, le=100)
    svd: int = Field(default=16, ge=0, le=1000)
    stats: bool = True

    @field_validator("columns", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if isinstance(value, str):
            raise ValueError(f"must be a list of text column names; got {value!r} (write [{value!r}])")
        if isinstance(value, (list, tuple)):
            if not value:
                raise ValueError("must name at least one text column")
            dupes = sorted({v for v in value if list(value).count(v) > 1})
            if dupes:
                raise ValueError(f"lists {dupes[0]!r} more than once")
        return value

    @field_validator("word_ngrams", "char_ngrams")
    @classmethod
    def _range(cls, value: tuple[int, int]) -> tuple[int, int]:
        lo, hi = value
        if (lo, hi) != (0, 0) and not 1 <= lo <= hi <= 10:
            raise ValueError(f"must be [low, high] with 1 <= low <= high <= 10, or [0, 0] for none; got {list(value)}")
        return value

    @model_validator(mode="after")
    def _something(self) -> TextFeatures:
        if self.word_ngrams == (0, 0) and self.char_ngrams == (0, 0) and (self.linear or self.svd):
            raise ValueError("word_ngrams and char_ngrams are both [0, 0]: the linear model and the SVD need one")
        return self

    # ------------------------------------------------------------------ names
    def _outputs(self, column: str, n_out: int) -> list[str]:
        names = []
        if self.linear:
            names += [f"{column}__lin"] if n_out == 1 else [f"{column}__lin_{k}" for k in range(n_out)]
        names += [f"{column}__svd_{i}" for i in range(self.svd)]
        if self.stats:
            names += [f"{column}__{s}" for s in STATS]
        return names

    def _analyzers(self) -> list[tuple[str, tuple[int, int]]]:
        return [(a, r) for a, r in (("word", self.word_ngrams), ("char_wb", self.char_ngrams)) if r != (0, 0)]

    # ------------------------------------------------------------------ TF-IDF
    def _fit_tfidf(self, texts: list[str], column: str) -> tuple[list[dict[str, Any]], sp.csr_matrix]:
        """The fitted vocabulary and idf per analyzer, and the training rows' TF-IDF (each text analysed once)."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        fitted, blocks = [], []
        for analyzer, ngrams in self._analyzers():
            vec = TfidfVectorizer(
                analyzer=analyzer,
                ngram_range=ngrams,
                max_features=self.max_features,
                min_df=self.min_df,
                lowercase=self.lowercase,
                sublinear_tf=True,
                dtype=np.float32,
            )
            try:
                blocks.append(vec.fit_transform(texts))
            except ValueError:  # no n-gram in min_df training rows: nothing to weigh
                warn(f"column {column!r}: no {analyzer} n-gram appears in {self.min_df}+ training rows; none are used")
                continue
            terms = vec.get_feature_names_out().tolist()
            fitted.append({"analyzer": analyzer, "ngrams": list(ngrams), "terms": terms, "idf": _pack(vec.idf_)})
        return fitted, _stack(blocks, len(texts))

    def _tfidf(self, texts: list[str], fitted: list[dict[str, Any]]) -> sp.csr_matrix:
        """TF-IDF as scikit-learn's ``TfidfVectorizer(sublinear_tf=True)`` computes it, from the stored vocabulary
        and idf weights: counts, ``1 + log(tf)``, times idf, rows scaled to unit L2 norm (per analyzer)."""
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.preprocessing import normalize

        if not texts:  # no rows (an empty test file): scikit-learn's normalize refuses 0 samples
            return sp.csr_matrix((0, sum(len(part["terms"]) for part in fitted)), dtype=np.float32)
        blocks = []
        for part in fitted:
            counts = CountVectorizer(
                analyzer=part["analyzer"],
                ngram_range=tuple(part["ngrams"]),
                lowercase=self.lowercase,
                vocabulary=part["terms"],
                dtype=np.float32,
            ).transform(texts)
            counts = counts.tocsr().astype(np.float32)
            counts.data = np.log(counts.data) + 1.0
            counts = counts @ sp.diags(_unpack(part["idf"]))
            blocks.append(normalize(counts, norm="l2", copy=False))
        return _stack(blocks, len(texts))

    # ------------------------------------------------------------------ linear model
    def _fit_linear(self, X: sp.csr_matrix, y: np.ndarray, ctx: StepContext, n_out: int) -> dict[str, Any]:
        """Coefficients ``(F, n_out)`` and intercepts of the linear model on rows ``X``; a constant (the mean) when
        the rows hold one class only or no n-gram."""
        from sklearn.linear_model import LogisticRegression, Ridge

        coef = np.zeros((X.shape[1], n_out), dtype=np.float64)
        if ctx.task == "regression":
            if X.shape[1] == 0:
                return {"kind": "ridge", "coef": coef, "intercept": np.array([y.mean()])}
            model = Ridge(alpha=self.alpha, solver="sparse_cg", random_state=ctx.seed).fit(X, y)
            return {"kind": "ridge", "coef": model.coef_.reshape(-1, 1), "intercept": np.atleast_1d(model.intercept_)}
        classes = np.unique(y)
        n_classes = max(ctx.n_classes, 2)
        if len(classes) < 2 or X.shape[1] == 0:  # one class (or no n-gram): the class frequencies, as log-odds
            freq = np.clip(np.bincount(y, minlength=n_classes) / len(y), 1e-6, 1 - 1e-6)
            logit = np.log(freq) if n_out > 1 else np.log(freq[1:2] / (1 - freq[1:2]))
            return {"kind": "logistic", "coef": coef, "intercept": logit}
        model = LogisticRegression(C=1.0 / self.alpha, max_iter=1000, random_state=ctx.seed).fit(X, y)
        if n_out == 1:
            return {"kind": "logistic", "coef": model.coef_.T, "intercept": model.intercept_}
        # classes absent from these rows: log-odds far below the others (probability ~0)
        full_coef, full_int = coef, np.full(n_out, -30.0)
        full_coef[:, model.classes_] = model.coef_.T
        full_int[model.classes_] = model.intercept_
        return {"kind": "logistic", "coef": full_coef, "intercept": full_int}

    @staticmethod
    def _predict_linear(X: sp.csr_matrix, fitted: dict[str, Any]) -> np.ndarray:
        z = np.asarray(X @ fitted["coef"], dtype=np.float64) + fitted["intercept"]
        if fitted["kind"] == "ridge":
            return z
        if z.shape[1] == 1:
            return 1.0 / (1.0 + np.exp(-z))
        z = z - z.max(axis=1, keepdims=True)
        e = np.exp(z)
        return e / e.sum(axis=1, keepdims=True)

    # ------------------------------------------------------------------ SVD
    def _fit_svd(self, X: sp.csr_matrix, seed: int) -> np.ndarray:
        """Components ``(svd, F)``; rows beyond what the vocabulary allows are zeros (the columns stay, as 0)."""
        from sklearn.decomposition import TruncatedSVD

        components = np.zeros((self.svd, X.shape[1]), dtype=np.float32)
        k = min(self.svd, X.shape[1] - 1, X.shape[0] - 1)
        if k >= 1:
            # every training text alike (no variance): scikit-learn's explained-variance ratio divides 0 by 0 and
            # numpy's "invalid value encountered in divide" reached the user; the components are what is used
            with np.errstate(invalid="ignore", divide="ignore"):
                svd = TruncatedSVD(n_components=k, algorithm="randomized", n_iter=5, random_state=seed).fit(X)
            components[:k] = svd.components_
        return components

    # ------------------------------------------------------------------ the step
    def _n_out(self, ctx: StepContext) -> int:
        return ctx.n_classes if ctx.task == "multiclass" else 1

    def fit(self, frame: pl.LazyFrame, ctx: StepContext) -> dict[str, Any]:
        return self.fit_transform(frame, ctx)[1]

    def fit_transform(self, frame: pl.LazyFrame, ctx: StepContext) -> tuple[pl.LazyFrame, dict[str, Any]]:
        schema = frame.collect_schema()
        cols = ctx.resolve(self.columns, schema)
        y = ctx.target(self.kind) if self.linear else None
        n_out = self._n_out(ctx) if self.linear else 1
        ctx.new_names([o for c in cols for o in self._outputs(c, n_out)], schema)
        folds = ctx.inner_folds(self.cv) if self.linear else None
        per_column: dict[str, Any] = {}
        outputs: dict[str, np.ndarray] = {}
        for c in cols:
            texts = _texts(frame, c)
            tfidf, X = self._fit_tfidf(texts, c) if self.linear or self.svd else ([], _stack([], len(texts)))
            entry: dict[str, Any] = {"tfidf": tfidf}
            parts = []
            if self.linear:
                assert y is not None and folds is not None
                oof = np.zeros((len(texts), n_out))
                for f in range(self.cv):  # each training row predicted by a model fitted without it
                    inner = folds != f
                    oof[~inner] = self._predict_linear(X[~inner], self._fit_linear(X[inner], y[inner], ctx, n_out))
                full = self._fit_linear(X, y, ctx, n_out)
                entry["linear"] = {
                    "kind": full["kind"],
                    "coef": _pack(full["coef"]),
                    "intercept": [float(v) for v in np.atleast_1d(full["intercept"])],
                }
                parts.append(oof)
            if self.svd:
                components = self._fit_svd(X, ctx.seed)
                entry["svd"] = _pack(components)
                parts.append(np.asarray(X @ components.T))
            per_column[c] = entry
            if parts:
                block = np.hstack(parts)
                names = [n for n in self._outputs(c, n_out) if n.removeprefix(f"{c}__") not in STATS]
                outputs.update({n: block[:, i] for i, n in enumerate(names)})
        state = {
            "columns": cols,
            "n_out": n_out,
            "fitted": per_column,
            "outputs": {c: self._outputs(c, n_out) for c in cols},
        }
        learned = pl.DataFrame({n: v.astype(np.float64) for n, v in outputs.items()}).lazy() if outputs else None
        return self._finish(frame, cols, learned), state

    def transform(self, frame: pl.LazyFrame, state: dict[str, Any]) -> pl.LazyFrame:
        cols = state["columns"]
        outputs: dict[str, np.ndarray] = {}
        for c in cols:
            entry = state["fitted"][c]
            texts = _texts(frame, c)
            X = self._tfidf(texts, entry["tfidf"])
            parts = []
            if "linear" in entry:
                lin = entry["linear"]
                fitted = {"kind": lin["kind"], "coef": _unpack(lin["coef"]), "intercept": np.array(lin["intercept"])}
                parts.append(self._predict_linear(X, fitted))
            if "svd" in entry:
                parts.append(np.asarray(X @ _unpack(entry["svd"]).T))
            if parts:
                block = np.hstack(parts)
                names = [n for n in state["outputs"][c] if n.removeprefix(f"{c}__") not in STATS]
                outputs.update({n: block[:, i] for i, n in enumerate(names)})
        learned = pl.DataFrame({n: v.astype(np.float64) for n, v in outputs.items()}).lazy() if outputs else None
        return self._finish(frame, cols, learned)

    def _finish(self, frame: pl.LazyFrame, cols: list[str], learned: pl.LazyFrame | None) -> pl.LazyFrame:
        """The learned columns and the statistics beside the frame, the text columns dropped."""
        if learned is not None:  # a column already named as an output (rows transformed twice) is replaced
            stale = set(learned.collect_schema()) & set(frame.collect_schema())
            out = pl.concat([frame.drop(stale), learned], how="horizontal")
        else:
            out = frame
        if self.stats:
            out = out.with_columns(e for c in cols for e in _statistics(c))
        return out.drop(cols)

    def update_roles(self, state: dict[str, Any], roles: Roles) -> None:
        roles.remove(state["columns"])
        for c in state["columns"]:
            roles.add(state["outputs"][c])


def _stack(blocks: list[sp.spmatrix], n_rows: int) -> sp.csr_matrix:
    if not blocks:
        return sp.csr_matrix((n_rows, 0), dtype=np.float32)
    return sp.hstack(blocks, format="csr", dtype=np.float32)


def _statistics(column: str) -> list[pl.Expr]:
    text = pl.col(column).cast(pl.String).fill_null("")
    chars = text.str.len_chars().cast(pl.Float64)
    words = text.str.count_matches(r"\S+").cast(pl.Float64)
    letters = text.str.count_matches(r"\p{L}").cast(pl.Float64)

    def frac(count: pl.Expr, of: pl.Expr) -> pl.Expr:
        return pl.when(of > 0).then(count.cast(pl.Float64) / of).otherwise(0.0)

    return [
        chars.alias(f"{column}__chars"),
        words.alias(f"{column}__words"),
        frac(text.str.count_matches(r"\S"), words).alias(f"{column}__mean_word_len"),
        frac(text.str.count_matches(r"\p{Lu}"), letters).alias(f"{column}__upper_frac"),
        frac(text.str.count_matches(r"\d"), chars).alias(f"{column}__digit_frac"),
        frac(text.str.count_matches(r"[\p{P}\p{S}]"), chars).alias(f"{column}__punct_frac"),
    ]
