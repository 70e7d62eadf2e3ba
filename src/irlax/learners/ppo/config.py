"""PPO's configuration."""

from __future__ import annotations

from dataclasses import dataclass

from irlax.errors import IrlaxError
from irlax.settings import check_fields


@dataclass(frozen=True)
class PPOConfig:
    """Configuration of PPO. Defaults follow stable-baselines3's ``PPO`` (SB3 2.x) except where noted.

    Tuned settings per task are in the task table (:mod:`irlax.tasks`).
    """

    num_envs: int = 16
    """Parallel environments (SB3 defaults to 1; 16 is the benchmark setting)."""
    num_steps: int = 128
    """Steps of each environment per iteration (SB3's ``n_steps``; its default is 2048)."""
    num_epochs: int = 4
    """Passes over each iteration's batch (SB3's ``n_epochs``; its default is 10)."""
    minibatch_size: int = 64
    """Transitions per Adam step (SB3's ``batch_size``); must divide ``num_envs * num_steps``."""
    learning_rate: float = 3e-4
    """Adam step size (Adam's epsilon is 1e-5, as SB3's and the original implementation's)."""
    lr_anneal_steps: int | None = None
    """Anneal the step size linearly to zero over this many environment steps; ``None``: constant."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE's lambda (Schulman et al. 2016)."""
    clip_eps: float = 0.2
    """Clipping range epsilon of the probability ratio."""
    clip_value: float | None = None
    """Clip the value update to this range around the old value (PPO2's pessimistic form); ``None``: no clipping."""
    ent_coef: float = 0.0
    """Weight of the entropy bonus."""
    vf_coef: float = 0.5
    """Weight of the value loss ``E[(V - R)^2]``."""
    max_grad_norm: float = 0.5
    """Clip the gradient's global norm to this."""
    normalize_advantages: bool = True
    """Standardise advantages within each minibatch."""
    scale_rewards: bool = False
    """Divide each iteration's rewards by the root mean square of its batch's non-terminal rewards
    (:func:`~irlax.learners.ppo.losses.rms_scaled_rewards`) before GAE, keeping the critic's targets near unit scale
    when the reward's scale drifts (a reward being learned); the policy's objective is unchanged up to that
    iteration's positive factor."""
    normalize_obs: bool = True
    """Normalise observations with running mean and variance (SB3's ``VecNormalize``, off in plain SB3)."""
    obs_clip: float = 10.0
    """Clip normalised observations to ``[-obs_clip, obs_clip]``."""
    hidden: tuple[int, ...] = (64, 64)
    """Hidden widths of the actor and of the critic (separate networks)."""
    activation: str = "tanh"
    """Hidden activation, a key of :data:`irlax.nn.networks.ACTIVATIONS`."""
    log_std_init: float = 0.0
    """Initial log standard deviation of continuous actions (state-independent, learned)."""

    def __post_init__(self) -> None:
        check_fields(self)


def steps_per_iteration(config: PPOConfig) -> int:
    """Environment steps of one iteration: ``num_envs * num_steps``."""
    return config.num_envs * config.num_steps


def num_minibatches(config: PPOConfig) -> int:
    """Adam steps per epoch: ``num_envs * num_steps / minibatch_size``."""
    return steps_per_iteration(config) // config.minibatch_size


def check_config(config: PPOConfig) -> None:
    """Raise :class:`IrlaxError` if ``config`` is inconsistent."""
    batch = steps_per_iteration(config)
    if min(config.num_envs, config.num_steps, config.num_epochs, config.minibatch_size) < 1:
        raise IrlaxError("PPO: num_envs, num_steps, num_epochs and minibatch_size must be at least 1")
    if batch % config.minibatch_size:
        raise IrlaxError(f"PPO: minibatch_size {config.minibatch_size} does not divide num_envs * num_steps = {batch}")
    if not 0.0 <= config.gamma <= 1.0 or not 0.0 <= config.gae_lambda <= 1.0:
        raise IrlaxError("PPO: gamma and gae_lambda must lie in [0, 1]")
