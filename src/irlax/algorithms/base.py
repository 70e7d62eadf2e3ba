"""The one interface of everything that trains on demonstrations: :class:`Algorithm`.

Tabular IRL (MaxEnt, MCE, Deep MaxEnt, MMP, apprenticeship learning), behavioural
cloning and the sample-based IRL algorithms (GCL, GAIL, AIRL) are each built by a
factory that binds their config and static context (``make_gail(config, env)``,
``make_maxent(config)``, or by name :func:`irlax.algorithms.registry.make_algorithm`)
and return an :class:`Algorithm` whose functions take state and data only, in one
argument order:

- ``init(key, data) -> state``;
- ``update(state, data, n) -> (state, metrics [n])``: ``n`` more steps (iterations,
  epochs or rounds); pure, one ``lax.scan``, jittable with ``n`` static and
  vmappable over states (seeds) when ``jittable``;
- ``policy(state, data)``: the imitation policy's parameters (act with ``act``),
  or the tabular policy ``log pi [S, A]`` / ``[H, S, A]``;
- ``reward(state, data)``: the learned reward, as parameters of ``reward_fn``
  (control tasks) or a reward table ``[S]`` / ``[S, A]``; ``None`` without one (BC).

``data`` is the demonstrations (control tasks) or :class:`TabularData` (the MDP and
the demonstrations). It is always an argument, never closed over: closing over
arrays makes XLA fold them into the program.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from irlax.data.trajectories import Trajectories
from irlax.data.transitions import RewardFn
from irlax.envs.tabular import TabularMDP


class TabularData(NamedTuple):
    """What a tabular algorithm trains on: the MDP (dynamics and features) and the demonstrations."""

    mdp: TabularMDP
    demos: Trajectories


@dataclass(frozen=True)
class Algorithm:
    """An algorithm that trains on demonstrations, with its config and context bound.

    Equal (and hashing) by name, config, run length, task spec, environment, inner learner and expert, so that
    it is a static argument of ``jax.jit`` and two algorithms built alike share compiled programs.

    Attributes:
        name: its registry name, e.g. ``"gail"``.
        config: its frozen config.
        num_steps: the steps (``update``'s unit: iterations, epochs or rounds) of a whole run.
        init: ``init(key, data) -> state``.
        update: ``update(state, data, n) -> (state, metrics)``, metrics a :attr:`metrics` stacked ``[n]``.
        metrics: the NamedTuple class of one step's metrics.
        policy: ``policy(state, data)``: the imitation policy (parameters of ``act``, or a tabular log-policy).
        reward: ``reward(state, data)``: the learned reward's parameters or table; ``None`` without one.
        act: the policy family ``policy`` belongs to (an object with ``act(params, key, obs, deterministic)``),
            ``None`` for tabular algorithms.
        reward_fn: the learned reward of a transition, ``reward_fn(reward(state, data), obs, action, next_obs,
            terminated)`` (control tasks; ``None`` otherwise).
        result: ``result(state, data, metrics)``, the finished run's result (tabular algorithms; ``None``: the
            state is the result).
        check: ``check(data)``, validation of concrete data before anything is traced (one-line
            :class:`~irlax.errors.IrlaxError`); the run driver calls it. ``None``: nothing to check.
        spec: the control task it is for (``None`` for tabular algorithms, whose MDP is data).
        env: the environment it trains in (sample-based IRL; ``None`` when it needs none, as BC, or for tabular
            algorithms).
        learner: the forward learner inside (sample-based IRL), or ``None``.
        reward_model: the reward model a tabular algorithm was given (part of its identity), or ``None``.
        expert: the expert policy family an interactive algorithm queries (DAgger; part of its identity: its
            parameters are data), or ``None``.
        jittable: whether ``init`` and ``update`` are pure JAX (``False`` for a solver in the loop: apprenticeship
            learning's seeds run one after another).
        host_init, host_update: in a host-stepped environment (Gymnasium), ``init`` and ``update`` of all seeds at
            once, run from Python around jitted pieces: ``host_init(keys [K], data) -> state [K]`` and
            ``host_update(state [K], data, n) -> (state, metrics [K, n])``. ``None``: the algorithm runs only in
            pure-JAX environments.
        description: one line for help texts.
    """

    name: str
    config: Any
    num_steps: int
    init: Callable[[Any, Any], Any] = field(compare=False, repr=False)
    update: Callable[[Any, Any, int], tuple[Any, Any]] = field(compare=False, repr=False)
    metrics: type = field(compare=False, repr=False)
    policy: Callable[[Any, Any], Any] = field(compare=False, repr=False)
    reward: Callable[[Any, Any], Any] | None = field(default=None, compare=False, repr=False)
    act: Any = field(default=None, compare=False, repr=False)
    reward_fn: RewardFn | None = field(default=None, compare=False, repr=False)
    result: Callable[[Any, Any, Any], Any] | None = field(default=None, compare=False, repr=False)
    check: Callable[[Any], None] | None = field(default=None, compare=False, repr=False)
    spec: Any = None
    env: Any = None
    learner: Any = None
    reward_model: Any = None
    expert: Any = None
    jittable: bool = True
    host_init: Callable[[Any, Any], Any] | None = field(default=None, compare=False, repr=False)
    host_update: Callable[[Any, Any, int], tuple[Any, Any]] | None = field(default=None, compare=False, repr=False)
    description: str = field(default="", compare=False)

    @property
    def on_host(self) -> bool:
        """Whether it trains in a host-stepped environment (then the run driver calls ``host_init``/``host_update``)."""
        return self.env is not None and self.env.spec.backend != "jax"
