"""``kaggle-kit init`` -> ``run`` -> ``submit`` on small folders laid out as real Kaggle competitions are (Otto's test
ids restarting at 1, the toxic comments' text and six 0/1 targets, an image competition without a test table): the
config init writes runs, and the submission has the sample's header, ids and row count."""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.cli import main


def _cli(*argv: str) -> str:
    """Run one command; its exit status must be 0; what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert main(list(argv)) == 0, printed.getvalue()
    return printed.getvalue()


def _init_run_submit(tmp_path: Path, folder: Path, *, model: str = "lgbm") -> tuple[str, list[list[str]]]:
    """``init FOLDER --preset fast``, ``run``, ``submit --model``: what init said and the submission's rows."""
    out, runs, sub = tmp_path / "competitions", tmp_path / "runs", tmp_path / "submission.csv"
    said = _cli("init", str(folder), "--out", str(out), "--preset", "fast")
    _cli("run", str(out / f"{folder.name}.toml"), "--runs-root", str(runs), "--only", model, "--jobs", "1")
    _cli("submit", str(runs / folder.name), "--model", model, "--out", str(sub))
    return said, _rows(sub)


def _rows(path: Path) -> list[list[str]]:
    with path.open(newline="") as f:
        return list(csv.reader(f))


def test_a_toxic_comments_table_of_text_and_six_0_1_targets_runs_as_init_writes_it(tmp_path: Path) -> None:
    """Its init config (data.text, multilabel) ran into `model 'baseline': pipeline step 0 ('text') learns from
    the target, which a multilabel task has several columns of`: data.text's own step had its out-of-fold linear
    model on, which a task of several targets cannot fit; it is now off there (TF-IDF SVD and statistics stay)."""
    rng = np.random.default_rng(0)
    words = np.array(["you", "are", "great", "bad", "idiot", "nice", "article", "edit", "stupid", "hello"])
    n, m = 90, 20
    texts = [" ".join(rng.choice(words, rng.integers(3, 12))) for _ in range(n + m)]
    ids = [f"{k:016x}" for k in rng.integers(0, 2**62, n + m)]
    labels = ["toxic", "obscene", "insult"]
    rude = np.array([("idiot" in t or "stupid" in t) for t in texts[:n]])
    folder = tmp_path / "toxic"
    folder.mkdir()
    targets = {c: (rude & (rng.random(n) < 0.9 - 0.2 * j)).astype(int) for j, c in enumerate(labels)}
    pl.DataFrame({"id": ids[:n], "comment_text": texts[:n], **targets}).write_csv(folder / "train.csv")
    pl.DataFrame({"id": ids[n:], "comment_text": texts[n:]}).write_csv(folder / "test.csv")
    pl.DataFrame({"id": ids[n:], **{c: [0.5] * m for c in labels}}).write_csv(folder / "sample_submission.csv")
    said, rows = _init_run_submit(tmp_path, folder)
    assert "task = 'multilabel'" in said and "text = ['comment_text']" in said
    assert rows[0] == ["id", *labels]
    assert [r[0] for r in rows[1:]] == ids[n:]


