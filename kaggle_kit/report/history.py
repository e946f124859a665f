"""Run history in an embedded SQLite database (standard library ``sqlite3``): every run, model, fold score, blend and
submission, with the spec's hash and the code version, plus the public leaderboard score each submission got.

One database serves all the runs under a runs root: ``runs/history.sqlite`` (see :func:`history_path`). Every
``kaggle-kit run`` adds a run record (a rerun of the same spec is a new record with the same config hash), every
submission file written is recorded with its SHA-256, and ``kaggle-kit lb add SUBMISSION SCORE`` finds the
submission by its file (or id) and stores the score, so the report can plot CV against the public leaderboard.

Example::

    from kaggle_kit.report.history import add_lb_score, format_history, record_run, record_submission
    run_id = record_run("runs/titanic")
    sub = record_submission("runs/titanic", "lgbm", "runs/titanic/submissions/lgbm.csv")
    add_lb_score("runs/titanic/submissions/lgbm.csv", 0.7751, db="runs/history.sqlite")
    print(format_history("runs/history.sqlite"))
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from ..errors import StoreError, allowed, did_you_mean
from ..leaderboard import score_text
from ..runtime.store import check_writable
from .entries import Entry
from .records import RunSnapshot, snapshot

DB_NAME = "history.sqlite"
SCHEMA_VERSION = 2  # 2: blends.submittable
#: seconds a write waits for another process's lock on the database (two commands finishing at once)
LOCK_TIMEOUT = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    recorded_at TEXT NOT NULL,
    competition TEXT NOT NULL,
    run_dir TEXT NOT NULL,
    task TEXT NOT NULL,
    metric TEXT NOT NULL,
    greater_is_better INTEGER NOT NULL,
    config_hash TEXT,
    kit_version TEXT,
    code_version TEXT,
    data_fingerprint TEXT,
    folds_fingerprint TEXT,
    n_train INTEGER,
    n_test INTEGER
);
CREATE TABLE IF NOT EXISTS models (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    status TEXT NOT NULL,
    error TEXT,
    cv REAL,
    cv_mean REAL,
    cv_std REAL,
    fit_seconds REAL,
    best_iteration REAL,
    UNIQUE (run_id, name)
);
CREATE TABLE IF NOT EXISTS fold_scores (
    model_id INTEGER NOT NULL REFERENCES models(id) ON DELETE CASCADE,
    fold INTEGER NOT NULL,
    score REAL,
    PRIMARY KEY (model_id, fold)
);
CREATE TABLE IF NOT EXISTS blends (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    method TEXT NOT NULL,
    models TEXT NOT NULL,
    weights TEXT,
    cv REAL,
    nested_cv REAL,
    nested_fold_scores TEXT NOT NULL,
    gap REAL,
    submittable INTEGER,
    UNIQUE (run_id, name)
);
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
    competition TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    source TEXT NOT NULL,
    path TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    cv REAL,
    public_lb REAL,
    private_lb REAL,
    lb_recorded_at TEXT,
    UNIQUE (competition, sha256)
);
CREATE INDEX IF NOT EXISTS runs_by_dir ON runs (run_dir);
"""
#: the tables of the schema, each created on open where it is missing
_TABLES = frozenset(re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)", _SCHEMA))


@dataclass(frozen=True)
class RunRecord:
    """One recorded run, as ``kaggle-kit history`` lists it."""

    id: int
    recorded_at: str
    competition: str
    run_dir: str
    task: str
    metric: str
    greater_is_better: bool
    config_hash: str | None
    kit_version: str | None
    code_version: str | None
    data_fingerprint: str | None
    n_models: int
    best: str | None  # the best model or blend (not the baseline), by fold mean as the report ranks
    # its CV (nested CV for a blend)
    best_cv: float | None


@dataclass(frozen=True)
class ModelRecord:
    run_id: int
    name: str
    kind: str
    status: str
    cv: float | None
    cv_mean: float | None
    cv_std: float | None
    fit_seconds: float | None
    best_iteration: float | None
    fold_scores: tuple[float, ...]


@dataclass(frozen=True)
class BlendRecord:
    run_id: int
    name: str
    method: str
    models: tuple[str, ...]
    weights: tuple[float, ...] | None
    cv: float | None
    nested_cv: float | None
    nested_fold_scores: tuple[float, ...]
    gap: float | None
    submittable: bool = True  # False: no test predictions, never the run's best (unknown in older records: True)


