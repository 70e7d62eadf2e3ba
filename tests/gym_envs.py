"""Small Gymnasium environments of a user's own, registered on import (``--env gym_envs:Failing-v0``).

- ``Walk-v0``: a point on a line, Box observation ``[x]``, Box action in ``[-1, 1]``, reward ``-|x|``.
- ``Failing-v0``: ``Walk-v0`` whose ``step`` raises at its fifth step.
- ``DictObs-v0`` / ``MultiDiscreteAct-v0``: spaces irlax does not support.
"""

from __future__ import annotations

import gymnasium
import numpy as np
from gymnasium import spaces


class Walk(gymnasium.Env):
    """A point on a line pushed by the action; the episode ends after 50 steps (time limit)."""

    observation_space = spaces.Box(-np.inf, np.inf, (1,), np.float32)
    action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)

    def __init__(self, fail_at: int | None = None) -> None:
        self.x, self.t, self.fail_at = 0.0, 0, fail_at

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.x, self.t = float(self.np_random.uniform(-1, 1)), 0
        return np.array([self.x], np.float32), {}

    def step(self, action: np.ndarray) -> tuple[np.ndarray, float, bool, bool, dict]:
        self.t += 1
        if self.fail_at is not None and self.t >= self.fail_at:
            raise RuntimeError("the simulator diverged")
        self.x += 0.1 * float(np.asarray(action).ravel()[0])
        return np.array([self.x], np.float32), -abs(self.x), False, False, {}


class DictObs(Walk):
    observation_space = spaces.Dict({"x": spaces.Box(-1.0, 1.0, (1,), np.float32)})


class MultiDiscreteAct(Walk):
    action_space = spaces.MultiDiscrete([2, 3])


for env_id, entry, kwargs in (("Walk-v0", Walk, {}), ("Failing-v0", Walk, {"fail_at": 5}),
                              ("DictObs-v0", DictObs, {}), ("MultiDiscreteAct-v0", MultiDiscreteAct, {})):
    if env_id not in gymnasium.registry:
        gymnasium.register(env_id, entry_point=entry, max_episode_steps=50, kwargs=kwargs)
