"""PPO (Schulman et al. 2017): config, networks, losses and the learner, split as brax's agents are."""

from irlax.learners.ppo.config import PPOConfig, check_config, num_minibatches, steps_per_iteration
from irlax.learners.ppo.learner import PPOAgent, PPOLosses, make_ppo, optimizer, policy_params
from irlax.learners.ppo.losses import (
    PPOBatch,
    PPOLossInfo,
    clipped_surrogate_loss,
    gae_advantages,
    normalized_advantages,
    ppo_loss,
    value_loss,
)
from irlax.learners.ppo.networks import PolicyParams, PPOParams, actor_network, critic_network

__all__ = [
    "PPOAgent", "PPOBatch", "PPOConfig", "PPOLossInfo", "PPOLosses", "PPOParams", "PolicyParams",
    "actor_network", "check_config", "clipped_surrogate_loss", "critic_network", "gae_advantages", "make_ppo",
    "normalized_advantages", "num_minibatches", "optimizer", "policy_params", "ppo_loss", "steps_per_iteration",
    "value_loss",
]
