"""Environments: tabular MDPs and the benchmark worlds built on them."""

from irlax.envs.binaryworld import BinaryworldConfig, make_binaryworld
from irlax.envs.cliffworld import make_cliffworld
from irlax.envs.grid import grid_transitions
from irlax.envs.gridworld import GridworldConfig, make_gridworld
from irlax.envs.objectworld import ObjectworldConfig, make_objectworld, objectworld_objects
from irlax.envs.random_mdp import make_random_mdp
from irlax.envs.tabular import TabularMDP, from_dense, make_mdp, to_dense
from irlax.envs.world import World

__all__ = [
    "BinaryworldConfig",
    "GridworldConfig",
    "ObjectworldConfig",
    "TabularMDP",
    "World",
    "from_dense",
    "grid_transitions",
    "make_binaryworld",
    "make_cliffworld",
    "make_gridworld",
    "make_mdp",
    "make_objectworld",
    "make_random_mdp",
    "objectworld_objects",
    "to_dense",
]
