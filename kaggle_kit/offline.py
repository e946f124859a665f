"""Build a folder of wheels to install kaggle_kit in a Kaggle notebook that has no internet.

Kaggle's images already ship numpy, scipy, polars, scikit-learn, XGBoost, LightGBM, pydantic and torch; the folder
holds the kit's own wheel and the small pure-Python dependencies the images lack. Upload the folder as a Kaggle
dataset, attach it to the notebook, and install with::

    !pip install --no-index --find-links /kaggle/input/<dataset> kaggle_kit

``--no-index`` makes pip use only that folder; dependencies already in the image are kept as they are (torch and
the GBDT libraries are never replaced).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from .errors import KitError
from .runtime.store import check_writable

#: Pure-Python dependencies of the kit that Kaggle's images do not ship.
EXTRA_WHEELS = ("tomli-w",)


def project_root() -> Path:
    """The source tree the kit is installed from (an editable install or a clone)."""
    root = Path(__file__).resolve().parents[1]
    if not (root / "pyproject.toml").is_file():
        raise KitError(
            f"no pyproject.toml next to {root / 'kaggle_kit'}: build the offline folder from a clone of the "
            "kaggle_kit repository (pip install -e .), not from an installed wheel"
        )
    return root


def build_offline_wheels(out_dir: Path | str, extra: Sequence[str] = EXTRA_WHEELS) -> list[Path]:
    """Write the kit's wheel and ``extra`` wheels into ``out_dir``; returns the wheel files there."""
    out = Path(out_dir)
    check_writable(out, "the wheels", "choose another folder")
    pip = [sys.executable, "-m", "pip"]
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    commands = [[*pip, "wheel", "--no-deps", "--quiet", "--wheel-dir", str(out), str(project_root())]]
    if extra:
        commands.append([*pip, "download", "--no-deps", "--only-binary=:all:", "--quiet", "--dest", str(out), *extra])
    for cmd in commands:
        done = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if done.returncode != 0:
            raise KitError(f"building the offline wheels failed: {' '.join(cmd)}\n{done.stderr.strip()[-2000:]}")
    return sorted(out.glob("*.whl"))
