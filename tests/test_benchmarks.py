"""The benchmark scripts still run: each new one in its tiny ``--quick`` mode, its JSON figures checked for sense.

The figures themselves are not asserted (timings on a shared machine vary); what a run must show is: the bare
loops fit the same models as the kit, the import of kaggle_kit leaves torch alone, the scaling and the comparison
scripts produce a figure for every size and competition they were asked for.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from kaggle_kit.metrics import get_metric

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "benchmarks"
sys.path.insert(0, str(BENCH))


def _run(script: str, *args: str, tmp_path: Path) -> dict:
    out = tmp_path / "figures.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / script), *args, "--json", str(out)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-4000:]
    return json.loads(out.read_text())


def test_runner_overhead_bare_loops_fit_the_kits_models(tmp_path: Path) -> None:
    figures = _run("runner_overhead.py", "--quick", tmp_path=tmp_path)
    assert set(figures["libraries"]) == {"xgboost", "lightgbm"}
    for library, entry in figures["libraries"].items():
        # same folds, params, threads and early stopping: the same rounds and the same OOF score
        assert entry["kit_rounds"] == entry["bare_rounds"], library
        assert entry["kit_cv"] == pytest.approx(entry["bare_cv"], abs=1e-6), library
        assert entry["ratio"] > 0 and len(entry["kit_seconds"]) == len(entry["bare_seconds"]) == 1


@pytest.mark.parametrize("library", ["xgboost", "lightgbm"])
def test_runner_overhead_params_match_the_adapters(library: str) -> None:
    import runner_overhead

    runner_overhead.check_like_for_like(library, threads=2)  # raises SystemExit naming the keys that differ


def test_scaling_measures_every_size(tmp_path: Path) -> None:
    rows = _run("scaling.py", "--quick", tmp_path=tmp_path)
    assert [r["rows"] for r in rows] == [1000, 2000]
    for r in rows:
        assert r["folds_fitted"] == 10  # 5 folds of the model + 5 of the baseline
        assert r["cv"] > 0.8
        assert r["peak_tree_rss"] >= r["self_peak_rss"] > 50 * 2**20  # the sum over the tree includes the process
        assert r["wall_seconds"] > r["run_seconds"] > 0


def test_import_time_kit_does_not_import_torch(tmp_path: Path) -> None:
    figures = _run("import_time.py", "--quick", tmp_path=tmp_path)
    statements = figures["statements"]
    assert not statements["import kaggle_kit"]["loaded"]["torch"]
    assert not statements["tree-only notebook"]["loaded"]["torch"]
    assert statements["import torch"]["loaded"]["torch"]  # the probe does see an import when there is one
    assert statements["import xgboost"]["importtime_s"] > 0


def test_autogluon_compare_kit_side_scores_the_hidden_labels(tmp_path: Path) -> None:
    figures = _run(
        "autogluon_compare.py", "--quick", "--competitions", "demo-breast-cancer", "--data-root",
        str(tmp_path / "data"), tmp_path=tmp_path,
    )  # fmt: skip
    kit = figures["demo-breast-cancer"]["kit"]
    assert kit["blend_test"] > 0.95 and kit["best_model_test"] > 0.95  # ROC AUC on the hidden test labels
    assert kit["wall_seconds"] >= kit["run_seconds"] > 0
    assert "autogluon" not in figures["demo-breast-cancer"]  # --quick runs the kit's side only


def test_hidden_codes_follow_the_run_classes(tmp_path: Path) -> None:
    from autogluon_compare import hidden_codes

    solution = tmp_path / "solution.csv"
    pl.DataFrame({"id": [3, 1, 2], "y": ["b", "a", "b"]}).write_csv(solution)
    codes = hidden_codes(solution, "y", "id", pl.Series("id", [1, 2, 3]), ["a", "b"])
    np.testing.assert_array_equal(codes, [0, 1, 1])  # in the ids' order, as indexes into the classes


def test_table_nets_scores_every_kind_on_every_dataset(tmp_path: Path) -> None:
    figures = _run("table_nets.py", "--quick", tmp_path=tmp_path)
    assert set(figures["datasets"]) == {"breast_cancer", "diabetes", "periodic_400"}
    for name, kinds in figures["datasets"].items():
        assert set(kinds) == {"mlp", "realmlp", "tabm"}, name
        for r in kinds.values():
            assert np.isfinite(r["cv"]) and r["seconds_per_fold"] > 0 and len(r["best_epochs"]) == 2
    assert figures["datasets"]["breast_cancer"]["realmlp"]["cv"] > 0.9  # ROC AUC, even after 2 epochs


def test_selection_speed_times_every_case_and_picks_as_the_naive_loop(tmp_path: Path) -> None:
    figures = _run("selection_speed.py", "--quick", tmp_path=tmp_path)
    assert [(c["task"], c["metric"]) for c in figures["cases"]] == [
        ("binary", "roc_auc"),
        ("binary", "log_loss"),
        ("multiclass-5", "log_loss"),
    ]
    assert all(s > 0 for c in figures["cases"] for s in c["seconds"].values())
    # the running-sum scorers choose exactly what recomputing every blend from scratch chooses
    assert [n["same_picks"] for n in figures["naive"]] == [True, True, True]
    assert figures["nested"]["seconds"] > 0


def test_early_stopping_compares_the_metric_and_the_loss(tmp_path: Path) -> None:
    figures = _run("early_stopping.py", "--quick", tmp_path=tmp_path)
    (row,) = figures["rows"]
    assert (row["dataset"], row["scored_by"], row["library"]) == ("breast_cancer", "roc_auc", "lightgbm")
    for choice in ("metric", "loss"):
        for score in ("cv", "fold_mean", "held_out"):
            assert 0.9 < row[choice][score] <= 1.0, (choice, score)
        assert 1 <= row[choice]["rounds"] <= 40
    assert set(row["better"].values()) <= {"metric", "loss", "tie"}


def test_embedding_leak_scores_every_fold_model_on_cv_and_hidden_rows(tmp_path: Path) -> None:
    figures = _run("embedding_leak.py", "--quick", tmp_path=tmp_path)
    rows = {r["model"]: r for r in figures["rows"]}
    assert set(rows) == {"cnn", "lgbm_pixels", "lgbm_emb"}
    for model, row in rows.items():
        assert 0 <= row["cv_acc"] <= 1 and 0 <= row["pooled_hidden_acc"] <= 1, model
        assert np.isfinite([row["optimism_acc"], row["optimism_ll"]]).all(), model
    assert -1 <= rows["lgbm_emb"]["other_nets_gain_acc"] <= 1
    assert set(figures["paired"]) == {"cnn", "lgbm_pixels"}
    # the reader's test rows through every fold net (the run's way) against all but net k, per fold and pooled
    for field in ("skip_own_gain_acc", "pooled_skip_own_gain_acc", "skip_own_gain_ll", "pooled_skip_own_gain_ll"):
        assert np.isfinite(rows["lgbm_emb"][field]) and field in figures["skip_own"], field


def test_predict_speed_times_every_family_and_blend_folds_and_refit(tmp_path: Path) -> None:
    figures = _run("predict_speed.py", "--quick", tmp_path=tmp_path)
    assert set(figures["models"]) == {"xgboost", "lightgbm", "mlp", "linear", "random_forest", "hist_gradient_boosting"}
    assert set(figures["blends"]) == {"nelder_mead", "stack"}
    for group in ("models", "blends"):
        for entry in figures[group].values():
            for side in ("folds", "refit"):
                assert entry[side]["seconds"] > 0
                assert entry[side]["rows_per_second"] == pytest.approx(2000 / entry[side]["seconds"], rel=0.01)


def test_mutation_each_mutant_changes_one_line_and_compiles() -> None:
    """``benchmarks/mutation.py``'s mutants: each is one change (one line differs from the unmutated module after
    the same unparse round trip), compiles, and is the change its description names."""
    import ast

    import mutation

    module = "kaggle_kit/runtime/scoring.py"
    clean = ast.unparse(ast.parse((REPO / module).read_text())).splitlines()
    mutants = mutation.mutants_of(module)
    assert len(mutants) > 10 and [m.index for m in mutants] == list(range(len(mutants)))
    assert {"return value -> None", "call statement deleted", "== -> !=", "True -> False"} <= {m.what for m in mutants}
    for mutant in mutants:
        source = mutation.mutated_source(mutant)
        compile(source, module, "exec")
        lines = source.splitlines()
        assert len(lines) == len(clean), mutant
        changed = [(a, b) for a, b in zip(clean, lines, strict=True) if a != b]
        assert len(changed) == 1, (mutant, changed)
        before, after = changed[0]
        if mutant.what == "return value -> None":
            assert after.strip() == "return None" and before.strip().startswith("return "), changed
        elif mutant.what == "call statement deleted":
            assert after.strip() == "pass", changed
        elif " -> " in mutant.what:
            assert mutant.what.split(" -> ")[1] in after, (mutant, changed)
    assert mutation.mutants_of(module) == mutants  # the same order every time: names stay valid


def test_hidden_gap_scores_every_model_and_blend_on_each_split(tmp_path: Path) -> None:
    args = ("--quick", "--datasets", "anes96", "--split-seeds", "0,1", "--without", "hill_climb")
    figures = _run("hidden_gap.py", *args, tmp_path=tmp_path)
    seeds = figures["anes96"]
    assert set(seeds) == {"0", "1"}
    for entry in seeds.values():
        for which in ("old", "good"):
            res = entry[which]
            assert {"lgbm", "xgb", "hill_climb"} <= set(res["all"])  # models and blends, the baseline left out
            assert "baseline" not in res["all"]
            # the submission's hidden score is the one the table gives its pick (scored once, by one function)
            assert res["all"][res["submitted"]]["test"] == pytest.approx(res["test"], abs=1e-12)
            assert all(np.isfinite(s["cv"]) and 0 < s["test"] < 2.5 for s in res["all"].values())
    assert seeds["0"]["old"]["test"] != seeds["1"]["old"]["test"]  # another split, other hidden rows


def test_hidden_gap_picks_without_a_method_as_the_verdict_would() -> None:
    import hidden_gap

    runs = {"a": {"cv": 0.5, "test": 1.0}, "hill_climb": {"cv": 0.3, "test": 2.0}, "b": {"cv": 0.4, "test": 3.0}}
    assert hidden_gap._pick_without(runs, "hill_climb", get_metric("log_loss"))["test"] == 3.0  # lower is better
    assert hidden_gap._pick_without(runs, "stack", get_metric("log_loss"))["test"] == 2.0
    assert hidden_gap._pick_without(runs, "hill_climb", get_metric("roc_auc"))["test"] == 1.0  # higher is better


@pytest.mark.slow  # three processes that each import torch and fit a cnn
def test_images_benchmark_measures_each_mode(tmp_path: Path) -> None:
    figures = _run("images.py", "--quick", tmp_path=tmp_path)
    results = {r["mode"]: r for r in figures["results"]}
    assert set(results) == {"memory", "stream+cache", "stream files"}
    for r in results.values():
        assert r["train_images_per_s"] > 0 and r["predict_images_per_s"] > 0 and r["peak_rss_mb"] > 0
    assert "cache" in results["stream+cache"]["seconds"] and "cache" not in results["stream files"]["seconds"]
    # the same net and seed on the same images: the modes predict alike
    assert len({r["test_accuracy"] for r in results.values()}) == 1


def test_sequences_benchmark_builds_the_store_and_trains_both_layouts(tmp_path: Path) -> None:
    figures = _run("sequences.py", "--quick", tmp_path=tmp_path)
    assert figures["ids"] == 300 and 0 < figures["store_bytes"] < figures["wide_bytes"]
    assert figures["store_bytes"] == figures["steps"] * 3 * 4  # one float32 per step and channel, no padding
    assert set(figures["nets"]) == {"gru", "cnn1d"}
    assert all(v["streamed"] > 0 and v["wide"] > 0 for v in figures["nets"].values())


def test_cnn_recipe_scores_every_model_and_times_both_loops(tmp_path: Path) -> None:
    recipes = _run("cnn_recipe.py", "--part", "recipes", "--quick", tmp_path=tmp_path)["results"]
    assert set(recipes["photos"]) == {"w16-32-64_e6", "mlp"}
    for r in recipes["photos"].values():
        assert 0.0 <= r["cv"] <= 1.0 and r["cpu_per_fold"] > 0 and len(r["best"]) == 2
    speed = _run("cnn_recipe.py", "--part", "throughput", "--quick", tmp_path=tmp_path)["results"]
    assert speed["bare"]["images_per_cpu_s"] > 0 and 0.2 < speed["ratio_cpu"] < 5


def test_gpu_check_runs_its_cpu_sides(tmp_path: Path) -> None:
    """The GPU check's CPU sides (what a lent GPU is compared with): each part records its sides, CatBoost's .cbm
    and XGBoost's UBJ predict as the fitted models did, LightGBM and XGBoost are timed at every thread count asked."""
    pytest.importorskip("catboost")
    parts = ("lightgbm", "catboost", "xgboost", "shared")
    args = ("--parts", *parts, "--devices", "cpu", "--rows", "1500", "--lgbm-rows", "1500")
    rows = _run("gpu_check.py", *args, "--cpu-threads", "2", "--work", str(tmp_path), tmp_path=tmp_path)
    lgbm = [r for r in rows if r["part"] == "lightgbm"]
    assert [(r["device_type"], r["threads"]) for r in lgbm] == [("cpu", 1), ("cpu", 2)]
    assert lgbm[0]["score"] == lgbm[1]["score"] > 0.8  # same trees at any thread count
    (cat,) = [r for r in rows if r["part"] == "catboost"]
    assert cat["task_type"] == "CPU" and cat["reload_diff"] == 0.0 and cat["score"] > 0.6
    xgb = [r for r in rows if r["part"] == "xgboost"]
    assert [(r["device"], r["threads"]) for r in xgb] == [("cpu", 1), ("cpu", 2)]
    assert xgb[0]["score"] == xgb[1]["score"] > 0.8 and xgb[0]["reload_diff"] == xgb[1]["reload_diff"] == 0.0
    assert [(r["device"], r["exit"]) for r in rows if r["part"] == "shared"] == [("cpu", 0)]


