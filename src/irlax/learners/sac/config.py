"""SAC's configuration."""

from __future__ import annotations

import math
from dataclasses import dataclass

from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError
from irlax.settings import check_fields


@dataclass(frozen=True)
class SACConfig:
    """Configuration of SAC. Defaults follow Haarnoja et al. (2018b) and SB3's ``SAC`` except where noted.

    Tuned settings per task are in the task table (:mod:`irlax.tasks`).
    """

    num_envs: int = 1
    """Parallel environments (one learns fastest per environment step)."""
    train_freq: int = 1
    """Steps of each environment per iteration (SB3's ``train_freq``)."""
    gradient_steps: int = 1
    """Gradient steps per iteration; the update-to-data ratio is ``gradient_steps / (num_envs * train_freq)``."""
    learning_starts: int = 1000
    """Environment steps of uniformly random actions, without gradient steps, before learning starts (SB3: 100)."""
    random_hold: float = 1.0
    """Mean number of steps each random action of the initial phase is held (redrawn with probability
    ``1 / random_hold`` per step); above 1 the random phase explores with temporally correlated actions."""
    buffer_size: int = 100_000
    """Replay capacity in transitions (the paper's is 1e6; 1e5 keeps vmapped seeds small in memory)."""
    batch_size: int = 256
    """Minibatch size of each gradient step."""
    gamma: float = 0.99
    """Discount factor."""
    tau: float = 0.005
    """Polyak step of the target critics after each gradient step: ``target <- tau * critic + (1 - tau) * target``."""
    actor_lr: float = 3e-4
    """Adam step size of the actor."""
    critic_lr: float = 3e-4
    """Adam step size of the critics."""
    alpha_lr: float = 3e-4
    """Adam step size of the log-temperature."""
    initial_alpha: float = 1.0
    """Initial temperature (the fixed one when ``autotune`` is off)."""
    autotune: bool = True
    """Adjust the temperature towards the target entropy (Haarnoja et al. 2018b, section 5)."""
    target_entropy: float | None = None
    """Entropy target; ``None``: ``-dim(A)`` for continuous actions, ``target_entropy_scale * log |A|`` for discrete."""
    target_entropy_scale: float = 0.98
    """Discrete actions: the target entropy's fraction of ``log |A|`` when ``target_entropy`` is ``None``."""
    hidden: tuple[int, ...] = (256, 256)
    """Hidden widths of the actor and of each critic."""
    activation: str = "relu"
    """Hidden activation, a key of :data:`irlax.nn.networks.ACTIVATIONS`."""
    log_std_min: float = -20.0
    """Lower clip of the actor's log standard deviation (continuous actions)."""
    log_std_max: float = 2.0
    """Upper clip of the actor's log standard deviation (continuous actions)."""
    normalize_obs: bool = False
    """Normalise observations with running mean and variance (off in the paper and SB3)."""
    obs_clip: float = 10.0
    """Clip normalised observations to ``[-obs_clip, obs_clip]``."""

    def __post_init__(self) -> None:
        check_fields(self)


def steps_per_iteration(config: SACConfig) -> int:
    """Environment steps of one iteration: ``num_envs * train_freq``."""
    return config.num_envs * config.train_freq


def target_entropy(config: SACConfig, spec: EnvSpec) -> float:
    """The entropy the temperature steers towards: ``-dim(A)``, or ``target_entropy_scale * log |A|`` (discrete)."""
    if config.target_entropy is not None:
        return config.target_entropy
    if spec.discrete:
        return config.target_entropy_scale * math.log(spec.action_size)
    return -float(spec.action_size)


def check_config(config: SACConfig) -> None:
    """Raise :class:`IrlaxError` if ``config`` is inconsistent."""
    if min(config.num_envs, config.train_freq, config.batch_size) < 1 or config.gradient_steps < 0:
        raise IrlaxError("SAC: num_envs, train_freq and batch_size must be at least 1, gradient_steps at least 0")
    if config.buffer_size < config.num_envs * config.train_freq:
        raise IrlaxError("SAC: buffer_size must hold at least one iteration's transitions (num_envs * train_freq)")
    if not 0.0 <= config.gamma <= 1.0 or not 0.0 < config.tau <= 1.0:
        raise IrlaxError("SAC: gamma must lie in [0, 1] and tau in (0, 1]")
    if config.random_hold < 1.0:
        raise IrlaxError("SAC: random_hold must be at least 1")
    if config.initial_alpha <= 0.0:
        raise IrlaxError("SAC: initial_alpha must be positive")