@dataclass(frozen=True)
class SubmissionRecord:
    """A submission file and, once recorded, the leaderboard scores it got."""

    id: int
    run_id: int
    competition: str
    recorded_at: str
    source: str  # the model or blend whose test predictions it holds
    path: str
    sha256: str
    cv: float | None  # the source's CV (nested CV for a blend) when the file was written
    public_lb: float | None
    private_lb: float | None
    lb_recorded_at: str | None


def history_path(runs_root: Path | str) -> Path:
    """The history database of the runs under ``runs_root``."""
    return Path(runs_root) / DB_NAME


def default_db(run_dir: Path | str) -> Path:
    """The history database a run folder records into: ``<runs root>/history.sqlite`` beside the run folder."""
    return history_path(Path(run_dir).resolve().parent)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _real(value: float | None) -> float | None:
    """SQLite stores NaN as NULL; say so explicitly."""
    return None if value is None or math.isnan(value) else float(value)


def file_sha256(path: Path | str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class History:
    """The history database; opens (and creates) it on construction. Use as a context manager to close it."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.conn = sqlite3.connect(self.path, timeout=LOCK_TIMEOUT)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open the history database {str(self.path)!r}: {exc}") from None
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA foreign_keys = ON")
        try:
            version = self.conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"the history database {str(self.path)!r} was written by a newer kaggle_kit (schema {version}); "
                    "upgrade kaggle_kit"
                )
            tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            # a new or older database, or one without a table of this schema: its tables; one that has them is only
            # read (it may be a read-only file, which `kaggle-kit history` lists)
            if version < SCHEMA_VERSION or not _TABLES.issubset(tables):
                with self._tx():
                    self.conn.executescript(_SCHEMA)
                    _add_submittable(self.conn)
                    self.conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except StoreError:
            self.conn.close()
            raise
        except sqlite3.OperationalError as exc:
            self.conn.close()
            if "locked" in str(exc) or "busy" in str(exc):  # not the file's fault: another process holds it
                raise self._cannot_write(exc) from None
            raise StoreError(f"{str(self.path)!r} is not a usable history database ({exc})") from None
        except sqlite3.DatabaseError as exc:
            self.conn.close()
            raise StoreError(f"{str(self.path)!r} is not a usable history database ({exc})") from None

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """A transaction; a database file that cannot be written (read-only, as a run folder's history copied from
        a Kaggle dataset keeps its mode) is a :class:`StoreError` saying so, not sqlite's "attempt to write a
        readonly database"."""
        try:
            with self.conn:
                yield self.conn
        except sqlite3.OperationalError as exc:
            raise self._cannot_write(exc) from None

    def _cannot_write(self, exc: sqlite3.Error) -> StoreError:
        """sqlite's error on a write, as what stands in the way and the fix."""
        text = str(exc)
        if "readonly" in text or "read-only" in text:
            fix = (
                f"the file is read-only ({exc}); make it writable (chmod u+w {str(self.path)!r}), or move it away to "
                "start a new history there"
            )
        elif "locked" in text or "busy" in text:  # another command held it past the timeout
            fix = (
                f"another process kept it locked for {LOCK_TIMEOUT:g} s ({exc}): a kaggle-kit command writing the "
                "same runs root, or a program that holds it open (a database browser); close it and run the command "
                "again"
            )
        else:  # a full disk, an I/O error: sqlite's reason
            fix = f"{exc}; free some space, or move the file away to start a new history there"
        return StoreError(f"cannot write the run history {str(self.path)!r}: {fix}")

    # ------------------------------------------------------------------------------------------ writing
    def record_run(self, snap: RunSnapshot) -> int:
        """Add a run record with its models, fold scores and blends; returns its id."""
        with self._tx() as c:
            run_id = c.execute(
                "INSERT INTO runs (recorded_at, competition, run_dir, task, metric, greater_is_better, config_hash, "
                "kit_version, code_version, data_fingerprint, folds_fingerprint, n_train, n_test) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _now(),
                    snap.competition,
                    str(snap.run_dir),
                    snap.task,
                    snap.metric,
                    int(snap.greater_is_better),
                    snap.config_hash,
                    snap.kit_version,
                    snap.code_version,
                    snap.data_fingerprint,
                    snap.folds_fingerprint,
                    snap.n_train,
                    snap.n_test,
                ),
            ).lastrowid
            for m in snap.models:
                model_id = c.execute(
                    "INSERT INTO models (run_id, name, kind, key, status, error, cv, cv_mean, cv_std, fit_seconds, "
                    "best_iteration) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        m.name,
                        m.kind,
                        m.key,
                        m.status,
                        m.error,
                        _real(m.cv),
                        _real(m.mean),
                        _real(m.std),
                        m.fit_seconds,
                        m.best_iteration,
                    ),
                ).lastrowid
                c.executemany(
                    "INSERT INTO fold_scores (model_id, fold, score) VALUES (?, ?, ?)",
                    [(model_id, i, _real(s)) for i, s in enumerate(m.fold_scores)],
                )
            for b in snap.blends:
                c.execute(
                    "INSERT INTO blends (run_id, name, method, models, weights, cv, nested_cv, nested_fold_scores, "
                    "gap, submittable) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        run_id,
                        b.name,
                        b.method,
                        json.dumps(list(b.models)),
                        json.dumps(list(b.weights)) if b.weights is not None else None,
                        _real(b.cv),
                        _real(b.nested_cv),
                        json.dumps(list(b.nested_fold_scores)),
                        _real(b.gap),
                        int(b.name not in snap.untested),
                    ),
                )
        assert run_id is not None
        return int(run_id)

    def latest_run_id(self, run_dir: Path | str) -> int | None:
        row = self.conn.execute(
            "SELECT id FROM runs WHERE run_dir = ? ORDER BY id DESC LIMIT 1", (str(Path(run_dir).resolve()),)
        ).fetchone()
        return int(row["id"]) if row else None

    def record_submission(self, run_id: int, source: str, path: Path | str, cv: float | None) -> SubmissionRecord:
        """Record a submission file of run ``run_id``; the same file content recorded again is the same submission."""
        path = Path(path).resolve()
        if not path.is_file():
            raise StoreError(f"the submission file {str(path)!r} does not exist")
        sha = file_sha256(path)
        run = self.conn.execute("SELECT competition FROM runs WHERE id = ?", (run_id,)).fetchone()
        if run is None:
            raise StoreError(f"no run with id {run_id} in the history database {str(self.path)!r}")
        with self._tx() as c:
            c.execute(
                "INSERT INTO submissions (run_id, competition, recorded_at, source, path, sha256, cv) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (competition, sha256) DO NOTHING",
                (run_id, run["competition"], _now(), source, str(path), sha, _real(cv)),
            )
        row = self.conn.execute(
            "SELECT * FROM submissions WHERE competition = ? AND sha256 = ?", (run["competition"], sha)
        ).fetchone()
        return _submission(row)

    def find_submission(self, submission: Path | str | int) -> SubmissionRecord:
        """A recorded submission by its file (matched by content, then by path) or by its id."""
        text = str(submission)
        path = Path(text).expanduser()
        rows: list[sqlite3.Row] = []
        if path.is_file():
            rows = self.conn.execute(
                "SELECT * FROM submissions WHERE sha256 = ? ORDER BY id DESC", (file_sha256(path),)
            ).fetchall()
        if not rows:
            rows = self.conn.execute(
                "SELECT * FROM submissions WHERE path = ? ORDER BY id DESC", (str(path.resolve()),)
            ).fetchall()
        if not rows and text.isdigit():
            rows = self.conn.execute("SELECT * FROM submissions WHERE id = ?", (int(text),)).fetchall()
        if not rows:
            recent = self.conn.execute("SELECT id, path FROM submissions ORDER BY id DESC LIMIT 5").fetchall()
            listing = "; ".join(f"{r['id']}: {r['path']}" for r in recent) or "none yet"
            raise StoreError(
                f"no recorded submission matches {text!r} in {str(self.path)!r} (recent: {listing}); pass a "
                "submission file written by `kaggle-kit submit` or its id from `kaggle-kit history --submissions`"
            )
        return _submission(rows[0])

    def add_lb_score(
        self, submission: Path | str | int, public: float, private: float | None = None
    ) -> SubmissionRecord:
        """Store the leaderboard score(s) a submission got; a later call replaces them."""
        if not math.isfinite(public) or (private is not None and not math.isfinite(private)):
            raise StoreError(f"a leaderboard score must be a finite number; got {public!r}")
        sub = self.find_submission(submission)
        with self._tx() as c:
            c.execute(
                "UPDATE submissions SET public_lb = ?, private_lb = COALESCE(?, private_lb), lb_recorded_at = ? "
                "WHERE id = ?",
                (float(public), private, _now(), sub.id),
            )
        return self.find_submission(sub.id)

    # ------------------------------------------------------------------------------------------ reading
    def runs(self, competition: str | None = None, limit: int | None = None) -> list[RunRecord]:
        """Recorded runs, newest first."""
        sql = "SELECT * FROM runs" + (" WHERE competition = ?" if competition else "") + " ORDER BY id DESC"
        params: tuple[object, ...] = (competition,) if competition else ()
        if limit:
            sql += " LIMIT ?"
            params = (*params, limit)
        out = []
        for r in self.conn.execute(sql, params).fetchall():
            entries = [Entry(m.name, m.kind, _nan(m.cv), m.fold_scores, status=m.status) for m in self.models(r["id"])]
            entries += [
                Entry(
                    b.name,
                    "blend",
                    _nan(b.cv),
                    b.nested_fold_scores,
                    nested_cv=_nan(b.nested_cv),
                    method=b.method,
                    submittable=b.submittable,
                )
                for b in self.blends(r["id"])
            ]
            best = _best(entries, bool(r["greater_is_better"]))
            out.append(
                RunRecord(
                    id=r["id"],
                    recorded_at=r["recorded_at"],
                    competition=r["competition"],
                    run_dir=r["run_dir"],
                    task=r["task"],
                    metric=r["metric"],
                    greater_is_better=bool(r["greater_is_better"]),
                    config_hash=r["config_hash"],
                    kit_version=r["kit_version"],
                    code_version=r["code_version"],
                    data_fingerprint=r["data_fingerprint"],
                    n_models=len(entries),
                    best=best.name if best else None,
                    best_cv=best.score if best else None,
                )
            )
        return out

    def models(self, run_id: int) -> list[ModelRecord]:
        out = []
        for m in self.conn.execute("SELECT * FROM models WHERE run_id = ? ORDER BY id", (run_id,)).fetchall():
            scores = self.conn.execute(
                "SELECT score FROM fold_scores WHERE model_id = ? ORDER BY fold", (m["id"],)
            ).fetchall()
            out.append(
                ModelRecord(
                    run_id,
                    m["name"],
                    m["kind"],
                    m["status"],
                    m["cv"],
                    m["cv_mean"],
                    m["cv_std"],
                    m["fit_seconds"],
                    m["best_iteration"],
                    tuple(_nan(s["score"]) for s in scores),
                )
            )
        return out

    def blends(self, run_id: int) -> list[BlendRecord]:
        rows = self.conn.execute("SELECT * FROM blends WHERE run_id = ? ORDER BY id", (run_id,)).fetchall()
        return [
            BlendRecord(
                run_id,
                b["name"],
                b["method"],
                tuple(json.loads(b["models"])),
                tuple(json.loads(b["weights"])) if b["weights"] else None,
                b["cv"],
                b["nested_cv"],
                tuple(json.loads(b["nested_fold_scores"])),
                b["gap"],
                b["submittable"] != 0,
            )
            for b in rows
        ]

    def run_metrics(self) -> dict[int, str]:
        """The metric each recorded run was scored by, by run id: a submission's CV is in its run's metric."""
        return {r["id"]: r["metric"] for r in self.conn.execute("SELECT id, metric FROM runs").fetchall()}

    def submissions(self, competition: str | None = None) -> list[SubmissionRecord]:
        """Recorded submissions, oldest first."""
        sql = "SELECT * FROM submissions" + (" WHERE competition = ?" if competition else "") + " ORDER BY id"
        return [_submission(r) for r in self.conn.execute(sql, (competition,) if competition else ()).fetchall()]


