"""A finished run folder opened for reading only: its record, its spec, its models' verified fold folders.

Nothing here writes: the folder may be a read-only mount (``/kaggle/input/<dataset>/``) at another path than the
one it was made at, where the config folder recorded in ``run.json`` does not exist.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import __version__
from ..blend.storage import blend_names, external_sources
from ..config import BASELINE_NAME, SAFE_NAME, CompetitionSpec, ModelSpec, build_spec
from ..errors import ConfigError, StoreError, allowed, did_you_mean
from ..metrics import Metric, run_metric
from ..models import FitContext
from ..runtime.folds import Folds
from ..runtime.store import FORMAT_VERSION, FoldResult, RunStore

try:
    import tomllib
except ModuleNotFoundError:  # pragma: no cover - Python 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class RunFolder:
    """``run.json``, ``spec.toml`` and the folds of a run folder (:mod:`kaggle_kit.runtime.store` has its layout)."""

    store: RunStore
    meta: dict[str, Any]
    spec: CompetitionSpec
    metric: Metric

    @classmethod
    def open(cls, run_dir: Path | str) -> RunFolder:
        store = RunStore(run_dir)
        meta = store.read_meta()
        made_by = _made_by(meta)
        made = meta.get("format_version")
        if isinstance(made, int) and made > FORMAT_VERSION:
            raise StoreError(
                f"{store.meta_path} is of run folder format {made}{made_by}; this kaggle_kit {__version__} reads "
                f"format {FORMAT_VERSION}: read it with the kaggle_kit that made the run"
            )
        spec_path = store.root / "spec.toml"
        if not spec_path.is_file():
            raise StoreError(f"{spec_path} is missing; rerun `kaggle-kit run CONFIG` to write it (nothing is refit)")
        config_dir = Path(meta.get("config_dir") or store.root)
        # data paths are relative to the config folder; moved elsewhere (a Kaggle dataset) it is gone: the run folder
        base = config_dir if config_dir.is_dir() else store.root
        try:
            spec = build_spec(tomllib.loads(spec_path.read_text()), base_dir=base, source=str(spec_path))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(f"{spec_path} is corrupted ({exc}); rerun `kaggle-kit run CONFIG` to write it") from None
        except ConfigError as exc:
            if not made_by:  # this version's own spec: the message is the spec's to fix
                raise
            # the keys of another version's spec (a run made by a newer kit, read on Kaggle by an older one): no
            # key of the run folder is the user's to fix
            raise StoreError(
                f"{exc}\n(the run was made{made_by}, and this is kaggle_kit {__version__}: read it with the "
                "kaggle_kit that made the run, or rerun `kaggle-kit run CONFIG` with this one)"
            ) from None
        return cls(store, meta, spec, run_metric(meta))

    @property
    def root(self) -> Path:
        return self.store.root

    @property
    def n_classes(self) -> int:
        if self.meta.get("targets"):  # a multi-target run: one output per target column
            return len(self.meta["targets"])
        classes = self.meta.get("classes")
        return len(classes) if classes is not None else 1

    @property
    def columns(self) -> list[str]:
        """The stored prediction columns: ``p_<label>`` per class, ``prediction``, or one per bin / level; per target
        of a multi-target run (``p_<target>`` / ``pred_<target>``)."""
        if self.meta.get("grid") is not None:
            from ..metrics import grid_columns

            return grid_columns(self.metric)
        if self.meta.get("targets"):
            from ..runtime.runner import target_columns

            return target_columns(self.meta["task"], self.meta["targets"])
        classes = self.meta.get("classes")
        return ["prediction"] if classes is None else [f"p_{c}" for c in classes]

    def model_names(self) -> list[str]:
        """The run's current models that finished, the baseline first."""
        return [n for n in self.store.current_models() if self.store.has_summary(n) and self._ok(n)]

    def _ok(self, name: str) -> bool:
        return self.store.read_summary(name).status == "ok"

    def check_model(self, name: str) -> str:
        """``name`` if it is a finished model of the run, else an error listing those there are."""
        names = self.model_names()
        if name not in names and name in blend_names(self.root):
            raise ConfigError(
                f"{name!r} is a blend of the run {str(self.root)!r}, not a model: name it with --blend {name} "
                f"(blend={name!r} in Python)"
            )
        if name not in names and name not in self.store.current_models() and name in external_sources(self.root):
            raise ConfigError(
                f"{name!r} are predictions imported into the run {str(self.root)!r} (made elsewhere): there is no "
                f"model here to predict new rows with; name a model of the run ({allowed(names)}), or submit their "
                f"stored test predictions with `kaggle-kit submit {self.root} --model {name}`"
            )
        if name not in names and name in self.store.current_models() and self.store.has_summary(name):
            summary = self.store.read_summary(name)  # a model of the run that failed, or that a time limit cut
            raise ConfigError(
                f"model {name!r} did not finish in {str(self.root)!r} ({summary.why}): it has no model for every "
                f"fold; {summary.rerun}. The finished models are {allowed(names)}"
            )
        if name not in names and name in self.store.not_run():  # listed, never run (`run --only` left it out)
            raise self.store.not_run_error(name)
        if name not in names:
            raise ConfigError(
                f"no finished model named {name!r} in {str(self.root)!r}; it has {allowed(names)}."
                + did_you_mean(name, names)
            )
        from ..runtime.pseudo import pseudo_base

        plain = pseudo_base(name) or name  # a pseudo-labelled model: <model>@pl<round>
        if not SAFE_NAME.match(plain) or ".." in plain:  # run.json may have been crafted: it names a folder
            raise ConfigError(f"the model name {name!r} must be a plain name as on the leaderboard (it names a folder)")
        return name

    def model_spec(self, name: str) -> ModelSpec:
        if name == BASELINE_NAME:
            from ..runtime.runner import baseline_spec

            return baseline_spec()
        from ..runtime.pseudo import pseudo_base

        base = pseudo_base(name)
        if base is not None:  # its fold models were fitted as the base model (with pseudo-labelled rows added)
            return self.spec.model(base).model_copy(update={"name": name})
        return self.spec.model(name)

    def key(self, name: str) -> str:
        return self.store.current_models()[name]

    def folds(self) -> Folds:
        from ..blend.inputs import run_folds

        return run_folds(self.store)

    def fold(self, name: str, repeat: int, fold: int) -> tuple[Path, FoldResult]:
        """A fold's folder and result, every file checked against the SHA-256 in its ``result.json``."""
        folder = self.store.fold_dir(name, self.key(name), repeat, fold)
        checked = self.store.check_fold(folder)
        if not isinstance(checked, FoldResult):
            raise StoreError(
                f"{checked}: model {name!r} repeat {repeat} fold {fold + 1} cannot be used; rerun "
                "`kaggle-kit run CONFIG` on a writable copy to refit that fold"
            )
        return folder, checked

    def fit_context(
        self, repeat: int, *, threads: int, device: str, images: Any = None, sequences: Any = None
    ) -> FitContext:
        """What the runner told the model when it fitted fold ``repeat`` (the seed is the spec's + the repeat);
        ``images`` / ``sequences``: the streamed image files / sequences of the rows to predict."""
        return FitContext(
            task=self.meta["task"],
            n_classes=self.n_classes,
            metric=self.metric,
            seed=self.spec.seed + repeat,
            device=device,
            threads=threads,
            images=images,
            sequences=sequences,
        )

    def read_json(self, path: Path) -> Any:
        try:
            return json.loads(path.read_text())
        except FileNotFoundError:
            raise StoreError(f"{path} is missing; rerun `kaggle-kit run CONFIG` to refit that fold") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise StoreError(f"{path} is corrupted ({type(exc).__name__}); rerun `kaggle-kit run CONFIG`") from None


def _made_by(meta: dict[str, Any]) -> str:
    """`` by kaggle_kit X`` where ``run.json`` names another kaggle_kit version than this one, else empty."""
    version = meta.get("kit_version")
    return f" by kaggle_kit {version}" if isinstance(version, str) and version != __version__ else ""
