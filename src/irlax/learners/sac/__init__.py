"""SAC (Haarnoja et al. 2018; discrete actions: Christodoulou 2019): config, networks, losses and the learner."""

from irlax.learners.sac.config import SACConfig, check_config, steps_per_iteration, target_entropy
from irlax.learners.sac.learner import (
    SACAgent,
    gradient_step,
    learning_steps,
    make_sac,
    no_learning,
    optimizers,
    policy_params,
    sac_batch_step,
)
from irlax.learners.sac.losses import (
    SACLossInfo,
    critic_targets,
    sac_actor_loss,
    sac_critic_loss,
    sac_critic_target,
    sac_temperature_loss,
    soft_state_value,
)
from irlax.learners.sac.networks import PolicyParams, SACOptState, SACParams, random_actions

__all__ = [
    "PolicyParams", "SACAgent", "SACConfig", "SACLossInfo", "SACOptState", "SACParams", "check_config",
    "critic_targets", "gradient_step", "learning_steps", "make_sac", "no_learning", "optimizers", "policy_params",
    "random_actions", "sac_actor_loss", "sac_batch_step", "sac_critic_loss", "sac_critic_target",
    "sac_temperature_loss", "soft_state_value", "steps_per_iteration", "target_entropy",
]
