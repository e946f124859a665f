"""The kit in a Kaggle notebook: the input folder is read-only, only the working folder is writable, cells change
the working folder, and a run folder uploaded as a dataset is mounted read-only.

The read-only folders refuse writes also when the suite runs as root (``tests/readonly.py``).
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from readonly import read_only

import kaggle_kit
from kaggle_kit.blend import blend_report, fit_blend, import_predictions
from kaggle_kit.cli import main
from kaggle_kit.errors import StoreError
from kaggle_kit.init_config import write_config
from kaggle_kit.report import build_report

N = 60


def _competition(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, 3))
    frame = pl.DataFrame({f"f{j}": x[:, j] for j in range(3)}).with_columns(
        pl.Series("id", np.arange(N)), pl.Series("target", (x[:, 0] + rng.normal(size=N) > 0).astype(int))
    )
    folder.mkdir(parents=True)
    frame[:45].write_csv(folder / "train.csv")
    frame[45:].drop("target").write_csv(folder / "test.csv")
    frame[45:].select("id", pl.lit(0.5).alias("target")).write_csv(folder / "sample_submission.csv")
    return folder


def _spec(comp: Path, **data: object) -> kaggle_kit.CompetitionSpec:
    """The competition's spec; ``data`` replaces or adds keys of its data table."""
    return kaggle_kit.build_spec(
        {
            "name": "nb",
            "task": "binary",
            "metric": "roc_auc",
            "data": {
                "train": str(comp / "train.csv"),
                "test": str(comp / "test.csv"),
                "sample_submission": str(comp / "sample_submission.csv"),
                "id": "id",
                "target": "target",
                **data,
            },
            "folds": {"n_splits": 3},
            "run": {"n_jobs": 1, "threads_per_task": 1},
            "models": [{"name": "lin", "kind": "linear"}, {"name": "lin2", "kind": "linear", "params": {"C": 0.1}}],
        }
    )


def _hashes(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.rglob("*") if p.is_file()
    }


