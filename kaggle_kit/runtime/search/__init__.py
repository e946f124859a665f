"""Searches over model families and the run's wall-clock budget.

- :mod:`~kaggle_kit.runtime.search.spaces`: the search space of each family, as data (:data:`SPACES`);
- :mod:`~kaggle_kit.runtime.search.sampler`: configs drawn from ``(seed, family, index)``, or asked of Optuna's TPE;
- :mod:`~kaggle_kit.runtime.search.plan`: configs as ModelSpecs named ``<family>_c<index>``;
- :mod:`~kaggle_kit.runtime.search.budget`: cost predictions and the waves a time limit allows;
- :mod:`~kaggle_kit.runtime.search.driver`: the loop :func:`kaggle_kit.runtime.runner.run` hands a search or a time
  limit to.

Example::

    from kaggle_kit import load_spec, run
    from kaggle_kit.config import SearchSpec

    spec = load_spec("competitions/demo-breast-cancer.toml")
    result = run(spec, search=SearchSpec(families=["lightgbm", "xgboost"], n_configs=8), time_limit=600)
    print(result.leaderboard())
"""

from __future__ import annotations

from .plan import Config, config_name, random_configs
from .sampler import sample_params
from .spaces import SPACES, Choice, Float, Int, Layers, Space, space_of

__all__ = [
    "SPACES",
    "Choice",
    "Config",
    "Float",
    "Int",
    "Layers",
    "Space",
    "config_name",
    "random_configs",
    "sample_params",
    "space_of",
]