def test_fold_pooling_scores_both_poolings_of_the_same_fitted_models(tmp_path: Path) -> None:
    """The script re-pools the stored fold predictions (checking its own pooling against what the runner stored)
    and scores the probabilities' mean and the kit's pool on the hidden rows: the two differ for a 7-class model, and
    for the fold fits of a stack of the run's models."""
    args = ("--quick", "--datasets", "anes96,breast_cancer", "--metric", "log_loss")  # breast cancer: not its AUC
    figures = _run("fold_pooling.py", *args, tmp_path=tmp_path)
    for name in ("anes96", "breast_cancer"):
        (entry,) = figures[name]
        scores = entry["scores"]
        assert f"[{entry['submitted']}]" in scores and {"lgbm", "xgb"} <= set(scores)
    mean, pooled = figures["anes96"][0]["scores"]["lgbm"]
    assert 1.0 < pooled < 1.8 and abs(mean - pooled) > 1e-4
    assert 0.05 < figures["breast_cancer"][0]["scores"]["lgbm"][1] < 0.6  # a log loss (its AUC is about 0.98)
    assert figures["anes96"][0]["scores"]["baseline"][0] == pytest.approx(figures["anes96"][0]["scores"]["baseline"][1])
    stack_mean, stack_pooled = figures["anes96"][0]["scores"]["{stack}"]  # the stack's fold fits, pooled both ways
    assert 1.0 < stack_pooled < 1.8 and stack_mean != stack_pooled