def _nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _best(entries: list[Entry], greater_is_better: bool) -> Entry | None:
    # as the report names its best: by the mean of its fold scores (it had been by CV, so the history could name
    # another best than the report and `submit --best`), never what `submit --best` cannot submit (a blend without
    # test predictions)
    scored = [
        e for e in entries if e.status == "ok" and not e.is_baseline and e.submittable and not math.isnan(e.rank_score)
    ]
    if not scored:
        return None
    return max(scored, key=lambda e: e.rank_score if greater_is_better else -e.rank_score)


def _add_submittable(conn: sqlite3.Connection) -> None:
    """A history written before blends recorded ``submittable`` gets the column (its records NULL: unknown, counted
    as submittable), on its way from schema 1 to 2."""
    if "submittable" not in {row[1] for row in conn.execute("PRAGMA table_info(blends)")}:
        conn.execute("ALTER TABLE blends ADD COLUMN submittable INTEGER")


def _submission(row: sqlite3.Row) -> SubmissionRecord:
    return SubmissionRecord(**{k: row[k] for k in row.keys()})  # noqa: SIM118 (a Row iterates values)


# ---------------------------------------------------------------------------------------------- plain functions
def record_run(run_dir: Path | str, *, db: Path | str | None = None, code_dir: Path | str | None = None) -> int:
    """Record the run folder's current state (models, fold scores, blends) in the history; returns the run's id.

    Call it after every ``kaggle-kit run`` (and after a blend): each call is a new record.
    """
    with History(db or default_db(run_dir)) as h:
        return h.record_run(snapshot(run_dir, code_dir=code_dir))


