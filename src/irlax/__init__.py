"""irlax: inverse reinforcement learning on JAX.

Layers, top to bottom (nothing below imports from above): ``cli`` / ``report``;
``algorithms`` (MaxEnt, MCE, Deep MaxEnt IRL, apprenticeship learning, MMP); ``rl`` (exact planners,
occupancy measures, sampling); ``rewards`` (linear, MLP, conv reward models);
``envs`` + ``data`` (tabular MDPs, worlds, demonstrations); ``metrics``.
"""

from irlax.algorithms import apprenticeship, deep_maxent, maxent, mce, mmp
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
    "apprenticeship",
    "deep_maxent",
    "from_dense",
    "load_trajectories",
    "make_mdp",
    "make_trajectories",
    "maxent",
    "mce",
    "mmp",
    "save_trajectories",
]