def test_linear_levels_runs_each_cap_on_each_table_and_the_preset(tmp_path: Path) -> None:
    """Each table's linear model under each max_levels value, and good's submission on houses with each: figures
    that are scores (an RMSLE, an AUC), the same tables for every value."""
    figures = _run("linear_levels.py", "--quick", tmp_path=tmp_path)
    assert set(figures) == {"houses", "shops", "houses_good"}
    for table in ("houses", "shops", "houses_good"):
        assert set(figures[table]) == {"50", "auto"}
    assert all(0.0 < figures["houses"][v]["cv"] < 1.0 for v in ("50", "auto"))  # RMSLE of prices near 30,000
    assert all(0.5 < figures["shops"][v]["cv"] <= 1.0 for v in ("50", "auto"))
    assert all(figures["houses_good"][v]["submitted"] for v in ("50", "auto"))


def test_lgbm_bins_fits_each_kind_at_each_bin_count_on_the_same_folds(tmp_path: Path) -> None:
    """Both LightGBM kinds at each max_bin, on the wide and tall tables made in the script: log losses and RMSEs of
    sense, and the bin count reaching LightGBM (fewer bins give other scores)."""
    figures = _run("lgbm_bins.py", "--quick", "--tables", "wide,tall", "--bins", "255,15", tmp_path=tmp_path)
    assert set(figures) == {"wide", "tall"}
    for table, (low, high) in {"wide": (0.2, 1.1), "tall": (0.5, 5.0)}.items():
        models = figures[table]["models"]
        assert set(models) == {f"{k}_{b}" for k in ("lightgbm", "lightgbm_xt") for b in (255, 15)}
        assert all(low < m["cv"] < high for m in models.values()), models
        assert models["lightgbm_255"]["cv"] != models["lightgbm_15"]["cv"]