def record_submission(
    run_dir: Path | str, source: str, path: Path | str, *, db: Path | str | None = None
) -> SubmissionRecord:
    """Record a submission file written from ``source`` (a model or blend of the run); records the run first if the
    history has no record of it yet. A history that cannot be written (a run folder mounted read-only, as a Kaggle
    dataset: the history is beside it) is a :class:`StoreError` before it is opened (sqlite's own errors came later,
    or not as a StoreError)."""
    snap = snapshot(run_dir)
    db = Path(db) if db is not None else default_db(run_dir)
    check_writable(db.parent, "the run history", "a submission is recorded beside its run folder")
    with History(db) as h:
        run_id = h.latest_run_id(run_dir) or h.record_run(snap)
        return h.record_submission(run_id, source, path, _source_cv(snap, source))


def _source_cv(snap: RunSnapshot, source: str) -> float | None:
    for m in snap.models:
        if m.name == source:
            return Entry.from_model(m).score
    for b in snap.blends:
        if b.name == source:
            return Entry.from_blend(b).score
    return None


def add_lb_score(
    submission: Path | str | int, score: float, *, db: Path | str, private: float | None = None
) -> SubmissionRecord:
    """Record the public (and optionally private) leaderboard score a submission got (``kaggle-kit lb add``)."""
    if not Path(db).is_file():  # History() would make it (and its folder): an empty history, then "no match"
        raise StoreError(
            f"no run history at {str(db)!r}: `kaggle-kit submit` records a submission in the history of its run "
            "folder's runs root; pass that runs root with --runs-root DIR (db= in Python)"
        )
    with History(db) as h:
        return h.add_lb_score(submission, score, private)


