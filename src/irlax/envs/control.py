"""The pure-JAX backend of control tasks: :class:`JaxEnv`, a thin adapter over gymnax.

:func:`make_jax_env` wraps a gymnax-style environment (the classic control tasks
of gymnax, irlax's point-mass mazes of :mod:`irlax.envs.point_maze`) with its
parameters and reads its :class:`~irlax.envs.spec.EnvSpec` off it. Tasks are
built by name through the task table, :func:`irlax.tasks.make_env`.

The adapter follows the gymnax 1.0 signature and keeps *terminated* (the task
ended: no bootstrap) and *truncated* (the time limit cut it: bootstrap from the
true next observation) apart. gymnax resets automatically at the end of an
episode, so :meth:`JaxEnv.step` returns both the observation to act on next
(``obs``, already the reset one after an episode ends) and the true successor of
this step (``next_obs``), which learners and demonstrations need.

Actions are in the environment's own units: an ``int32`` index for discrete
tasks, a ``[action_dim]`` float vector within ``[action_low, action_high]`` for
continuous ones (values outside are clipped by the environment).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import jax
import jax.numpy as jnp
from jax import Array

from irlax.envs.spec import EnvSpec, EnvStep, params_fingerprint


@dataclass(frozen=True)
class JaxEnv:
    """A pure-JAX environment (gymnax 1.0 signature) with its parameters, behind an :class:`EnvSpec`.

    Hashable by its spec (which includes the parameters that matter), so that it can be a static
    argument of ``jax.jit``.

    Attributes:
        spec: the static description learners, networks and rewards read.
        env, params: the gymnax environment and its ``EnvParams``.
    """

    spec: EnvSpec
    env: Any = field(compare=False, repr=False)
    params: Any = field(compare=False, repr=False)

    @property
    def name(self) -> str:
        """The task's name (``spec.name``)."""
        return self.spec.name

    def reset(self, key: Array) -> tuple[Array, Any]:
        """A fresh episode: ``(obs [O], state)``.

        The state's leaves are given strong types (gymnax leaves some weakly typed at reset, strongly typed
        after a step), so that a state's type is the same before and after stepping and a jitted program that
        takes it compiles once.
        """
        obs, state = self.env.reset(key, self.params)
        return obs.astype(jnp.float32), jax.tree.map(strong_type, state)

    def step(self, key: Array, state: Any, action: Array) -> EnvStep:
        """Advance one step with ``action`` (see :class:`EnvStep`); resets automatically at episode end."""
        obs, state, reward, terminated, truncated, info = self.env.step(key, state, action, self.params)
        # a truncated step that also terminates counts as terminated (no bootstrap)
        terminated = jnp.asarray(terminated, bool)
        truncated = jnp.logical_and(jnp.asarray(truncated, bool), ~terminated)
        return EnvStep(
            obs.astype(jnp.float32),
            state,
            jnp.reshape(reward, ()).astype(jnp.float32),
            terminated,
            truncated,
            info["final_observation"].astype(jnp.float32),
        )


def strong_type(x: Any) -> Any:
    """``x`` as an array of its own dtype, never weakly typed."""
    x = jnp.asarray(x)
    return jnp.asarray(x, x.dtype)


def gymnax_env(name: str) -> tuple[Any, Any]:
    """gymnax's environment called ``name`` and its default parameters."""
    import gymnax

    return gymnax.make(name)


def modified_gymnax_env(name: str, **changes: float) -> tuple[Any, Any]:
    """gymnax's ``name`` with some of its ``EnvParams`` changed (a task of modified dynamics, for transfer).

    CartPole's derived fields (``total_mass``, ``polemass_length``) follow its masses and length.
    """
    env, params = gymnax_env(name)
    params = params.replace(**changes)
    if name == "CartPole-v1":
        params = params.replace(total_mass=params.masscart + params.masspole,
                                polemass_length=params.masspole * params.length)
    return env, params


def point_maze_env(shifted: bool, start_anywhere: bool = False) -> tuple[Any, Any]:
    """irlax's point-mass maze (:mod:`irlax.envs.point_maze`), original or shifted (starting anywhere if
    ``start_anywhere``), and its parameters."""
    from irlax.envs.point_maze import make_point_maze

    return make_point_maze(shifted=shifted, start_anywhere=start_anywhere)


def make_jax_env(name: str, env: Any, params: Any) -> JaxEnv:
    """A :class:`JaxEnv` for a gymnax-style ``env`` with ``params``, its spec read off the environment."""
    obs, _ = env.reset(jax.random.PRNGKey(0), params)
    space = env.action_space(params)
    discrete = hasattr(space, "n")
    if discrete:
        size, low, high = int(space.n), (), ()
    else:
        size = int(space.shape[0])
        low = tuple(float(x) for x in jnp.broadcast_to(jnp.asarray(space.low), (size,)))
        high = tuple(float(x) for x in jnp.broadcast_to(jnp.asarray(space.high), (size,)))
    max_steps = int(params.max_steps_in_episode)
    spec = EnvSpec(name, int(obs.shape[-1]), discrete, size, low, high, max_steps, params_fingerprint(params), "jax")
    return JaxEnv(spec, env, params)


def reset_batch(env: JaxEnv, key: Array, num_envs: int) -> tuple[Array, Any]:
    """``num_envs`` fresh episodes: ``(obs [E, O], states)``."""
    return jax.vmap(env.reset)(jax.random.split(key, num_envs))


def step_batch(env: JaxEnv, key: Array, states: Any, actions: Array) -> EnvStep:
    """Step ``E`` environments at once (leaves of the result ``[E, ...]``)."""
    keys = jax.random.split(key, actions.shape[0])
    return jax.vmap(env.step)(keys, states, actions)
