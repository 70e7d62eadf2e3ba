"""The host-stepped backend of control tasks: any Gymnasium environment behind an :class:`EnvSpec`.

:class:`GymEnv` steps a batch of Gymnasium environments on the host (native
code such as MuJoCo runs on the CPU, outside jitted programs); the learners and
algorithms reach it through :mod:`irlax.learners.host`, a Python loop around
their jitted ``explore`` and ``learn`` functions (docs/design.md, "Host
environments", says why: a JAX callback inside a ``lax.scan`` costs about 220 us
per call on this CPU, a jitted dispatch from Python 15 us).

**The state is data.** Where irlax can read and write an environment's whole
state (every MuJoCo task of Gymnasium: time, ``qpos``, ``qvel``, actuator state,
the solver's warm start and, where a task's reward reads them, the bodies'
positions; Gymnasium's classic-control tasks: their ``state`` vector), a
:class:`GymState` holds it bit for bit (float64 values as pairs of ``uint32``),
and one scratch environment is restored from it before each step.
Stepping is then a pure function of (state, action, key): runs are reproducible
from their key, several seeds share one process, and a checkpoint holds the
environments mid-episode, so a resumed run ends exactly where an uninterrupted
one does. Any other environment (Box2D tasks, a user's own unless it is a MuJoCo one) is kept alive in a
pool, its :class:`GymState` naming its slot; such a run resumed in a new process
starts fresh episodes where the old ones were cut.

Episodes follow Gymnasium: ``reset(seed=...)`` with a seed drawn from the
step's key; *terminated* and *truncated* (the time limit, counted here) kept
apart; the true final observation returned as ``next_obs`` and the reset
observation as ``obs`` (same-step autoreset). Observations must be float
vectors (``Box``), actions ``Discrete`` or float vectors with finite bounds.
"""

from __future__ import annotations

import collections
import difflib
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np

from irlax.envs.spec import EnvSpec, EnvStep
from irlax.errors import IrlaxError

BACKEND = "gymnasium"
"""The :attr:`EnvSpec.backend` of Gymnasium environments."""

POOL_SIZE = 4096
"""Environments kept alive for tasks whose state irlax cannot read (least recently used dropped first)."""

_PLAIN_WRAPPERS = ("TimeLimit", "OrderEnforcing", "PassiveEnvChecker")
"""Wrappers that hold no state irlax needs: an environment wrapped only in these is stepped unwrapped."""


class GymState(NamedTuple):
    """Host environments mid-episode (leaves ``[N, ...]``, numpy or JAX arrays).

    Attributes:
        sim: ``uint32 [N, W]``: the environment's state as float64 bits, or its pool slot (``W = 2``).
        elapsed: ``int32 [N]`` steps of the current episode so far (the time limit's count).
    """

    sim: Any
    elapsed: Any


class StateCodec(NamedTuple):
    """Reads and writes the whole state of an (unwrapped) environment as one float64 vector.

    Attributes:
        size: ``size(env) -> int``, the vector's length.
        read: ``read(env) -> float64 [size]``.
        write: ``write(env, vector)``; after it, stepping ``env`` is as if it had reached that state itself.
    """

    size: Callable[[Any], int]
    read: Callable[[Any], np.ndarray]
    write: Callable[[Any, np.ndarray], None]


def _mujoco_size(env: Any) -> int:
    m = env.model
    return 1 + m.nq + 2 * m.nv + m.na


def _mujoco_read(env: Any) -> np.ndarray:
    d = env.data
    return np.concatenate([[d.time], d.qpos, d.qvel, d.act, d.qacc_warmstart])


def _mujoco_write(env: Any, vector: np.ndarray) -> None:
    m, d = env.model, env.data
    d.time = vector[0]
    i = 1
    for part, n in ((d.qpos, m.nq), (d.qvel, m.nv), (d.act, m.na), (d.qacc_warmstart, m.nv)):
        part[:] = vector[i:i + n]
        i += n


MUJOCO_CODEC = StateCodec(_mujoco_size, _mujoco_read, _mujoco_write)
"""Gymnasium's MuJoCo tasks that read nothing MuJoCo derives from the state before stepping
(:data:`QPOS_ONLY_TASKS`): time, positions, velocities, actuator state and the solver's warm start. Writing them is
enough: each physics substep (``mj_step``) recomputes every derived quantity from these before it uses one, so a
step from a restored state is bit for bit the step from that state reached by stepping
(``tests/test_gym.py``), without the ``mj_forward`` a restore would otherwise cost."""