def test_date_parts_runs_both_variants_on_both_tables(tmp_path: Path) -> None:
    """Each table with the preset's date parts and without: a CV per model and a hidden RMSE for each, from the same
    models."""
    figures = _run("date_parts.py", "--quick", tmp_path=tmp_path)
    assert set(figures) == {"sales", "rides"}
    for entry in figures.values():
        assert set(entry) == {"date parts", "days since 1970"}
        assert set(entry["date parts"]["models"]) == set(entry["days since 1970"]["models"]) == {"lgbm", "linear"}
        assert all(0 < v["hidden_rmse"] < 500 for v in entry.values())


def test_lgbm_categoricals_fits_each_variant_of_each_kind_and_scores_the_hidden_rows(tmp_path: Path) -> None:
    """Both LightGBM kinds under LightGBM's own group size and the kit's, on every table made in the script: scores
    of sense on the hidden rows, and the group size reaching LightGBM (200 rows: the kit's 20 scores otherwise)."""
    figures = _run("lgbm_categoricals.py", "--quick", tmp_path=tmp_path)
    assert set(figures) == {f"{t}-200" for t in ("decks", "shops", "zips", "mixed")}
    ranges = {"decks": (0.5, 1.0), "shops": (0.5, 3.0), "zips": (0.4, 1.0), "mixed": (0.5, 1.2)}
    for name, entry in figures.items():
        low, high = ranges[name.split("-")[0]]
        models = entry["models"]
        assert set(models) == {
            f"{k}_{v}" for k in ("lightgbm", "lightgbm_xt") for v in ("lightgbm100", "kit", "group20")
        }
        assert all(low < m["hidden"] < high for m in models.values()), (name, models)
    decks = figures["decks-200"]["models"]
    assert (
        decks["lightgbm_kit"]["hidden"]
        == decks["lightgbm_group20"]["hidden"]
        != decks["lightgbm_lightgbm100"]["hidden"]
    )


