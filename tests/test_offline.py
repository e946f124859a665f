"""The offline wheel folder installs into a clean virtual environment with pip's network use switched off."""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from kaggle_kit.offline import build_offline_wheels


@pytest.mark.slow
def test_offline_wheels_install_without_network_and_import(tmp_path: Path) -> None:
    wheels = build_offline_wheels(tmp_path / "wheels")
    names = sorted(w.name.split("-")[0].lower() for w in wheels)
    assert names == ["kaggle_kit", "tomli_w"]

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    # Stand in for a Kaggle image: the heavy packages (numpy, polars, xgboost, ...) are already importable, through a
    # .pth file pointing at this interpreter's site-packages; the kit and tomli-w are not.
    purelib = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    image = tmp_path / "image-site-packages"
    image.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.lower().startswith(("kaggle_kit", "__editable__", "tomli_w")):
            (image / entry.name).symlink_to(entry)
    (Path(purelib) / "kaggle_image.pth").write_text(f"{image}\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_NO_INDEX="1", PYTHONNOUSERSITE="1")
    site = subprocess.run([str(py), "-c", "import kaggle_kit"], capture_output=True, env=env, cwd=tmp_path)
    assert site.returncode != 0  # not importable before the install

    install = subprocess.run(
        [str(py), "-m", "pip", "install", "--no-index", "--find-links", str(tmp_path / "wheels"), "kaggle_kit"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert install.returncode == 0, install.stderr[-3000:]
    check = subprocess.run(
        [
            str(py),
            "-c",
            "import kaggle_kit, tomli_w; from kaggle_kit.config import load_spec; print(kaggle_kit.__file__)",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert check.returncode == 0, check.stderr[-3000:]
    assert str(venv) in check.stdout  # imported from the fresh environment, not from the source tree
    cli = subprocess.run([str(venv / "bin" / "kaggle-kit"), "--help"], capture_output=True, text=True, env=env)
    assert cli.returncode == 0 and "run" in cli.stdout