def _positions_size(env: Any) -> int:
    return _mujoco_size(env) + 6 * env.model.nbody


def _positions_read(env: Any) -> np.ndarray:
    d = env.data
    return np.concatenate([_mujoco_read(env), d.xpos.ravel(), d.xipos.ravel()])


def _positions_write(env: Any, vector: np.ndarray) -> None:
    import mujoco

    _mujoco_write(env, vector)
    # every derived quantity from the restored state, for an environment that reads some before stepping (nothing
    # of the state the scratch environment stepped last remains), then the positions as the step left them
    mujoco.mj_forward(env.model, env.data)
    d, nbody = env.data, env.model.nbody
    i = _mujoco_size(env)
    d.xpos[:] = vector[i:i + 3 * nbody].reshape(nbody, 3)
    d.xipos[:] = vector[i + 3 * nbody:i + 6 * nbody].reshape(nbody, 3)


MUJOCO_POSITIONS_CODEC = StateCodec(_positions_size, _positions_read, _positions_write)
"""Any other MuJoCo task: :data:`MUJOCO_CODEC`'s state and the bodies' positions as the environment last left them
(``xpos``, ``xipos``; ``6 * nbody`` values), written after ``mj_forward`` has recomputed the rest. After a step
MuJoCo's body positions are those of the last physics substep's evaluation, not recomputed from the final
``qpos``; Gymnasium's Ant and Humanoid read them before stepping to measure how far the body moved (``Ant-v5``: the
torso's ``xpos``; ``Humanoid-v5``: the centre of mass, from ``xipos``). Recomputed from ``qpos`` instead, Ant-v5's
reward moved by up to 0.12 a step (0.0014 on average) on the Ant expert's demonstrations, its episode returns by up
to 0.33; with the carried values the rewards are Gymnasium's own (``tests/test_gym.py``)."""

QPOS_ONLY_TASKS = frozenset(f"gymnasium.envs.mujoco.{module}_v5" for module in (
    "hopper", "walker2d", "half_cheetah", "swimmer", "inverted_pendulum", "inverted_double_pendulum", "reacher",
    "pusher", "humanoidstandup"))
"""Modules of Gymnasium's MuJoCo tasks whose ``step`` reads nothing MuJoCo derives from the state before it
simulates (their rewards read ``qpos`` or quantities computed after the step): their states leave the body
positions out (:data:`MUJOCO_CODEC`). Any other MuJoCo environment, a user's own included, carries them
(:data:`MUJOCO_POSITIONS_CODEC`)."""


def _classic_size(env: Any) -> int:
    return int(np.asarray(env.state, np.float64).size)


def _classic_read(env: Any) -> np.ndarray:
    return np.asarray(env.state, np.float64).ravel()


def _classic_write(env: Any, vector: np.ndarray) -> None:
    env.state = np.array(vector, np.float64)
    if hasattr(env, "steps_beyond_terminated"):
        env.steps_beyond_terminated = None


CLASSIC_CODEC = StateCodec(_classic_size, _classic_read, _classic_write)
"""Gymnasium's classic-control tasks (CartPole, Pendulum, Acrobot, MountainCar): their ``state`` vector."""


def _mujoco_warning(message: str) -> None:
    """MuJoCo's warnings as Python warnings, except the deprecation of an attribute Gymnasium's own models use."""
    import warnings

    if "settotalmass" not in message:
        warnings.warn(f"MuJoCo: {message.strip()}", RuntimeWarning, stacklevel=2)


def route_mujoco_warnings() -> None:
    """Send MuJoCo's warnings to Python's ``warnings`` instead of stdout and a ``MUJOCO_LOG.TXT`` in the working
    directory (MuJoCo's default). Called before an environment is made; harmless without MuJoCo."""
    try:
        import mujoco
    except ImportError:
        return
    if mujoco.get_mju_user_warning() is not _mujoco_warning:
        mujoco.set_mju_user_warning(_mujoco_warning)