def test_thresholds_scores_both_labellings_of_the_same_predictions(tmp_path: Path) -> None:
    """Each dataset's hidden accuracy at 0.5 and at the OOF threshold (the one submit uses), from one run."""
    figures = _run("thresholds.py", "--quick", "--datasets", "breast_cancer,synth_imbalanced", tmp_path=tmp_path)
    assert set(figures) == {"breast_cancer", "synth_imbalanced"}
    for entry in figures.values():
        (row,) = entry["splits"]
        assert 0.6 < row["at_0.5"] <= 1.0 and 0.6 < row["at_chosen"] <= 1.0 and 0.0 < row["threshold"] < 1.0
    imbalanced = figures["synth_imbalanced"]["splits"][0]
    assert imbalanced["threshold"] != 0.5 and imbalanced["at_chosen"] != imbalanced["at_0.5"]


def test_arithmetic_features_scores_both_variants_on_the_same_folds(tmp_path: Path) -> None:
    """Each table's LightGBM-XT with its columns as they are and with the pairs added: scores of sense, from the same
    folds, and the pairs reaching the model (another score)."""
    figures = _run("arithmetic_features.py", "--quick", "--datasets", "diabetes,fair", tmp_path=tmp_path)
    assert set(figures) == {"diabetes", "fair"}
    for name, (low, high) in {"diabetes": (30.0, 90.0), "fair": (0.55, 0.9)}.items():
        scores = figures[name]["scores"]
        assert set(scores) == {"as they are", "with pairs"}
        assert all(low < s < high for v in scores.values() for s in v), scores
        assert scores["as they are"] != scores["with pairs"]


