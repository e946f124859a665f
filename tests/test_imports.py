"""`import kaggle_kit` is cheap: no model library (and above all no torch) is imported until a model needs it."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("torch", "xgboost", "lightgbm", "sklearn", "matplotlib", "ray")  # ray: only for executor = "ray"


def _imported_after(code: str) -> list[str]:
    probe = f"import sys\n{code}\nimport json\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_kaggle_kit_imports_no_model_library() -> None:
    code = "import kaggle_kit, kaggle_kit.cli, kaggle_kit.runtime.runner, kaggle_kit.runtime.executors\n"
    code += "kaggle_kit.run, kaggle_kit.load_spec"
    assert _imported_after(code) == []


def test_fitting_trees_never_imports_torch() -> None:
    code = (
        "import numpy as np\n"
        "from kaggle_kit.config import ModelSpec\nfrom kaggle_kit.features import FeatureMatrix\n"
        "from kaggle_kit.metrics import get_metric\nfrom kaggle_kit.models import FitContext, make_adapter\n"
        "X = FeatureMatrix(np.random.default_rng(0).normal(size=(200, 3)).astype(np.float32), ('a','b','c'), ())\n"
        "y = (X.X[:, 0] > 0).astype(int)\n"
        "ctx = FitContext('binary', 2, get_metric('roc_auc'), 0, 'cpu', 1)\n"
        "for kind in ('xgboost', 'lightgbm'):\n"
        "    a = make_adapter(ModelSpec(name='m', kind=kind, num_boost_round=5))\n"
        "    a.predict(a.fit(X, y, X, y, ctx), X, ctx)"
    )
    imported = _imported_after(code)
    assert "xgboost" in imported and "lightgbm" in imported and "torch" not in imported


def test_the_command_line_parser_imports_no_blend_or_scipy() -> None:
    """Every command builds the whole parser: the predict subcommand's arguments imported the predict package, and
    with it the blends and scipy (1.3 s of `kaggle-kit leaderboard`'s 2.7 s); its function imports them when run."""
    probe = (
        "import sys\nimport kaggle_kit.cli as cli\ncli.build_parser()\n"
        "print([m for m in ('scipy', 'kaggle_kit.blend', 'kaggle_kit.predict') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