def test_an_image_competition_without_a_test_table_takes_its_test_ids_from_the_sample(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Aerial Cactus ships train.csv, train/, test/ and the sample, no test table: init wrote no data.test (`test =
    (none) ...: the run scores its folds only (no submission)`), so the run had nothing to submit. The sample's ids
    name the files in test/: they are the test rows (ids '0160' spelt as the sample does), and the sample's
    placeholder label column is no 'target column of test' warned of at every run."""
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = tmp_path / "cactus"
    n, m = 60, 12
    y = rng.integers(0, 2, n + m)
    ids = [f"{i:04d}" for i in range(n + m)]
    for sub in ("train", "test"):
        (folder / sub).mkdir(parents=True)
    for i, ident in enumerate(ids):
        pixels = rng.integers(0, 80, (8, 8)).astype(np.uint8) + np.uint8(120 * y[i])
        Image.fromarray(pixels).save(folder / ("train" if i < n else "test") / f"{ident}.png")
    pl.DataFrame({"id": ids[:n], "label": np.where(y[:n] == 1, "dog", "cat")}).write_csv(folder / "train.csv")
    pl.DataFrame({"id": ids[n:], "label": ["cat"] * m}).write_csv(folder / "sample_submission.csv")
    said, rows = _init_run_submit(tmp_path, folder)
    assert "test = 'sample_submission.csv' (no test.* beside train.csv: the sample submission's ids name" in said
    assert rows[0] == ["id", "label"]
    assert [r[0] for r in rows[1:]] == ids[n:]
    assert {r[1] for r in rows[1:]} <= {"cat", "dog"}
    assert "target column" not in capsys.readouterr().err


def test_a_target_named_count_is_read(tmp_path: Path) -> None:
    """Bike Sharing Demand's target is 'count': init stopped with polars' traceback (`using value_counts on a
    column/series named 'count' would lead to duplicate column names`) while telling a count from classes."""
    from kaggle_kit.init_config import infer_spec

    rng = np.random.default_rng(0)
    n = 120
    hours = pl.datetime_range(pl.datetime(2011, 1, 1), pl.datetime(2011, 1, 6, 3), "1h", eager=True)
    frame = pl.DataFrame({"datetime": hours.dt.strftime("%Y-%m-%d %H:%M:%S"), "temp": rng.normal(10, 3, hours.len())})
    casual, registered = rng.poisson(3, n), rng.poisson(30, n)
    frame.head(n).with_columns(
        casual=pl.Series(casual), registered=pl.Series(registered), count=pl.Series(casual + registered)
    ).write_csv(tmp_path / "train.csv")
    frame.tail(hours.len() - n).write_csv(tmp_path / "test.csv")
    pl.DataFrame({"datetime": frame.tail(hours.len() - n)["datetime"], "count": 0}).write_csv(
        tmp_path / "sampleSubmission.csv"
    )
    spec, why = infer_spec("bike", tmp_path / "train.csv", preset="fast")
    assert spec["task"] == "regression" and spec["data"]["target"] == "count"
    assert spec["data"]["id"] == "datetime" and spec["data"]["drop"] == ["casual", "registered"]
    assert any(line.startswith("task = 'regression' (") and "too few for stratified folds" in line for line in why)


def test_the_target_of_an_image_table_is_the_column_whose_classes_the_sample_heads(tmp_path: Path) -> None:
    """Dog Breed Identification: train.csv (id, breed), train/ and test/ of images, a sample of one probability
    column per breed, no test table to tell the target by. init stopped (`cannot tell the target column ...; pass
    --target`); the column whose classes the sample's columns are is the target, with log loss."""
    from PIL import Image

    rng = np.random.default_rng(1)
    folder = tmp_path / "dogs"
    breeds = ["beagle", "boxer", "pug"]
    n, m = 45, 9
    y = np.arange(n + m) % 3
    ids = [f"{k:016x}" for k in rng.integers(0, 2**62, n + m)]
    for sub in ("train", "test"):
        (folder / sub).mkdir(parents=True)
    for i, ident in enumerate(ids):
        pixels = rng.integers(0, 60, (6, 6, 3)).astype(np.uint8)
        pixels[:, :, y[i]] += 150
        Image.fromarray(pixels).save(folder / ("train" if i < n else "test") / f"{ident}.png")
    pl.DataFrame({"id": ids[:n], "breed": [breeds[k] for k in y[:n]]}).write_csv(folder / "train.csv")
    pl.DataFrame({"id": ids[n:], **{b: [1 / 3] * m for b in breeds}}).write_csv(folder / "sample_submission.csv")
    said, rows = _init_run_submit(tmp_path, folder)
    assert "target = 'breed' (the sample submission's columns are its classes' probabilities)" in said
    assert "metric = 'log_loss'" in said
    assert rows[0] == ["id", *breeds] and [r[0] for r in rows[1:]] == ids[n:]
    assert all(abs(sum(float(v) for v in r[1:]) - 1) < 1e-4 for r in rows[1:])


def test_a_labels_file_s_other_columns_are_dropped_for_long_table_sequences(tmp_path: Path) -> None:
    """CareerCon 2019 (robots' surfaces): X_train.csv / X_test.csv long tables, y_train.csv of series_id, group_id and
    surface. init kept group_id as a feature, and the run it wrote stopped: `test lacks feature column(s) 'group_id'
    that train has` (the test rows are the test long table's ids). It is dropped, saying why; test's series ids,
    counted from 0 as train's, are a warning and the submission's."""
    rng = np.random.default_rng(2)
    n, m, steps = 30, 9, 6
    surfaces = np.array(["concrete", "wood", "carpet"])
    y = np.arange(n) % 3

    def long(n_ids: int, shift: np.ndarray) -> pl.DataFrame:
        ids = np.repeat(np.arange(n_ids), steps)
        values = rng.normal(size=ids.size) + np.repeat(shift, steps)
        return pl.DataFrame({"series_id": ids, "measurement_number": np.tile(np.arange(steps), n_ids), "x": values})

    folder = tmp_path / "robots"
    folder.mkdir()
    long(n, 2.0 * y).write_csv(folder / "X_train.csv")
    long(m, np.zeros(m)).write_csv(folder / "X_test.csv")
    labels = {"series_id": np.arange(n), "group_id": rng.integers(0, 5, n), "surface": surfaces[y]}
    pl.DataFrame(labels).write_csv(folder / "y_train.csv")
    pl.DataFrame({"series_id": np.arange(m), "surface": "wood"}).write_csv(folder / "sample_submission.csv")
    out, runs, sub = tmp_path / "competitions", tmp_path / "runs", tmp_path / "submission.csv"
    said = _cli("init", "robots", "--train", str(folder / "X_train.csv"), "--out", str(out), "--preset", "fast")
    assert "drop = ['group_id'] (column(s) of y_train.csv beside the target" in said
    _cli("run", str(out / "robots.toml"), "--runs-root", str(runs), "--only", "lgbm", "--jobs", "1")
    _cli("submit", str(runs / "robots"), "--model", "lgbm", "--out", str(sub))
    rows = _rows(sub)
    assert rows[0] == ["series_id", "surface"] and [r[0] for r in rows[1:]] == [str(i) for i in range(m)]
    assert {r[1] for r in rows[1:]} <= set(surfaces)


def test_dates_written_with_utc_after_them_are_read_as_dates(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """NYC Taxi Fare's pickup_datetime is '2009-06-15 17:26:21 UTC': polars took the first values for datetimes and
    stopped at the ' UTC' (`could not parse ... as dtype datetime[μs] at column 'pickup_datetime'`), so init and run
    ended there. The column is read as text, then as dates by '%Y-%m-%d %H:%M:%S UTC'; the ids (the key, a time
    with 7 decimals) keep their spelling in the submission."""
    rng = np.random.default_rng(3)
    n, m = 80, 16
    seconds = np.sort(rng.integers(0, 10**8, n + m))
    times = [str(np.datetime64("2009-01-01T00:00:00") + np.timedelta64(int(s), "s")).replace("T", " ") for s in seconds]
    keys = [f"{t}.{k:07d}" for t, k in zip(times, rng.integers(1, 10**7, n + m), strict=True)]
    frame = pl.DataFrame({"key": keys, "pickup_datetime": [f"{t} UTC" for t in times], "x": rng.normal(size=n + m)})
    folder = tmp_path / "taxi"
    folder.mkdir()
    frame.head(n).with_columns(fare_amount=pl.Series(rng.gamma(2, 5, n))).write_csv(folder / "train.csv")
    frame.tail(m).write_csv(folder / "test.csv")
    pl.DataFrame({"key": keys[n:], "fare_amount": 11.35}).write_csv(folder / "sample_submission.csv")
    said, rows = _init_run_submit(tmp_path, folder)
    assert "id = 'key'" in said and "task = 'regression'" in said
    assert "'pickup_datetime' (e.g. '2009-" in capsys.readouterr().err
    assert rows[0] == ["key", "fare_amount"] and [r[0] for r in rows[1:]] == keys[n:]


def test_one_hot_targets_are_said_to_be_one_class_per_row(tmp_path: Path) -> None:
    """Plant Pathology 2020's healthy, multiple_diseases, rust, scab hold exactly one 1 per row: init read a
    multilabel task without a word, each column fitted apart; a note says how to make it one multiclass target.
    Targets where a row holds two 1s or none (the toxic comments') get no such note."""
    from kaggle_kit.init_config import infer_spec

    rng = np.random.default_rng(4)
    n, m = 60, 10
    classes = ["healthy", "rust", "scab"]
    y = np.arange(n) % 3
    features = {"id": np.arange(n + m), "x": rng.normal(size=n + m)}
    pl.DataFrame(features).tail(m).write_csv(tmp_path / "test.csv")
    pl.DataFrame({"id": np.arange(n, n + m), **{c: [1 / 3] * m for c in classes}}).write_csv(
        tmp_path / "sample_submission.csv"
    )
    for one_hot in (True, False):
        targets = {c: (y == k).astype(int) for k, c in enumerate(classes)}
        if not one_hot:
            targets["rust"] = (y != 0).astype(int)  # rust beside scab: rows with two 1s
        pl.DataFrame(features).head(n).with_columns(**{c: pl.Series(v) for c, v in targets.items()}).write_csv(
            tmp_path / "train.csv"
        )
        spec, why = infer_spec("plant", tmp_path / "train.csv", preset="fast")
        assert spec["task"] == "multilabel"
        noted = [line for line in why if line.startswith("note: every row holds exactly one 1 across the 3 targets")]
        assert len(noted) == (1 if one_hot else 0), why


def test_init_quotes_a_sample_s_true_false_labels_as_the_file_spells_them(tmp_path: Path) -> None:
    """Spaceship Titanic's sample holds `False`: init said `holds labels: ['false']` (polars' spelling of the value it
    read), which is not what the file, nor the submission, writes."""
    from kaggle_kit.init_config import infer_spec

    rng = np.random.default_rng(5)
    n, m = 40, 8
    ids = [f"{g:04d}_01" for g in range(1, n + m + 1)]
    frame = pl.DataFrame({"PassengerId": ids, "Age": rng.normal(30, 9, n + m)})
    transported = np.array(["True", "False"])[np.arange(n) % 2]
    frame.head(n).with_columns(Transported=pl.Series(transported)).write_csv(tmp_path / "train.csv")
    frame.tail(m).write_csv(tmp_path / "test.csv")
    lines = "".join(f"{i},False\n" for i in ids[n:])
    (tmp_path / "sample_submission.csv").write_text("PassengerId,Transported\n" + lines)
    spec, why = infer_spec("spaceship", tmp_path / "train.csv", preset="fast")
    assert spec["metric"] == "accuracy" and spec["task"] == "binary"
    assert "metric = 'accuracy' (the sample submission's 'Transported' holds labels: ['False'])" in why


def test_otto_s_test_ids_counted_from_1_as_train_s_get_their_own_rows_predictions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Otto numbers train's rows and test's from 1 each: test id k is another row than train id k. Each test row here
    is of the other class than the train row of its id, so a submission (or report) that took an id's train row
    for its test row would give every id the wrong class; the submission holds test's ids, each with its own row's
    class, also pseudo-labelling's (whose test rows join the folds' training rows), and the report (adversarial
    validation: train rows against test rows) is written."""
    rng = np.random.default_rng(6)
    n, m = 90, 30
    x = rng.normal(size=n)
    x = np.where(np.abs(x) < 0.3, 0.3 * np.sign(x + 1e-9), x)
    train = pl.DataFrame({"id": np.arange(1, n + 1), "x": x, "z": rng.normal(size=n)})
    test = pl.DataFrame({"id": np.arange(1, m + 1), "x": -x[:m], "z": rng.normal(size=m)})
    folder = tmp_path / "otto"
    folder.mkdir()
    classes = np.where(x > 0, "Class_2", "Class_1")
    train.with_columns(target=pl.Series(classes)).write_csv(folder / "train.csv")
    test.write_csv(folder / "test.csv")
    pl.DataFrame({"id": np.arange(1, m + 1), "Class_1": 0.5, "Class_2": 0.5}).write_csv(folder / "sampleSubmission.csv")
    said, rows = _init_run_submit(tmp_path, folder)
    assert "30 test id(s) in column 'id' are also train ids (e.g. 1), on other rows" in capsys.readouterr().err
    assert rows[0] == ["id", "Class_1", "Class_2"] and [r[0] for r in rows[1:]] == [str(i) for i in range(1, m + 1)]
    predicted = np.array([float(r[2]) > float(r[1]) for r in rows[1:]])
    assert (predicted == (test["x"].to_numpy() > 0)).mean() > 0.9, said
    runs, config = tmp_path / "runs", tmp_path / "competitions" / "otto.toml"
    with config.open("a") as f:  # pseudo-labelling: test rows, by their position, join each fold's training rows
        f.write('\n[pseudo_label]\nsource = "lgbm"\nthreshold = 0.6\n')
    _cli("run", str(config), "--runs-root", str(runs), "--jobs", "1")  # every model, and lgbm@pl1
    pseudo = tmp_path / "pseudo.csv"
    _cli("submit", str(runs / "otto"), "--model", "lgbm@pl1", "--out", str(pseudo))
    rows = _rows(pseudo)[1:]
    assert [r[0] for r in rows] == [str(i) for i in range(1, m + 1)]
    assert (np.array([float(r[2]) > float(r[1]) for r in rows]) == (test["x"].to_numpy() > 0)).mean() > 0.9
    _cli("report", str(runs / "otto"), "--out", str(tmp_path / "report"))
    assert "adversarial" in (tmp_path / "report" / "report.md").read_text().lower()


def test_a_target_named_rows_is_read(tmp_path: Path) -> None:
    """init counts a whole-number target's values in a column 'rows' (polars' own 'count' clashed with Bike Sharing's
    target): a target named 'rows' stopped init with polars' `duplicate column names`; the count's name steps aside."""
    from kaggle_kit.init_config import infer_spec

    rng = np.random.default_rng(7)
    n = 60
    rows = np.r_[np.arange(12), np.zeros(n - 12, int)]
    pl.DataFrame({"id": np.arange(n), "x": rng.normal(size=n), "rows": rows}).write_csv(tmp_path / "train.csv")
    spec, why = infer_spec("rows", tmp_path / "train.csv", target="rows", preset="fast")
    assert spec["task"] == "regression" and spec["data"]["target"] == "rows", why


def test_a_column_named_n_of_numbers_written_otherwise_is_named(tmp_path: Path) -> None:
    """A text column of numbers written with a decimal comma is named with the fix: one named 'n' (the name of the
    count of its values) stopped the reading with polars' `duplicate column names`."""
    from kaggle_kit.errors import DataError
    from kaggle_kit.readers.tables import read_table

    (tmp_path / "comma.csv").write_text('id,n\n1,"1,5"\n2,"2,25"\n3,"3,5"\n')
    with pytest.raises(DataError, match=r"column 'n' of the train file .* holds numbers written like '1,5'"):
        read_table(tmp_path / "comma.csv", role="train")