def _other_competitions(h: History, competition: str) -> str:
    """`` for 'x'``, and the competitions the history has (a typo said only "no runs recorded for 'titanc'")."""
    known = sorted({r["competition"] for r in h.conn.execute("SELECT DISTINCT competition FROM runs").fetchall()})
    if not known:
        return f" for {competition!r}"
    return f" for {competition!r}; the history has {allowed(known)}.{did_you_mean(competition, known)}"


def _num(value: float | None) -> str:
    return "-" if value is None or math.isnan(value) else score_text(value)


def format_history(db: Path | str, *, competition: str | None = None, limit: int | None = 50) -> str:
    """The recorded runs, newest first, as a terminal table (``kaggle-kit history``)."""
    if not Path(db).is_file():
        return f"no run history yet ({db} does not exist); `kaggle-kit run` records every run"
    with History(db) as h:
        runs = h.runs(competition, limit)
        if not runs:
            return "no runs recorded" + (_other_competitions(h, competition) if competition else "")
    header = (
        f"{'id':>4}  {'recorded (UTC)':<20} {'competition':<22} {'metric':<9} {'best':<16} {'best CV':>10} "
        f"{'models':>6}  {'config':<16} {'code':<16} kit"
    )
    lines = [header, "-" * len(header)]
    for r in runs:
        lines.append(
            f"{r.id:>4}  {r.recorded_at[:19]:<20} {r.competition[:22]:<22} {r.metric:<9} {(r.best or '-')[:16]:<16} "
            f"{_num(r.best_cv):>10} {r.n_models:>6}  {r.config_hash or '-':<16} {r.code_version or '-':<16} "
            f"{r.kit_version or '-'}"
        )
    return "\n".join(lines)


def format_submissions(db: Path | str, *, competition: str | None = None) -> str:
    """The recorded submissions with their CV and leaderboard scores (``kaggle-kit history --submissions``)."""
    if not Path(db).is_file():
        return f"no run history yet ({db} does not exist)"
    with History(db) as h:
        subs = h.submissions(competition)
        if not subs:
            return "no submissions recorded" + (_other_competitions(h, competition) if competition else "")
        metrics = h.run_metrics()
    # the CV's metric beside it: runs of one competition scored by different metrics had shown one CV column
    header = (
        f"{'id':>4}  {'recorded (UTC)':<20} {'competition':<22} {'source':<16} {'metric':<9} {'CV':>10} "
        f"{'public LB':>10}  path"
    )
    lines = [header, "-" * len(header)]
    for s in subs:
        lines.append(
            f"{s.id:>4}  {s.recorded_at[:19]:<20} {s.competition[:22]:<22} {s.source[:16]:<16} "
            f"{metrics.get(s.run_id, '?'):<9} {_num(s.cv):>10} {_num(s.public_lb):>10}  {s.path}"
        )
    return "\n".join(lines)
