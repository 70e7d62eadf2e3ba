"""irlax: inverse reinforcement learning on JAX.

Layers, top to bottom (nothing below imports from above): ``cli`` / ``report``;
``algorithms`` (MaxEnt, MCE, Deep MaxEnt IRL, apprenticeship learning, MMP; behavioural cloning;
GCL, GAIL, AIRL); ``rl`` (exact planners, occupancy measures, sampling; PPO, SAC); ``rewards`` (linear,
MLP, conv reward models; rewards and discriminators over transitions); ``envs`` + ``data`` (tabular MDPs,
worlds, control tasks, demonstrations); ``metrics`` (EVD; Pearson, EPIC).
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
]