def state_codec(env: Any) -> StateCodec | None:
    """The codec of ``env``'s state, or ``None`` when irlax cannot read it (it is then kept in a pool).

    Only environments wrapped in nothing but Gymnasium's time limit and checkers qualify (another wrapper
    may hold state of its own).
    """
    wrapped = env
    while hasattr(wrapped, "env") and wrapped is not wrapped.unwrapped:
        if type(wrapped).__name__ not in _PLAIN_WRAPPERS:
            return None
        wrapped = wrapped.env
    inner = env.unwrapped
    module = type(inner).__module__
    try:
        from gymnasium.envs.mujoco.mujoco_env import MujocoEnv
    except ImportError:  # the mujoco package is not installed: no MuJoCo task exists either
        MujocoEnv = ()  # noqa: N806
    if MujocoEnv and isinstance(inner, MujocoEnv):
        return MUJOCO_CODEC if module in QPOS_ONLY_TASKS else MUJOCO_POSITIONS_CODEC
    if module.startswith("gymnasium.envs.classic_control") and getattr(inner, "state", None) is not None:
        return CLASSIC_CODEC
    return None


def key_seed(key: np.ndarray) -> int:
    """A Gymnasium seed from a raw PRNG key ``uint32 [2]``."""
    key = np.asarray(key, np.uint32).ravel()
    return int(key[0]) << 32 | int(key[-1])