@pytest.mark.parametrize("key", ["len", "n", "hi"])
def test_a_sequence_id_named_as_a_count_is_read(tmp_path: Path, key: str) -> None:
    """A long table's sequence id named 'len' (polars' name for the rows of each group), or 'n' / 'lo' / 'hi' (the
    kit's for each sequence's steps and their range) stopped init with polars' `duplicate column names`."""
    from kaggle_kit.init_config import infer_spec

    rng = np.random.default_rng(8)
    n = 60
    steps = {key: np.repeat(np.arange(n), 4), "t": np.tile(np.arange(4), n), "v": rng.normal(size=4 * n)}
    pl.DataFrame(steps).write_csv(tmp_path / "X_train.csv")
    fresh = {key: np.repeat(np.arange(10), 4), "t": np.tile(np.arange(4), 10), "v": rng.normal(size=40)}
    pl.DataFrame(fresh).write_csv(tmp_path / "X_test.csv")  # test's series counted from 0 too (CareerCon's)
    pl.DataFrame({key: np.arange(n), "y": np.arange(n) % 2}).write_csv(tmp_path / "y_train.csv")
    pl.DataFrame({key: np.arange(10), "y": 0}).write_csv(tmp_path / "sample_submission.csv")
    spec, why = infer_spec("seq", tmp_path / "X_train.csv", preset="fast")
    assert spec["data"]["id"] == key and spec["data"]["sequences"]["order_by"] == "t", why
    from kaggle_kit.features.sequence import sequence_tensor

    X, lengths, ids = sequence_tensor(pl.DataFrame(steps), key, ["v"], order_by="t")
    assert X.shape == (n, 4, 1) and lengths.tolist() == [4] * n and ids.to_list() == list(range(n))


