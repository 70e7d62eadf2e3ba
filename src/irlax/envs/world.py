"""A benchmark world: a tabular MDP together with its true reward."""

from __future__ import annotations

from typing import NamedTuple

from jax import Array

from irlax.envs.tabular import TabularMDP


class World(NamedTuple):
    """A generated benchmark: the MDP an IRL method sees and the reward it should recover.

    Attributes:
        mdp: the MDP (dynamics, features, initial distribution, discount, horizon).
        reward: the true reward, ``[S]`` (per state) or ``[S, A]`` (per state-action).
    """

    mdp: TabularMDP
    reward: Array