@dataclass
class GymHost:
    """The host side of a :class:`GymEnv`: how to build the environment, a scratch copy, the pool.

    Attributes:
        name: the environment's id.
        factory: ``factory() -> gymnasium.Env``.
        codec: how its state is read and written (``None``: kept in the pool).
        max_steps: the time limit.
        discrete: whether actions are indices.
        action_low, action_high: continuous actions are clipped into these.
    """

    name: str
    factory: Callable[[], Any]
    codec: StateCodec | None
    max_steps: int
    discrete: bool
    action_low: np.ndarray
    action_high: np.ndarray
    obs_size: int
    sim_size: int
    scratch: Any = None
    pool: collections.OrderedDict = field(default_factory=collections.OrderedDict)
    next_slot: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _scratch(self) -> Any:
        if self.scratch is None:
            self.scratch = self.factory()
        return self.scratch

    def _obs(self, obs: Any, where: str) -> np.ndarray:
        obs = np.asarray(obs, np.float32)
        if obs.shape != (self.obs_size,):
            raise IrlaxError(f"{self.name} returned an observation of shape {obs.shape} {where}, "
                             f"expected ({self.obs_size},)")
        return obs

    def _reset(self, env: Any, seed: int) -> np.ndarray:
        try:
            obs, _ = env.reset(seed=seed % 2**63)
        except IrlaxError:
            raise
        except Exception as exc:  # a user's environment may raise anything
            raise IrlaxError(f"{self.name} raised in reset: {type(exc).__name__}: {exc}") from exc
        return self._obs(obs, "at reset")

    def _new_slot(self, seed: int) -> tuple[int, np.ndarray]:
        env = self.factory()
        obs = self._reset(env, seed)
        slot = self.next_slot
        self.next_slot += 1
        self.pool[slot] = env
        while len(self.pool) > POOL_SIZE:
            self.pool.popitem(last=False)
        return slot, obs

    def reset(self, keys: np.ndarray) -> tuple[np.ndarray, GymState]:
        """Fresh episodes, one per key (``uint32 [N, 2]``): ``(obs [N, O], state)``."""
        keys = np.asarray(keys, np.uint32).reshape(-1, 2)
        n = keys.shape[0]
        obs = np.zeros((n, self.obs_size), np.float32)
        sim = np.zeros((n, self.sim_size), np.uint32)
        with self.lock:
            for i in range(n):
                obs[i], sim[i] = self._fresh(keys[i])
        return obs, GymState(sim, np.zeros((n,), np.int32))

    def _fresh(self, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        seed = key_seed(key)
        if self.codec is None:
            slot, obs = self._new_slot(seed)
            return obs, np.array([slot & 0xFFFFFFFF, slot >> 32], np.uint32)
        env = self._scratch().unwrapped
        obs = self._reset(env, seed)
        return obs, self.codec.read(env).view(np.uint32)

    def _action(self, action: np.ndarray) -> Any:
        if self.discrete:
            return int(action)
        return np.clip(np.asarray(action, np.float64), self.action_low, self.action_high)

    def step(self, keys: np.ndarray, state: GymState, actions: np.ndarray) -> EnvStep:
        """One step of each of ``N`` environments (leaves ``[N, ...]``, numpy); resets those whose episode ends."""
        keys = np.asarray(keys, np.uint32).reshape(-1, 2)
        sims = np.array(state.sim, np.uint32)
        elapsed = np.array(state.elapsed, np.int32) + 1
        actions = np.asarray(actions)
        n = keys.shape[0]
        obs = np.zeros((n, self.obs_size), np.float32)
        next_obs = np.zeros((n, self.obs_size), np.float32)
        rewards = np.zeros((n,), np.float32)
        terminated = np.zeros((n,), bool)
        truncated = np.zeros((n,), bool)
        with self.lock:
            for i in range(n):
                env = self._restore(sims[i], keys[i])
                try:
                    o, r, term, trunc, _ = env.step(self._action(actions[i]))
                except IrlaxError:
                    raise
                except Exception as exc:  # a user's environment may raise anything
                    raise IrlaxError(f"{self.name} raised in step {int(elapsed[i])} of an episode: "
                                     f"{type(exc).__name__}: {exc}") from exc
                next_obs[i] = self._obs(o, f"at step {int(elapsed[i])}")
                rewards[i] = float(r)
                terminated[i] = bool(term)
                truncated[i] = (bool(trunc) or elapsed[i] >= self.max_steps) and not terminated[i]
                if terminated[i] or truncated[i]:
                    obs[i], sims[i] = self._fresh(_reset_key(keys[i]))
                    elapsed[i] = 0
                else:
                    obs[i] = next_obs[i]
                    if self.codec is not None:
                        sims[i] = self.codec.read(env).view(np.uint32)
        return EnvStep(obs, GymState(sims, elapsed), rewards, terminated, truncated, next_obs)

    def _restore(self, sim: np.ndarray, key: np.ndarray) -> Any:
        if self.codec is not None:
            env = self._scratch().unwrapped
            self.codec.write(env, sim.view(np.float64))
            return env
        slot = int(sim[0]) | int(sim[1]) << 32
        if slot not in self.pool:
            # a run resumed in a new process (or an episode older than the pool): a fresh episode in its place
            fresh, _ = self._new_slot(key_seed(key))
            self.pool[slot] = self.pool.pop(fresh)
        self.pool.move_to_end(slot)
        return self.pool[slot]


def _reset_key(key: np.ndarray) -> np.ndarray:
    """The key an episode that ends at a step with ``key`` is reset with (distinct from ``key`` itself)."""
    return np.array([key[1] ^ 0x9E3779B9, key[0]], np.uint32)


@dataclass(frozen=True)
class GymEnv:
    """A Gymnasium environment behind an :class:`EnvSpec` (``spec.backend == "gymnasium"``).

    Hashable by its spec, like :class:`~irlax.envs.control.JaxEnv`. Stepping is batched and happens on the
    host, outside jitted code: :meth:`reset` and :meth:`step` take and return numpy arrays.

    Attributes:
        spec: the static description learners, networks and rewards read.
        host: the environments themselves (see :class:`GymHost`).
    """

    spec: EnvSpec
    host: GymHost = field(compare=False, repr=False)

    @property
    def name(self) -> str:
        """The environment's id (``spec.name``)."""
        return self.spec.name

    @property
    def exact_state(self) -> bool:
        """Whether the environment's state is data (resumable and reproducible across processes)."""
        return self.host.codec is not None

    def reset(self, keys: np.ndarray) -> tuple[np.ndarray, GymState]:
        """Fresh episodes, one per raw key in ``keys [N, 2]``: ``(obs [N, O], state)``."""
        return self.host.reset(keys)

    def step(self, keys: np.ndarray, state: GymState, actions: np.ndarray) -> EnvStep:
        """One step of ``N`` environments with ``actions [N, ...]`` and raw keys ``[N, 2]`` (see :class:`EnvStep`)."""
        return self.host.step(keys, state, actions)


def _space_error(name: str, what: str, space: Any) -> IrlaxError:
    return IrlaxError(f"{name}: irlax supports Box (float vector) observations and Box or Discrete actions, "
                      f"but its {what} space is {space}")


def gym_spec(name: str, env: Any, params: tuple = (), max_steps: int | None = None) -> tuple[EnvSpec, dict]:
    """The :class:`EnvSpec` of a built Gymnasium environment, and the facts the host needs.

    Raises:
        IrlaxError: an observation or action space irlax does not support (named in the message).
    """
    from gymnasium import spaces

    obs_space, action_space = env.observation_space, env.action_space
    if not isinstance(obs_space, spaces.Box) or len(obs_space.shape) != 1:
        raise _space_error(name, "observation", obs_space)
    if isinstance(action_space, spaces.Discrete):
        discrete, size, low, high = True, int(action_space.n), (), ()
        if int(getattr(action_space, "start", 0)) != 0:
            raise IrlaxError(f"{name}: Discrete actions must start at 0, got {action_space}")
    elif isinstance(action_space, spaces.Box) and len(action_space.shape) == 1:
        discrete, size = False, int(action_space.shape[0])
        low = tuple(float(x) for x in action_space.low)
        high = tuple(float(x) for x in action_space.high)
        if not (np.all(np.isfinite(low)) and np.all(np.isfinite(high))):
            raise IrlaxError(f"{name}: continuous actions need finite bounds, got {action_space}")
    else:
        raise _space_error(name, "action", action_space)
    limit = max_steps or (env.spec.max_episode_steps if env.spec is not None else None) or 1000
    spec = EnvSpec(name, int(obs_space.shape[0]), discrete, size, low, high, int(limit), params, BACKEND)
    return spec, {"discrete": discrete, "low": np.asarray(low, np.float64), "high": np.asarray(high, np.float64)}


def gymnasium_ids() -> list[str]:
    """Every environment id registered with Gymnasium."""
    import gymnasium

    return sorted(gymnasium.registry)


def import_env_module(name: str) -> str:
    """For ``"my_pkg.envs:MyEnv-v0"``: import ``my_pkg.envs`` (which registers the id) and return ``"MyEnv-v0"``."""
    if ":" not in name:
        return name
    module, env_id = name.split(":", 1)
    try:
        importlib.import_module(module)
    except ImportError as exc:
        raise IrlaxError(f"cannot import {module!r} for environment {name!r}: {exc}") from exc
    return env_id


def make_gym_env(
    name: str | None = None,
    env: Any = None,
    factory: Callable[[], Any] | None = None,
    max_steps: int | None = None,
    **kwargs: Any,
) -> GymEnv:
    """A :class:`GymEnv` for a registered id, an already-built environment, or a factory.

    Args:
        name: a registered Gymnasium id (``"HalfCheetah-v5"``), or ``"module:Id-v0"`` to import ``module``
            first (which registers ``Id-v0``). With ``env`` or ``factory``, the name to record.
        env: an already-built Gymnasium environment (copies for the pool are made with ``copy.deepcopy``).
        factory: ``factory() -> gymnasium.Env``, called whenever a fresh environment is needed.
        max_steps: the time limit (default: the registered one, else 1000).
        **kwargs: passed to ``gymnasium.make`` with ``name``.

    Raises:
        IrlaxError: an unknown id (with close matches), a missing dependency, or unsupported spaces.
    """
    import gymnasium

    route_mujoco_warnings()
    if env is not None or factory is not None:
        if factory is None:
            import copy

            built = env
            factory = lambda: copy.deepcopy(built)
        sample = env if env is not None else factory()
        name = name or (sample.spec.id if sample.spec is not None else type(sample.unwrapped).__name__)
        params: tuple = (("instance", id(factory)),)
    else:
        if not name:
            raise IrlaxError("an environment id is needed")
        env_id = import_env_module(name)
        if env_id not in gymnasium.registry:
            close = difflib.get_close_matches(env_id, gymnasium_ids(), n=3)
            hint = f" (did you mean {' or '.join(close)}?)" if close else ""
            raise IrlaxError(f"unknown environment {name!r}{hint}")
        factory = lambda: gymnasium.make(env_id, **kwargs)
        try:
            sample = factory()
        except gymnasium.error.DependencyNotInstalled as exc:
            raise IrlaxError(f"{name} needs a package that is not installed: {exc}") from exc
        except Exception as exc:
            raise IrlaxError(f"cannot make {name}: {type(exc).__name__}: {exc}") from exc
        params = (("id", name), ("kwargs", tuple(sorted((k, repr(v)) for k, v in kwargs.items()))))
    spec, facts = gym_spec(name, sample, params + ((("max_steps", max_steps),) if max_steps else ()), max_steps)
    try:
        sample.reset(seed=0)
    except Exception as exc:
        raise IrlaxError(f"{name} raised in reset: {type(exc).__name__}: {exc}") from exc
    codec = state_codec(sample)
    sim_size = 2 * codec.size(sample.unwrapped) if codec is not None else 2
    host = GymHost(name, factory, codec, spec.max_steps, facts["discrete"], facts["low"], facts["high"],
                   spec.obs_size, sim_size, scratch=sample if codec is not None else None)
    return GymEnv(spec, host)