@pytest.fixture(scope="module")
def kaggle(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """/kaggle/input/comp (the data) and /kaggle/working/runs/nb (a finished run made with the working folder as
    the current one, the input folder read-only)."""
    root = tmp_path_factory.mktemp("kaggle")
    comp = _competition(root / "input" / "comp")
    working = root / "working"
    working.mkdir()
    with pytest.MonkeyPatch.context() as mp, read_only(root / "input"):
        mp.chdir(working)
        result = kaggle_kit.run(_spec(comp), progress=None, record_history=False)  # runs_root: "runs", relative
    assert [m.status for m in result.models] == ["ok"] * 3
    return {"comp": comp, "working": working, "run": result.run_dir, "root": root}


def test_a_run_reads_the_read_only_input_and_writes_under_the_working_folder(kaggle: dict[str, Path]) -> None:
    assert sorted(p.name for p in kaggle["comp"].iterdir()) == ["sample_submission.csv", "test.csv", "train.csv"]
    assert kaggle["run"] == kaggle["working"] / "runs" / "nb"


def test_the_run_folder_of_the_result_is_absolute_so_a_later_cell_may_change_folder(
    kaggle: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A notebook cell that changes the working folder: the result still names its run folder (it had been
    'runs/nb', relative, and the next cell's leaderboard said 'runs/nb' is not a run directory)."""
    monkeypatch.chdir(kaggle["working"])
    result = kaggle_kit.run(_spec(kaggle["comp"]), progress=None, record_history=False)
    assert result.fitted == 0 and result.run_dir.is_absolute()
    monkeypatch.chdir(tmp_path)
    assert {m.name for m in kaggle_kit.leaderboard(result.run_dir)} == {"baseline", "lin", "lin2"}
    out = kaggle_kit.write_submission(result.run_dir, "lin", out="submission.csv")
    assert pl.read_csv(tmp_path / "submission.csv")["id"].to_list() == list(range(45, N)) and out.is_file()


def test_a_run_folder_that_cannot_be_written_says_so_for_python(kaggle: dict[str, Path]) -> None:
    with (
        read_only(kaggle["root"] / "input"),
        pytest.raises(
            StoreError,
            match=r"cannot write to the run folder .*input/runs/nb' \(Read-only file system\); choose another "
            r"--runs-root \(runs_root= in Python; on Kaggle, only /kaggle/working is writable: to resume a run folder "
            r"uploaded as a dataset, copy it under a runs root there\)",
        ),
    ):
        kaggle_kit.run(_spec(kaggle["comp"]), runs_root=kaggle["root"] / "input" / "runs", progress=None)


@pytest.fixture
def uploaded_run(kaggle: dict[str, Path], tmp_path: Path) -> Path:
    """The run folder uploaded as a dataset: a copy, read-only within the test."""
    import shutil

    copy = tmp_path / "input" / "my-run" / "nb"
    shutil.copytree(kaggle["run"], copy)
    return copy


@pytest.mark.parametrize("call", ["fit_blend", "blend_report", "cli"])
def test_a_blend_of_a_read_only_run_folder_is_refused_before_fitting_with_the_ways_out(
    uploaded_run: Path, call: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """It had been a bare OSError from the first write, after the blends were fitted. The run was blended at home
    (its blends folder is there: making it is not what fails), and the command line is given its own way out (it
    had been told save=False, which only Python has)."""
    fit_blend(uploaded_run, "nelder_mead")
    before = _hashes(uploaded_run)
    ways_out = (
        rf"cannot write the blends in '.*my-run/nb/blends' \(Read-only file system\); a blend is stored in its run "
        rf"folder: copy the run folder somewhere writable and blend the copy \(on Kaggle: `cp -r '{uploaded_run}' "
        rf"/kaggle/working/`, then `kaggle-kit blend /kaggle/working/nb`; shutil.copytree\('{uploaded_run}', "
        r"'/kaggle/working/nb'\) in Python\), or, in Python, blend without storing: save=False"
    )
    with read_only(uploaded_run):
        if call == "cli":
            assert main(["blend", str(uploaded_run), "--method", "mean"]) == 2
            assert re.fullmatch(f"error: {ways_out}\n", capsys.readouterr().err)
        else:
            with pytest.raises(StoreError, match=ways_out):
                fit_blend(uploaded_run, "mean") if call == "fit_blend" else blend_report(uploaded_run, ["mean"])
            unsaved = (
                fit_blend(uploaded_run, "mean", save=False)
                if call == "fit_blend"
                else blend_report(uploaded_run, ["mean"], save=False).blends[0]
            )
            assert unsaved.weight_map == {"lin": 0.5, "lin2": 0.5}
    assert _hashes(uploaded_run) == before


def test_an_import_into_a_read_only_run_folder_is_refused_with_the_way_out(uploaded_run: Path, tmp_path: Path) -> None:
    oof = pl.read_parquet(next((uploaded_run / "models" / "lin").glob("*/oof.parquet")))
    oof.write_csv(tmp_path / "oof.csv")
    with (
        read_only(uploaded_run),
        pytest.raises(
            StoreError,
            match=r"cannot write imported predictions in '.*my-run/nb/external' \(Read-only file system\); they are "
            r"stored in the run folder: copy the run folder somewhere writable",
        ),
    ):
        import_predictions(uploaded_run, "mate", tmp_path / "oof.csv")


def test_the_report_of_a_read_only_run_folder_names_out_dir(uploaded_run: Path, tmp_path: Path) -> None:
    """It had said to free some space or choose another --runs-root, and that finished folds are kept."""
    with read_only(uploaded_run):
        with pytest.raises(
            StoreError,
            match=r"cannot write the report in '.*my-run/nb/report' \(Read-only file system\); write it elsewhere: "
            r"--out DIR \(out_dir= in Python; on Kaggle, only /kaggle/working is writable\)",
        ):
            build_report(uploaded_run, adversarial=False)
        files = build_report(uploaded_run, out_dir=tmp_path / "report", adversarial=False)
    assert files.html == tmp_path / "report" / "report.html" and files.html.is_file()


def test_kaggle_kit_report_of_a_read_only_run_folder_writes_to_out(
    uploaded_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`kaggle-kit report RUN --out DIR`; without --out, a run folder whose report was written at home (its report
    folder is there: making it is not what fails) is refused before the report is computed."""
    assert main(["report", str(uploaded_run), "--no-adversarial"]) == 0
    before = _hashes(uploaded_run)
    capsys.readouterr()
    with read_only(uploaded_run):
        assert main(["report", str(uploaded_run), "--no-adversarial"]) == 2
        assert re.fullmatch(
            r"error: cannot write the report in '.*my-run/nb/report' \(Read-only file system\); write it elsewhere: "
            r"--out DIR \(out_dir= in Python; on Kaggle, only /kaggle/working is writable\)\n",
            capsys.readouterr().err,
        )
        assert main(["report", str(uploaded_run), "--no-adversarial", "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["report.html", "report.md"]
    assert _hashes(uploaded_run) == before


def test_a_run_folder_on_a_full_disk_says_to_free_space(
    kaggle: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A full disk (not a read-only folder) is the one case where freeing space is the fix."""
    import errno
    import os

    real = Path.write_bytes

    def full(self: Path, data: bytes) -> int:
        if self.name.startswith(".write-probe-"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(self, data)

    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(
        StoreError,
        match=r"cannot write to the run folder '.*runs/nb' \(No space left on device\); free some space or choose "
        r"another --runs-root \(runs_root= in Python",
    ):
        kaggle_kit.run(_spec(kaggle["comp"]), runs_root=kaggle["run"].parent, progress=None, record_history=False)


def test_a_write_that_gets_past_the_refusal_fails_the_read_only_block(tmp_path: Path) -> None:
    """tests/readonly.py: polars writes a path with its own (Rust) file I/O, which no audit event announces; as root
    nothing refuses it, so the block must fail afterwards rather than let a test pass over a write."""
    import subprocess

    (tmp_path / "ro" / "sub").mkdir(parents=True)
    past = r"written under the read-only folder .* past the refusal.*sub/x\.csv"
    with pytest.raises(AssertionError, match=past), read_only(tmp_path / "ro"):
        # not as root, the folder's mode would refuse the write: another process (unrefused) lifts it first
        subprocess.run(["chmod", "u+w", str(tmp_path / "ro" / "sub")], check=True)
        pl.DataFrame({"a": [1]}).write_csv(tmp_path / "ro" / "sub" / "x.csv")
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "ro")
    with read_only(tmp_path / "ro"):  # what Python opens is refused by where it leads, not how it is spelt
        for path in (tmp_path / "elsewhere" / ".." / "ro" / "sub" / "y.csv", tmp_path / "link" / "sub" / "y.csv"):
            with pytest.raises(OSError, match="Read-only file system"):
                path.write_text("x")


@pytest.mark.parametrize("call", ["python", "cli"])
def test_a_refit_of_a_read_only_run_folder_is_refused_before_fitting(
    uploaded_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], call: str
) -> None:
    """A refit on all rows (hours for a large model) had failed on its first write, after the fit:
    `refit needs a writable run folder`, without the way out."""
    import importlib

    refit_module = importlib.import_module("kaggle_kit.predict.refit")  # the package's `refit` is the function

    def fitted(*args: object, **kwargs: object) -> None:
        raise AssertionError("a model was fitted before the run folder was found read-only")

    monkeypatch.setattr(refit_module, "refit_model", fitted)
    says = (
        r"cannot write the refit models in '.*my-run/nb/models' \(Read-only file system\); a refit is stored in its "
        r"run folder: copy the run folder somewhere writable and refit the copy \(on Kaggle, only /kaggle/working "
        r"is writable\)"
    )
    capsys.readouterr()
    with read_only(uploaded_run):
        if call == "cli":
            assert main(["refit", str(uploaded_run), "--model", "lin"]) == 2
            assert re.fullmatch(f"error: {says}\n", capsys.readouterr().err)
        else:
            with pytest.raises(StoreError, match=says):
                refit_module.refit(uploaded_run, ["lin"], progress=None)


def test_the_read_only_block_restores_the_modes_and_leaves_links_alone(tmp_path: Path) -> None:
    """tests/readonly.py: the modes as they were afterwards (it had left every file 0600 and folder 0700), and what
    a symbolic link in the folder leads to untouched (chmod follows links)."""
    (tmp_path / "ro" / "sub").mkdir(parents=True)
    (tmp_path / "ro" / "sub" / "tool.sh").write_text("exit 0")
    (tmp_path / "ro" / "sub" / "tool.sh").chmod(0o751)
    (tmp_path / "ro" / "sub").chmod(0o755)
    (tmp_path / "data.csv").write_text("a\n1")
    (tmp_path / "data.csv").chmod(0o644)
    (tmp_path / "ro" / "data.csv").symlink_to(tmp_path / "data.csv")
    with read_only(tmp_path / "ro"):
        assert (tmp_path / "ro" / "sub" / "tool.sh").stat().st_mode & 0o777 == 0o400
        assert (tmp_path / "data.csv").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "ro" / "sub" / "tool.sh").stat().st_mode & 0o777 == 0o751
    assert (tmp_path / "ro" / "sub").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "data.csv").stat().st_mode & 0o777 == 0o644


def test_init_into_a_read_only_folder_says_so(kaggle: dict[str, Path]) -> None:
    """`kaggle-kit init --out` a read-only folder had been an OSError traceback after the data was read."""
    with (
        read_only(kaggle["root"] / "input"),
        pytest.raises(
            StoreError,
            match=r"cannot write the config in '.*input/comp' \(Read-only file system\); choose another --out",
        ),
    ):
        write_config("nb", kaggle["comp"] / "train.csv", kaggle["comp"], preset="fast")


def test_a_cell_ending_in_a_result_or_a_blend_report_shows_its_table(kaggle: dict[str, Path]) -> None:
    """Jupyter shows a cell's last value with IPython's pretty printer: it had been the dataclass repr, one line of
    every field of every model. `print(result)` shows the same (as `print` of a blend report or a leaderboard)."""
    result = kaggle_kit.run(_spec(kaggle["comp"]), runs_root=kaggle["run"].parent, progress=None, record_history=False)
    shown = f"{result.leaderboard()}\nrun folder: {kaggle['run']}  (fitted 0 fold(s), reused 9)"
    assert str(result) == shown
    pretty = pytest.importorskip("IPython.lib.pretty").pretty
    assert pretty(result) == shown
    report = blend_report(kaggle["run"], ["mean"], save=False)
    assert pretty(report) == report.text() and pretty(report).startswith("Blend leaderboard (roc_auc")


def test_offline_wheels_into_a_read_only_folder_say_so_before_building(kaggle: dict[str, Path]) -> None:
    from kaggle_kit.offline import build_offline_wheels

    with (
        read_only(kaggle["root"] / "input"),
        pytest.raises(StoreError, match=r"cannot write the wheels in '.*input/wheels' \(Read-only file system\)"),
    ):
        build_offline_wheels(kaggle["root"] / "input" / "wheels")


@pytest.mark.parametrize("call", ["python", "cli"])
def test_an_interrupt_during_a_blend_report_keeps_the_blends_already_fitted(
    uploaded_run: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], call: str
) -> None:
    """A notebook's interrupt (or a later method's failure) during `blend_report`: the blends fitted before it are
    stored (they had all been kept in memory until the last method ended, and were lost). `kaggle-kit blend` says
    so (it had said that finished folds are kept and to run it again to resume)."""
    import kaggle_kit.blend.api as api

    real = api.blend_predictions

    def interrupted_at_nelder_mead(*args, **kwargs):  # type: ignore[no-untyped-def]
        if args[4] == "nelder_mead":
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(api, "blend_predictions", interrupted_at_nelder_mead)
    if call == "cli":
        assert main(["blend", str(uploaded_run), "--method", "mean,nelder_mead"]) == 130
        assert capsys.readouterr().err == (
            "interrupted: the blends fitted before it are stored (each as it is fitted; a stacker once the stacking "
            "guard keeps it); for the rest run it again, --method naming the methods left\n"
        )
    else:
        with pytest.raises(KeyboardInterrupt):
            blend_report(uploaded_run, ["mean", "nelder_mead"])
    assert kaggle_kit.read_blend(uploaded_run, "mean").weight_map == {"lin": 0.5, "lin2": 0.5}
    assert not (uploaded_run / "blends" / "nelder_mead").exists()


@pytest.mark.parametrize("kept", [True, False])
def test_a_stacker_is_stored_only_once_the_guard_keeps_it(
    uploaded_run: Path, monkeypatch: pytest.MonkeyPatch, kept: bool
) -> None:
    """Stored as each is fitted, but a stacker waits for the stacked-overfitting guard: stored when it keeps it,
    neither stored nor ranked when it drops it. The guard's decision is forced both ways (on these rows it drops the
    stacker), so that storing it before the guard, or never after it, fails one of the two."""
    import kaggle_kit.blend.api as api

    real = api.stacking_guard
    monkeypatch.setattr(api, "stacking_guard", real if not kept else lambda outcomes, metric: (list(outcomes), []))
    report = blend_report(uploaded_run, ["stack", "hill_climb"])
    assert bool(report.dropped) is not kept
    stored = sorted(p.name for p in (uploaded_run / "blends").iterdir())
    assert stored == (["hill_climb", "stack"] if kept else ["hill_climb"])
    assert stored == sorted(b.name for b in report.blends)


@pytest.mark.parametrize(
    ("groups", "made"),
    [
        ({"both": ["lin", "lin2"]}, ["both_nelder_mead", "mean"]),  # the union's blend is the group's
        ({"a": ["lin"], "b": ["lin2"]}, ["a+b_nelder_mead", "mean"]),  # groups of one model: only the union's
    ],
)
def test_the_blends_of_groups_are_stored_as_they_are_fitted(
    uploaded_run: Path, groups: dict[str, list[str]], made: list[str]
) -> None:
    """Each group's blend and the blend of all groups' models are stored with the rest (each where it is fitted)."""
    report = blend_report(uploaded_run, ["mean"], groups=groups, group_method="nelder_mead")
    assert sorted(b.name for b in report.blends) == made
    for name in made:
        assert kaggle_kit.read_blend(uploaded_run, name).models == ("lin", "lin2")


@pytest.mark.parametrize(
    ("relative", "says"),
    [
        ("train", "the train file '../input/comp/train.csv' {cwd} does not exist"),
        ("sample_submission", "the sample_submission file '../input/comp/sample_submission.csv' {cwd} does not exist"),
        ("images", "data.images.folder = '../input/comp/images' ('../input/comp/images') {cwd} does not exist"),
    ],
)
def test_a_relative_data_path_that_a_change_of_folder_broke_names_the_working_folder(
    kaggle: dict[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relative: str, says: str
) -> None:
    """A spec built with a path relative to one folder (the others absolute), run after a cell changed to another:
    each data path's message says the working folder it was looked for from (train and test had, the sample
    submission and the image folder had not)."""
    monkeypatch.chdir(kaggle["working"])
    if relative == "images":
        spec = _spec(kaggle["comp"], images={"folder": "../input/comp/images", "pattern": "{id}.png"})
    else:
        spec = _spec(kaggle["comp"], **{relative: f"../input/comp/{relative}.csv"})
    monkeypatch.chdir(tmp_path)
    with pytest.raises(
        kaggle_kit.DataError, match=re.escape(says.format(cwd=f"(from the working folder '{tmp_path}')"))
    ):
        kaggle_kit.run(spec, runs_root=tmp_path / "runs", progress=None, record_history=False)


def test_the_leaderboard_of_a_run_folder_prints_as_its_table(kaggle: dict[str, Path]) -> None:
    """`kaggle_kit.leaderboard(run_dir)` is still the list of rows, best first; printed, or shown as a cell's last
    value, it is the table `kaggle-kit leaderboard` prints (it had been every field of every row on one line)."""
    from kaggle_kit.leaderboard import format_leaderboard

    rows = kaggle_kit.leaderboard(kaggle["run"])
    assert [r.name for r in rows][-1] == "baseline" and isinstance(rows, list)
    table = format_leaderboard(list(rows), kaggle_kit.get_metric("roc_auc"))
    assert str(rows) == table and table.startswith("CV leaderboard (roc_auc")
    pretty = pytest.importorskip("IPython.lib.pretty").pretty
    assert pretty(rows) == table


@pytest.mark.parametrize("which", [["--model", "lin"], ["--best"]])
def test_kaggle_kit_submit_of_a_read_only_run_folder_writes_out_and_says_it_is_not_recorded(
    uploaded_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], which: list[str]
) -> None:
    """`kaggle-kit submit /kaggle/input/<run> --out submission.csv` in a notebook: the submission is written; the
    run history beside the run folder cannot be, which is said, and the command succeeds (it had failed, exit 2,
    `cannot open the history database`, after the submission was written)."""
    out = tmp_path / "submission.csv"
    capsys.readouterr()
    with read_only(uploaded_run.parent):
        assert main(["submit", str(uploaded_run), *which, "--out", str(out)]) == 0
    err = capsys.readouterr().err
    assert re.fullmatch(
        rf"warning: {out} is not recorded in the run history \(cannot write the run history in "
        rf"'{uploaded_run.parent}' \(Read-only file system\); a submission is recorded beside its run folder\); "
        r"`kaggle-kit lb add` and `kaggle-kit history --submissions` will not know it\n",
        err,
    ), err
    assert pl.read_csv(out)["id"].to_list() == list(range(45, N))


def test_a_submission_into_a_read_only_run_folder_names_out_and_kaggles_file(
    uploaded_run: Path, tmp_path: Path
) -> None:
    """By default a submission goes into the run folder: read-only where a run was uploaded as a dataset."""
    with read_only(uploaded_run):
        with pytest.raises(
            kaggle_kit.KitError,
            match=r"cannot write the submission '.*my-run/nb/submissions/lin.csv' \(Read-only file system\); choose "
            r"another --out \(out= in Python; on Kaggle, only /kaggle/working is writable, and a code competition "
            r"reads /kaggle/working/submission.csv\)",
        ):
            kaggle_kit.write_submission(uploaded_run, "lin")
        out = kaggle_kit.write_submission(uploaded_run, "lin", out=tmp_path / "submission.csv")
    assert pl.read_csv(out).columns == ["id", "target"]
