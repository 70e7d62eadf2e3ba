"""Deep Maximum Entropy IRL (Wulfmeier, Ondruska & Posner 2016).

A neural reward ``r_psi(features)`` (an MLP over each state's features, or a
fully convolutional network over the grid of feature maps) trained by
maximising the maximum-entropy demonstration likelihood. The reward-table
gradient "expert visitation minus expected visitation" comes from the exact
soft-optimal planner (:func:`~irlax.algorithms.mce.mce_log_likelihood_and_grad`)
and is back-propagated through the network (the paper's eq. 11).
"""

from __future__ import annotations

from dataclasses import dataclass

from jax import Array

from irlax.algorithms import mce
from irlax.algorithms.mce import MCEConfig
from irlax.algorithms.tabular_fit import (
    Problem,
    TabularIRLResult,
    fit_problem,
    validated_jit,
)
from irlax.data.trajectories import Trajectories
from irlax.envs.tabular import TabularMDP
from irlax.errors import IrlaxError
from irlax.rewards.base import RewardModel
from irlax.rewards.neural import conv_reward, mlp_reward

ARCHITECTURES = ("mlp", "conv")


@dataclass(frozen=True)
class DeepMaxEntConfig(MCEConfig):
    """Configuration of Deep MaxEnt IRL: MCE IRL's settings (planning horizon and tolerances) and a network."""

    learning_rate: float = 0.01
    """Step size of the optimiser (smaller than the linear methods': a network is steeper)."""
    l2: float = 1e-2
    """L2 weight decay on the network weights (the paper's regulariser)."""
    architecture: str = "mlp"
    """``mlp`` (per-state network) or ``conv`` (fully convolutional over a grid MDP)."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the MLP, or channels of the hidden convolutions."""
    kernel: int = 3
    """Spatial size of the hidden convolutions (``conv`` only)."""


def deep_reward_model(config: DeepMaxEntConfig, mdp: TabularMDP) -> RewardModel:
    """The network the config names, for this MDP's features and grid."""
    if config.architecture not in ARCHITECTURES:
        raise IrlaxError(f"unknown architecture {config.architecture!r}; choose one of {', '.join(ARCHITECTURES)}")
    if config.architecture == "mlp":
        return mlp_reward(config.hidden)
    if mdp.grid_shape is None or mdp.state_action_features:
        raise IrlaxError("the conv reward needs a grid MDP (grid_shape) with state features")
    return conv_reward(mdp.grid_shape, config.hidden, config.kernel)


def problem(
    config: DeepMaxEntConfig, mdp: TabularMDP, demos: Trajectories, reward_model: RewardModel | None = None
) -> Problem:
    """The Deep MaxEnt problem: MCE IRL's (same likelihood) with the config's network as the reward."""
    return mce.problem(config, mdp, demos, reward_model or deep_reward_model(config, mdp))


def fit(
    config: DeepMaxEntConfig,
    key: Array,
    mdp: TabularMDP,
    demos: Trajectories,
    reward_model: RewardModel | None = None,
) -> TabularIRLResult:
    """Fit a neural reward by Deep MaxEnt IRL (Wulfmeier et al. 2016).

    Pure in ``(config, key, mdp, demos)``: ``jax.jit(fit, static_argnums=(0, 4))`` and
    ``jax.vmap`` over keys (network initialisations), MDPs and demonstrations work.
    """
    return fit_problem(problem(config, mdp, demos, reward_model), key, config.iterations)


fit_jit = validated_jit(fit)