def test_arithmetic_pairs_are_the_sums_differences_products_and_ratios() -> None:
    from arithmetic_features import with_pairs  # benchmarks/ is on the path (above)

    X = np.array([[6.0, 3.0, 1.0], [1.0, 0.0, 2.0]])
    out = with_pairs(X, [0, 1])
    np.testing.assert_array_equal(out[:, :3], X)
    np.testing.assert_array_equal(out[:, 3:6], [[9.0, 3.0, 18.0], [1.0, 1.0, 0.0]])
    assert out[0, 6] == 2.0 and np.isnan(out[1, 6])  # 6 / 3, and 1 / 0 is missing


def test_arithmetic_member_blends_with_and_without_the_member_of_one_run(tmp_path: Path) -> None:
    figures = _run("arithmetic_member.py", "--quick", "--datasets", "diabetes", "--split-seeds", "0,1",
                   tmp_path=tmp_path)  # fmt: skip
    splits = figures["diabetes"]
    assert set(splits) == {"0", "1"}
    for entry in splits.values():
        assert 30.0 < entry["member_cv"] < 90.0 and 30.0 < entry["member_test"] < 90.0
        assert "lgbm_ar" in entry["fit_seconds"] and entry["without"]["submitted"] != "lgbm_ar"
        assert entry["instead"]["submitted"] != "lgbm_xt"  # the member in the place of the plain one
    # the member counts where the blends may take it: a different submission on at least one split
    assert any(e["with"]["test"] != e["without"]["test"] for e in splits.values())


def test_bag_means_scores_both_verdicts_on_one_run(tmp_path: Path) -> None:
    figures = _run("bag_means.py", "--quick", "--datasets", "breast_cancer", "--split-seeds", "0", "--seeds", "2",
                   tmp_path=tmp_path)  # fmt: skip
    entry = figures["breast_cancer-0"]
    assert entry["bags"] == 1  # the fast preset's LightGBM and 2 more seeds of it
    for which in ("before", "after"):
        assert 0.9 < entry[which]["test"] <= 1.0 and entry[which]["pick"]
    assert entry["before"]["pick"] != "lgbm_bag"  # the copy without bags has no bag mean to pick


def test_run_phases_times_each_phase_and_reads_the_same_frames(tmp_path: Path) -> None:
    figures = _run("run_phases.py", "--quick", tmp_path=tmp_path)
    assert figures["reads"]["same_frames"] is True
    phases = figures["phases"]
    for name in ("run: read the files", "run: folds (made and saved)", "run: fits (worker pool)", "BLEND (method all)",
                 "SUBMIT", "REPORT"):  # fmt: skip
        assert phases[name] >= 0, name
    assert phases["RUN (all of run())"] >= phases["run: fits (worker pool)"]
    assert figures["calls"]["run: read the files"] == 1  # the run reads its files once
    assert figures["folds"]["fit_seconds"] > 0
