#!/usr/bin/env bash
# Create (or refresh) the project's virtual environment and install kaggle_kit into it.
#
# torch rule: install torch==2.13.0 only where no torch is importable, and never replace a torch that is there
# (Kaggle images and CUDA machines ship their own build; an unpinned torch would pull gigabytes of CUDA wheels).
set -euo pipefail
venv="${1:-.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
if "$venv/bin/python" -c "import torch" >/dev/null 2>&1; then
    echo "bootstrap: keeping the torch already installed ($("$venv/bin/python" -c 'import torch; print(torch.__version__)'))"
else
    echo "bootstrap: no torch importable; installing torch==2.13.0"
    "$venv/bin/python" -m pip install --quiet "torch==2.13.0"
fi
"$venv/bin/python" -m pip install --quiet -e ".[dev]"
touch "$venv/.installed"
