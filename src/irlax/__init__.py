"""irlax: inverse reinforcement learning on JAX.

Packages from the bottom up (a module imports only from layers below it): ``errors``,
``atomic``/``settings``, ``report`` (files, checkpoints, plots, progress); ``envs``
(tabular MDPs and worlds; control tasks' ``EnvSpec`` and pure-JAX backend); ``data``
(demonstrations, transitions); ``tabular`` (exact planning, occupancy, feature
expectations, sampling) and ``nn`` (network pieces); ``rewards`` and ``metrics``;
``learners`` (PPO, SAC behind one ``Learner`` interface); ``tasks`` (the task table);
``algorithms`` (everything that trains on demonstrations, behind one ``Algorithm``
interface); ``run`` (the run driver, experts, assessment); ``cli``.
"""

from irlax.algorithms import apprenticeship, deep_maxent, maxent, mce, mmp, tabular_airl
from irlax.algorithms.tabular_fit import IterationMetrics, TabularIRLResult
from irlax.data.trajectories import Trajectories, load_trajectories, make_trajectories, save_trajectories
from irlax.envs.tabular import TabularMDP, from_dense, make_mdp
from irlax.errors import IrlaxError

__version__ = "0.1.0"

__all__ = [
    "IrlaxError",
    "IterationMetrics",
    "TabularIRLResult",
    "TabularMDP",
    "Trajectories",
    "airl",
    "apprenticeship",
    "deep_maxent",
    "from_dense",
    "gail",
    "gcl",
    "load_trajectories",
    "make_mdp",
    "make_trajectories",
    "maxent",
    "mce",
    "mmp",
    "save_trajectories",
    "tabular_airl",
]
