"""Where a search's configs come from: drawn at random from ``(seed, family, index)``, or asked of Optuna's TPE.

Random: config ``i`` of a family depends on the seed, the family and ``i`` only, never on how many configs the
search has, so a rerun with a larger ``n_configs`` keeps every config it had and adds new ones.

TPE (``sampler = "tpe"``): one Optuna study, ``search``, stored in ``<run>/search/search.db`` (SQLite), which a user
opens with ``optuna.load_study(study_name="search", storage="sqlite:///<run>/search/search.db")``. Each trial is one
config: its parameters are named ``<family>.<param>`` (TPE models each family's parameters on that family's trials),
its user attributes name the model, family and index, its value is the config's CV score. Every asked trial is in
the study before it is fitted, so a stopped search re-asks nothing: a resume takes the asked configs back from the
study. The sampler is re-seeded from ``(seed, trial number)`` before each ask, so a resumed study asks what an
uninterrupted one would have (its history being the same).
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ...errors import ConfigError
from .spaces import Space

INSTALL_HINT = "pip install 'kaggle-kit[search]'"
STUDY_NAME = "search"


def config_rng(seed: int, family: str, index: int) -> np.random.Generator:
    """The random stream of config ``index`` of ``family``: a function of these three values alone."""
    return np.random.default_rng([seed, zlib.crc32(family.encode()), index])


def sample_params(space: Space, seed: int, index: int) -> dict[str, Any]:
    """Config ``index`` of ``space``, drawn at random (each parameter in the space's declared order)."""
    rng = config_rng(seed, space.family, index)
    return {name: dim.sample(rng) for name, dim in space.params.items()}


def import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise ConfigError(
            f"search.sampler = 'tpe' needs Optuna, which is not installed; {INSTALL_HINT} (or use sampler = 'random')"
        ) from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


class TPESearch:
    """The search's Optuna study in ``path`` (SQLite), asked and told one config at a time."""

    def __init__(self, path: Path, *, seed: int, maximize: bool) -> None:
        self.optuna = import_optuna()
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.seed = path, seed
        self.study = self.optuna.create_study(
            study_name=STUDY_NAME,
            storage=f"sqlite:///{path}",
            direction="maximize" if maximize else "minimize",
            load_if_exists=True,
        )

    @property
    def storage_url(self) -> str:
        return f"sqlite:///{self.path}"

    def asked(self) -> dict[str, tuple[int, dict[str, Any]]]:
        """model name -> (trial number, decoded params) of every config asked so far."""
        out: dict[str, tuple[int, dict[str, Any]]] = {}
        for trial in self.study.get_trials(deepcopy=False):
            name = trial.user_attrs.get("model")
            if name is not None:
                out[name] = (trial.number, dict(trial.user_attrs.get("config", {})))
        return out

    def ask(self, space: Space, name: str, index: int) -> tuple[int, dict[str, Any]]:
        """A new config of ``space``: the trial's number and its params (recorded in the study before any fit)."""
        number = len(self.study.get_trials(deepcopy=False))
        self.study.sampler = self.optuna.samplers.TPESampler(
            seed=(self.seed * 1_000_003 + number) % 2**32, constant_liar=True
        )
        dists: dict[str, Any] = {}
        for pname, dim in space.params.items():
            dists.update(dim.distributions(f"{space.family}.{pname}"))
        trial = self.study.ask(fixed_distributions=dists)
        params = {
            pname: _plain(dim.decode(f"{space.family}.{pname}", trial.params)) for pname, dim in space.params.items()
        }
        for key, value in {"model": name, "family": space.family, "index": index, "config": params}.items():
            trial.set_user_attr(key, value)
        return trial.number, params

    def tell(self, number: int, value: float | None) -> None:
        """The config's CV score, or None for a failed config; a trial already finished is left as it is."""
        state = self.study.get_trials(deepcopy=False)[number].state
        if state.is_finished():
            return
        if value is None or not np.isfinite(value):
            self.study.tell(number, state=self.optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(number, float(value))


def _plain(value: Any) -> Any:
    """numpy scalars -> Python values (params go to JSON, TOML and the content key)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def plain_params(params: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in params.items()}