@pytest.mark.parametrize("missing", ["first", "last"])
def test_a_sample_listing_a_few_ids_without_files_is_still_the_test_table(tmp_path: Path, missing: str) -> None:
    """The sample of an image competition without a test table lists 40 ids, 5 of whose files are not in test/. With
    the 5 among its first rows, init took the test folder for none (every first id had to name a file) and wrote no
    test, without a word; with the 5 last, the sample was the test table and the run named the missing files. Both
    are the latter now."""
    from PIL import Image

    from kaggle_kit.init_config import infer_spec

    rng = np.random.default_rng(9)
    n, m = 30, 40
    for sub in ("train", "test"):
        (tmp_path / sub).mkdir()
    for i in range(n):
        Image.fromarray(rng.integers(0, 255, (4, 4)).astype(np.uint8)).save(tmp_path / "train" / f"{i:04d}.png")
    test_ids = [f"{i:04d}" for i in range(100, 100 + m)]
    for ident in test_ids[5:] if missing == "first" else test_ids[:-5]:
        Image.fromarray(rng.integers(0, 255, (4, 4)).astype(np.uint8)).save(tmp_path / "test" / f"{ident}.png")
    pl.DataFrame({"id": [f"{i:04d}" for i in range(n)], "label": np.arange(n) % 2}).write_csv(tmp_path / "train.csv")
    pl.DataFrame({"id": test_ids, "label": 0.5}).write_csv(tmp_path / "sample_submission.csv")
    spec, why = infer_spec("cactus", tmp_path / "train.csv", preset="fast")
    assert spec["data"]["test"] == str((tmp_path / "sample_submission.csv").resolve()), why
    assert Path(spec["data"]["images"]["test_folder"]).name == "test"
