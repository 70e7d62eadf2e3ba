"""Preference comparisons: a reward learned from pairwise preferences between trajectory fragments.

Christiano et al. 2017, "Deep reinforcement learning from human preferences". An
oracle is shown two fragments ``f1, f2`` of ``fragment_length`` steps of the
current policy's behaviour and says which it prefers (a label ``y`` in ``[0, 1]``,
1: ``f1``, 0.5: a tie). An ensemble of reward networks ``r_k(s, a)`` is fitted to the
labels under the Bradley-Terry model

    P(f1 > f2) = exp(sum_t r(f1_t)) / (exp(sum_t r(f1_t)) + exp(sum_t r(f2_t)))

by cross-entropy (:func:`bradley_terry_loss`), each member on its own minibatches of
the labelled pairs; the policy is trained by a forward learner (PPO or SAC) on the
ensemble's mean reward, each member normalised to zero mean and unit standard
deviation (as the paper does) over the steps of the labelled fragments, absorbing
steps included (over the policy's samples alone, where a task rarely ends, a
member's small spread made the absorbing state's value huge).

One round (the paper's three asynchronous processes, run in turn):

1. the policy acts ``sample_steps`` steps in ``sample_envs`` environments (episodes
   continue across rounds); ``candidate_factor x queries_per_round`` pairs of
   fragments are drawn from those steps (:func:`sample_fragments`);
2. ``queries_per_round`` of them are put to the oracle: those whose predicted
   preference the ensemble members disagree on most (variance of ``P`` across
   members, ``selection="uncertainty"``; :func:`select_pairs`) or uniformly chosen
   ones; the labelled pairs go to a buffer of the most recent ``buffer_size``;
3. ``reward_steps`` Adam steps of every member on ``batch_size`` labelled pairs;
4. ``policy_iterations`` learner iterations on the normalised mean reward.

``init`` draws ``initial_queries`` pairs uniformly from the initial policy's samples
(the paper's pre-training on random behaviour). A round whose queries would pass
``max_queries`` asks none. Fragments never straddle a reset: a window of steps that
a time limit cuts is never drawn, and the steps of a window after a terminal step
are the absorbing state (Kostrikov et al. 2019) that the episode then sits in, worth 0 to
the oracle (every task's reward after its end) and a learned reward ``r_abs`` to the
model; the policy gets ``gamma / (1 - gamma) r_abs`` after a terminal step
(:func:`irlax.rewards.transition.absorbing_bonus`). So ending CartPole early makes a
fragment worse, as it should.

The synthetic oracle (:func:`synthetic_labels`) compares the fragments' true returns
under the task's reward (:func:`irlax.tasks.true_reward_fn`): with ``rationality``
``None`` (infinite) it prefers the higher return (0.5 on ties); with finite ``beta`` it is
Boltzmann-rational, ``P = sigmoid(beta (R1 - R2))``, sampled or used as a soft label;
with probability ``noise`` a label is flipped. ``update`` is one ``lax.scan`` over
rounds, jittable and vmappable over seeds; only pure-JAX tasks (gymnax, the point
maze) are supported, as the oracle needs the task's reward as a function.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax import Array

from irlax import tasks
from irlax.algorithms.adversarial import absorbing_logit
from irlax.algorithms.base import Algorithm
from irlax.algorithms.sample_irl import (
    SampleIRLConfig,
    check_demos,
    check_sample_irl_config,
    learner_mean_return,
    make_inner_learner,
    reward_gradient_step,
    reward_optimizer,
)
from irlax.atomic import atomic_save_npz, read_npz
from irlax.data.demos import Demonstrations
from irlax.data.transitions import Transition
from irlax.envs.control import JaxEnv
from irlax.envs.spec import EnvSpec
from irlax.errors import IrlaxError
from irlax.learners import base
from irlax.learners.base import LearnerState
from irlax.learners.replay import ReplayBuffer, init_replay, replay_add
from irlax.learners.rollout import EnvCarry, collect_steps, init_envs
from irlax.rewards.transition import InputStats, TransitionReward, absorbing_bonus, mlp_transition_reward

DESCRIPTION = "preference comparisons: a reward ensemble from pairwise fragment preferences (Christiano et al. 2017)"

SELECTIONS = ("uncertainty", "uniform")
"""How the queried pairs are chosen among the candidates."""


@dataclass(frozen=True)
class PreferencesConfig(SampleIRLConfig):
    """Configuration of preference comparisons (beyond :class:`~irlax.algorithms.sample_irl.SampleIRLConfig`:
    learner, learner_config, rounds, policy_iterations, reward_steps, reward_lr, hidden, activation,
    max_grad_norm)."""

    reward_steps: int = 32
    """Adam steps of every ensemble member per round."""
    reward_lr: float = 1e-3
    """Adam step size of the reward networks."""
    fragment_length: int = 25
    """Steps per fragment."""
    queries_per_round: int = 16
    """Pairs put to the oracle each round."""
    initial_queries: int = field(default=64, metadata={"check": "count0"})
    """Pairs of the initial policy's fragments put to the oracle before the first round (chosen uniformly)."""
    max_queries: int = field(default=0, metadata={"check": "count0"})
    """Most queries of a whole run (a round that would pass it asks none); 0: no limit."""
    candidate_factor: int = 4
    """Candidate pairs drawn per query; the queries are the most uncertain of them (``selection``)."""
    selection: str = "uncertainty"
    """``"uncertainty"``: the candidates whose predicted preference the members' disagree on most (variance of
    ``P`` across members); ``"uniform"``: random candidates."""
    ensemble_size: int = 3
    """Reward networks in the ensemble."""
    batch_size: int = 64
    """Labelled pairs per reward step (each member its own draw)."""
    buffer_size: int = 2048
    """Most recent labelled pairs kept."""
    rationality: float | None = field(default=None, metadata={"check": "positive"})
    """The synthetic oracle's ``beta``: ``P(f1 > f2) = sigmoid(beta (R1 - R2))`` of the true returns; ``None``
    (infinite): it always prefers the higher return (0.5 on a tie)."""
    sample_labels: bool = True
    """With finite ``rationality``: label 0 or 1 drawn from ``P`` (else ``P`` itself is the label)."""
    noise: float = field(default=0.0, metadata={"check": "probability"})
    """Probability that the synthetic oracle's label is flipped (``y -> 1 - y``)."""
    state_only: bool = False
    """A reward of the state alone (else of the state and action)."""
    normalise: bool = True
    """Normalise each member's reward to zero mean, unit deviation over the steps of the labelled fragments."""
    sample_envs: int = 8
    """Environments the policy's fragments are sampled in."""
    sample_steps: int = 100
    """Steps of each sampling environment per round (and in ``init``)."""
    gamma: float | None = None
    """Discount of the absorbing state's value; ``None``: the learner's."""
    preferences: str = ""
    """A file of labelled pairs (:func:`load_preference_pairs`): learn from its labels alone (no oracle, no
    queries after it; ``fragment_length``, the query and selection settings don't apply); empty: the synthetic
    oracle."""


def check_config(config: PreferencesConfig) -> None:
    """One-line :class:`IrlaxError` for a bad setting."""
    check_sample_irl_config(config)
    for name in ("fragment_length", "queries_per_round", "candidate_factor", "ensemble_size", "batch_size",
                 "buffer_size", "sample_envs", "sample_steps"):
        if getattr(config, name) < 1:
            raise IrlaxError(f"{name} must be positive, got {getattr(config, name)}")
    for name in ("initial_queries", "max_queries"):
        if getattr(config, name) < 0:
            raise IrlaxError(f"{name} must be non-negative, got {getattr(config, name)}")
    if config.selection not in SELECTIONS:
        raise IrlaxError(f"unknown selection {config.selection!r}; choose one of {', '.join(SELECTIONS)}")
    if not 0.0 <= config.noise <= 0.5:
        raise IrlaxError(f"noise must be in [0, 0.5], got {config.noise}")
    if config.sample_steps < config.fragment_length:
        raise IrlaxError(f"sample_steps ({config.sample_steps}) must be at least fragment_length "
                         f"({config.fragment_length})")
    if max(config.queries_per_round, config.initial_queries) > config.buffer_size:
        raise IrlaxError(f"buffer_size ({config.buffer_size}) must hold initial_queries ({config.initial_queries}) "
                         f"and queries_per_round ({config.queries_per_round})")
    if 0 < config.max_queries < config.initial_queries:
        raise IrlaxError(f"max_queries ({config.max_queries}) is less than initial_queries "
                         f"({config.initial_queries})")


# ---------------------------------------------------------------------------------------------------------------
# fragments


class Fragment(NamedTuple):
    """A window of ``L`` consecutive steps of one episode (leaves ``[L, ...]``; ``[N, L, ...]`` when batched).

    Attributes:
        obs: ``[L, O]``; action: ``[L]`` (discrete) or ``[L, D]``; next_obs: ``[L, O]``.
        terminated: ``[L]`` bool, the step ended its episode in a terminal state.
        real: ``[L]`` bool, the step belongs to the episode; false after a terminal step (the absorbing state).
    """

    obs: Array
    action: Array
    next_obs: Array
    terminated: Array
    real: Array


class Pair(NamedTuple):
    """A labelled pair of fragments: ``label`` ``[]`` is ``P(first > second)`` as the oracle says (0.5: a tie)."""

    first: Fragment
    second: Fragment
    label: Array


def window_starts(transitions: Transition, length: int) -> tuple[Array, Array]:
    """Which windows of ``length`` steps of ``transitions [T, E]`` are fragments, and their real steps.

    A window starting at step ``t`` of environment ``e`` is valid unless a time limit ends its episode before its
    last step (what follows belongs to another episode); steps after a terminal step are not real (the absorbing
    state). Returns ``valid [T - length + 1, E]`` and ``real [T - length + 1, E, length]``.
    """
    steps = transitions.obs.shape[0]
    index = jnp.arange(steps - length + 1)[:, None] + jnp.arange(length)[None, :]   # [W, L]
    term, trunc = transitions.terminated[index], transitions.truncated[index]          # [W, L, E]
    done = term | trunc
    ended_before = jnp.cumsum(done, axis=1) - done > 0                                   # a done at an earlier step
    real = ~ended_before
    cut = real[:, :-1] & trunc[:, :-1] & ~term[:, :-1]                                  # a time limit before the end
    valid = ~jnp.any(cut, axis=1)
    return valid, jnp.moveaxis(real, 1, 2)


def sample_fragments(transitions: Transition, key: Array, count: int, length: int) -> Fragment:
    """``count`` fragments of ``length`` steps drawn uniformly (with replacement) among the valid windows of
    ``transitions [T, E]`` (:func:`window_starts`); leaves ``[count, length, ...]``. Jittable."""
    valid, real = window_starts(transitions, length)
    flat = valid.reshape(-1).astype(jnp.float32)
    flat = jnp.where(jnp.sum(flat) > 0, flat, 1.0)   # no valid window at all (tiny samples): any window
    pick = jax.random.choice(key, flat.shape[0], (count,), p=flat / jnp.sum(flat))
    start, env = pick // valid.shape[1], pick % valid.shape[1]
    steps = start[:, None] + jnp.arange(length)[None, :]                                 # [count, L]
    take = lambda x: x[steps, env[:, None]]
    return Fragment(take(transitions.obs), take(transitions.action), take(transitions.next_obs),
                    take(transitions.terminated) & real[start, env], real[start, env])


def fragment_return(step_reward: Callable[[Array, Array, Array], Array], absorbing_reward: Array,
                    fragment: Fragment) -> Array:
    """``sum_t r(s_t, a_t, s'_t)`` over the fragment's real steps plus ``absorbing_reward`` per absorbing step.

    ``step_reward(obs [O], action, next_obs [O]) -> []``; ``fragment`` unbatched (leaves ``[L, ...]``).
    """
    rewards = jax.vmap(step_reward)(fragment.obs, fragment.action, fragment.next_obs)
    return jnp.sum(jnp.where(fragment.real, rewards, absorbing_reward))


# ---------------------------------------------------------------------------------------------------------------
# the preference model and the oracle


def bradley_terry_loss(first_returns: Array, second_returns: Array, labels: Array) -> Array:
    """Mean cross-entropy of the Bradley-Terry preferences against the labels (Christiano et al. 2017, eq. 1).

    ``P(f1 > f2) = exp(R1) / (exp(R1) + exp(R2)) = sigmoid(R1 - R2)``; the loss is
    ``-mean[y log P + (1 - y) log (1 - P)]`` over ``[B]`` returns and labels ``y`` in ``[0, 1]``
    (0.5: a tie), computed stably with ``softplus``.
    """
    diff = first_returns - second_returns
    return jnp.mean(labels * jax.nn.softplus(-diff) + (1.0 - labels) * jax.nn.softplus(diff))


def synthetic_labels(key: Array, first_returns: Array, second_returns: Array, rationality: float | None, noise: float,
                     sample: bool = True) -> Array:
    """The synthetic oracle's labels ``[B]`` for pairs with true returns ``R1, R2 [B]``.

    ``rationality`` ``None`` (infinite): 1 where ``R1 > R2``, 0 where less, 0.5 on ties; finite ``beta``:
    ``P = sigmoid(beta (R1 - R2))``, a 0/1 label drawn from it when ``sample``, else ``P``. Then each label is
    flipped (``y -> 1 - y``) with probability ``noise``.
    """
    diff = first_returns - second_returns
    draw_key, flip_key = jax.random.split(key)
    if rationality is None:
        labels = 0.5 * (1.0 + jnp.sign(diff))
    else:
        p = jax.nn.sigmoid(rationality * diff)
        labels = jax.random.bernoulli(draw_key, p).astype(jnp.float32) if sample else p
    flip = jax.random.bernoulli(flip_key, noise, labels.shape)
    return jnp.where(flip, 1.0 - labels, labels).astype(jnp.float32)


def select_pairs(key: Array, probabilities: Array, count: int, selection: str) -> Array:
    """Indices ``[count]`` of the candidate pairs to query, from the members' predictions ``P [K, C]``.

    ``"uncertainty"``: the ``count`` pairs with the largest variance of ``P`` across members (the paper's
    disagreement-based selection); ``"uniform"``: ``count`` distinct pairs at random.
    """
    if selection == "uniform":
        return jax.random.permutation(key, probabilities.shape[1])[:count]
    return jax.lax.top_k(jnp.var(probabilities, axis=0), count)[1]


Oracle = Callable[[Array, Fragment, Fragment], Array]
"""``oracle(key, first [B, L, ...], second [B, L, ...]) -> labels [B]``: preferences between fragments."""


def synthetic_oracle(config: PreferencesConfig, env: JaxEnv) -> Oracle:
    """The oracle that compares the fragments' true returns in ``env`` (:func:`synthetic_labels`).

    Raises:
        IrlaxError: a task whose reward irlax does not know as a function (Gymnasium environments).
    """
    true_reward = tasks.true_reward_fn(env)
    true_return = jax.vmap(lambda f: fragment_return(true_reward, jnp.float32(0.0), f))

    def oracle(key: Array, first: Fragment, second: Fragment) -> Array:
        return synthetic_labels(key, true_return(first), true_return(second), config.rationality, config.noise,
                                config.sample_labels)

    return oracle


# ---------------------------------------------------------------------------------------------------------------
# a file of labelled pairs (human preferences)

PAIR_KEYS = ("obs1", "actions1", "next_obs1", "obs2", "actions2", "next_obs2", "labels")
"""The arrays a preferences file must hold; ``real1``/``real2`` and ``terminated1``/``terminated2`` are optional."""


def save_preference_pairs(path: str, pairs: Pair) -> None:
    """Write labelled pairs (leaves ``[N, L, ...]``, labels ``[N]``) in the format :func:`load_preference_pairs`
    reads."""
    arrays = {}
    for side, fragment in (("1", pairs.first), ("2", pairs.second)):
        arrays.update({f"obs{side}": fragment.obs, f"actions{side}": fragment.action,
                       f"next_obs{side}": fragment.next_obs, f"terminated{side}": fragment.terminated,
                       f"real{side}": fragment.real})
    atomic_save_npz(path, **{key: np.asarray(value) for key, value in {**arrays, "labels": pairs.label}.items()})


def load_preference_pairs(path: str, spec: EnvSpec) -> Pair:
    """Read and validate a preferences file (``.npz``) for the task ``spec``.

    The file holds ``N`` pairs of fragments of ``L`` steps: ``obs1``, ``next_obs1`` ``[N, L, O]`` and ``actions1``
    (``[N, L]`` integers for discrete actions, ``[N, L, D]`` otherwise) of the first fragments, the same with ``2``
    of the second, and ``labels [N]`` in ``[0, 1]``: the probability that the first is preferred (1: the first,
    0: the second, 0.5: a tie). Optional ``real1``, ``real2`` ``[N, L]`` bool mark the steps of the episode
    (a prefix; the steps after an episode's terminal step are ``False``, default all ``True``) and ``terminated1``,
    ``terminated2`` ``[N, L]`` bool the terminal steps (default: the last real step of a fragment cut short).

    Raises:
        IrlaxError: one line naming the file and the problem.
    """
    arrays = read_npz(path, "preferences")
    where = f"preferences file {path}"
    missing = [key for key in PAIR_KEYS if key not in arrays]
    if missing:
        raise IrlaxError(f"{where} lacks the array(s) {', '.join(missing)}")
    labels = arrays["labels"]
    if labels.ndim != 1 or labels.shape[0] < 1 or labels.dtype.kind not in "fiu":
        raise IrlaxError(f"{where}: labels must be a non-empty vector of numbers, got shape {labels.shape}")
    if not (np.isfinite(labels).all() and (labels >= 0).all() and (labels <= 1).all()):
        raise IrlaxError(f"{where}: labels must lie in [0, 1] (1: the first fragment preferred, 0.5: a tie)")
    count, obs = labels.shape[0], arrays["obs1"]
    if obs.ndim != 3 or obs.shape[0] != count or obs.shape[2] != spec.obs_size:
        raise IrlaxError(f"{where}: obs1 must be [{count} pairs, steps, {spec.obs_size}] for {spec.name}, got "
                         f"{list(obs.shape)}")
    length = obs.shape[1]
    action_shape = (count, length) if spec.discrete else (count, length, spec.action_size)
    fragments = []
    for side in ("1", "2"):
        expected = {f"obs{side}": (count, length, spec.obs_size), f"next_obs{side}": (count, length, spec.obs_size),
                    f"actions{side}": action_shape, f"real{side}": (count, length),
                    f"terminated{side}": (count, length)}
        for key, shape in expected.items():
            if key in arrays and arrays[key].shape != shape:
                raise IrlaxError(f"{where}: {key} must have shape {list(shape)}, got {list(arrays[key].shape)}")
            if key in arrays and arrays[key].dtype.kind not in ("b" if key[0] in "rt" else "fiu"):
                raise IrlaxError(f"{where}: {key} has dtype {arrays[key].dtype}")
            if key in arrays and key[0] not in "rt" and not np.isfinite(arrays[key]).all():
                raise IrlaxError(f"{where}: {key} holds NaN or inf")
        actions = arrays[f"actions{side}"]
        if spec.discrete and (actions.dtype.kind == "f" or actions.min() < 0 or actions.max() >= spec.action_size):
            raise IrlaxError(f"{where}: actions{side} must be integers in [0, {spec.action_size}) for {spec.name}")
        real = arrays.get(f"real{side}", np.ones((count, length), bool))
        if (np.diff(real.astype(np.int8), axis=1) > 0).any() or not real[:, 0].all():
            raise IrlaxError(f"{where}: real{side} must mark a non-empty prefix of each fragment")
        cut = real & ~np.concatenate([real[:, 1:], np.zeros((count, 1), bool)], axis=1) & ~real[:, -1:]
        terminated = arrays.get(f"terminated{side}", cut) & real
        fragments.append(Fragment(
            np.asarray(arrays[f"obs{side}"], np.float32),
            np.asarray(actions, np.int32 if spec.discrete else np.float32),
            np.asarray(arrays[f"next_obs{side}"], np.float32), terminated, real))
    return Pair(fragments[0], fragments[1], np.asarray(labels, np.float32))


# ---------------------------------------------------------------------------------------------------------------
# the reward ensemble


class PreferenceReward(NamedTuple):
    """The learned reward (leaves of ``members`` have a leading ``[K]`` member axis).

    Attributes:
        members: the members' parameters: ``"net"`` and the frozen input statistics of
            :func:`~irlax.rewards.transition.mlp_transition_reward`, and ``"absorbing"`` (the absorbing state's
            reward parameter, see :func:`~irlax.algorithms.adversarial.absorbing_logit`).
        shift, scale: ``[K]`` each member's normalisation ``(r - shift) / scale``.
    """

    members: Any
    shift: Array
    scale: Array


def member_init(network: TransitionReward, key: Array, stats: InputStats) -> dict:
    """One member's fresh parameters."""
    return {**network.init(key, stats), "absorbing": jnp.float32(0.0)}


def member_return(network: TransitionReward, params: dict, fragment: Fragment) -> Array:
    """One member's (unnormalised) return of one fragment (absorbing steps at its learned reward)."""
    return fragment_return(lambda o, a, n: network.apply(params, o, a), absorbing_logit(params), fragment)


def ensemble_probabilities(network: TransitionReward, members: Any, first: Fragment, second: Fragment) -> Array:
    """``P [K, B]``: each member's ``P(f1 > f2)`` for the pairs ``first, second [B, L, ...]``."""
    returns = jax.vmap(jax.vmap(lambda p, f: member_return(network, p, f), (None, 0)), (0, None))
    return jax.nn.sigmoid(returns(members, first) - returns(members, second))


def preference_reward(network: TransitionReward, gamma: float, params: PreferenceReward, obs: Array, action: Array,
                      next_obs: Array, terminated: Array) -> Array:
    """The policy's reward: the mean over members of the normalised ``(r_k(s, a) - shift_k) / scale_k``, plus
    after a terminal step ``gamma / (1 - gamma)`` times the mean normalised absorbing reward."""
    step = jax.vmap(lambda p: network.apply(p, obs, action))(params.members)
    absorbing = jax.vmap(absorbing_logit)(params.members)
    norm = lambda r: jnp.mean((r - params.shift) / params.scale)
    return norm(step) + absorbing_bonus(terminated, norm(absorbing), gamma)


def member_normalisation(network: TransitionReward, members: Any, pairs: ReplayBuffer) -> tuple[Array, Array]:
    """``shift [K]``, ``scale [K]``: each member's mean and standard deviation of the reward over every step of the
    labelled fragments in ``pairs``, absorbing steps at its absorbing reward (the steps the preference model sums);
    0 and 1 while there are none."""
    weights = (jnp.arange(pairs.capacity) < pairs.size).astype(jnp.float32)
    weights = jnp.concatenate([weights, weights])[:, None]
    fragments = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), pairs.data.first, pairs.data.second)

    def one_member(params: dict) -> tuple[Array, Array]:
        step = jax.vmap(lambda o, a: network.apply(params, o, a))
        rewards = jnp.where(fragments.real, jax.vmap(step)(fragments.obs, fragments.action), absorbing_logit(params))
        total = jnp.sum(weights) * rewards.shape[1]
        mean = jnp.sum(weights * rewards) / jnp.maximum(total, 1.0)
        std = jnp.sqrt(jnp.sum(weights * (rewards - mean) ** 2) / jnp.maximum(total, 1.0)) + 1e-6
        return jnp.where(total > 0, mean, 0.0), jnp.where(total > 0, std, 1.0)

    return jax.vmap(one_member)(members)


def sample_stats(samples: Transition) -> InputStats:
    """Mean and standard deviation of the samples' observations: the reward networks' (frozen) standardisation."""
    return InputStats(jnp.mean(samples.obs, axis=0), jnp.std(samples.obs, axis=0) + 1e-3)


# ---------------------------------------------------------------------------------------------------------------
# the algorithm


class PreferencesState(NamedTuple):
    """The whole training state (leaves get a leading seed axis under ``vmap``).

    Attributes:
        learner: the forward learner's state.
        reward_params: the current :class:`PreferenceReward` (the reward to re-optimise).
        reward_opt_state: the members' optimiser states (leading ``[K]``).
        envs: the sampling environments mid-episode.
        pairs: the most recent labelled :class:`Pair` s.
        key: PRNG key for the next round.
        env_steps: ``float32 []`` environment steps so far (learner and samples).
        queries: ``float32 []`` pairs put to the oracle so far.
        rounds: ``int32 []`` rounds done.
    """

    learner: LearnerState
    reward_params: PreferenceReward
    reward_opt_state: optax.OptState
    envs: EnvCarry
    pairs: ReplayBuffer
    key: Array
    env_steps: Array
    queries: Array
    rounds: Array


class PreferencesMetrics(NamedTuple):
    """One round's record.

    Attributes:
        env_steps: environment steps so far.
        mean_return: mean true return of the learner's episodes that ended this round (NaN if none).
        queries: oracle queries so far (cumulative).
        reward_loss: the members' mean Bradley-Terry loss at the round's last reward step.
        reward_accuracy: the ensemble's agreement with this round's new labels before training on them (where the
            label is not a tie; NaN when all are ties or none was asked).
        disagreement: mean variance of ``P`` across members over the round's queried pairs.
    """

    env_steps: Array
    mean_return: Array
    queries: Array
    reward_loss: Array
    reward_accuracy: Array
    disagreement: Array


def example_fragment(spec: EnvSpec, length: int) -> Fragment:
    """A zero fragment of the task (the template of the pair buffer)."""
    obs = jnp.zeros((length, spec.obs_size), jnp.float32)
    action = jnp.zeros((length,), jnp.int32) if spec.discrete else jnp.zeros((length, spec.action_size), jnp.float32)
    false = jnp.zeros((length,), bool)
    return Fragment(obs, action, obs, false, false)


def make_preferences(config: PreferencesConfig, env: JaxEnv) -> Algorithm:
    """Preference comparisons in ``env`` with ``config`` (the synthetic oracle of the task's true reward).

    Its ``reward_fn(state.reward_params, obs, action, next_obs, terminated)`` is the learned (ensemble mean,
    normalised) reward.

    Raises:
        IrlaxError: a bad setting, or a host-stepped (Gymnasium) environment.
    """
    check_config(config)
    spec = env.spec
    if spec.backend != "jax":
        raise IrlaxError(f"preferences runs only in pure-JAX tasks ({env.name} is a {spec.backend} environment): "
                         f"its synthetic oracle needs the task's reward as a function")
    learner = make_inner_learner(config, spec)
    # human labels: the file's pairs are the whole data set (constants of ``init``; the path is in the config, so
    # algorithms with other files differ); else the synthetic oracle of the task's reward
    labelled = load_preference_pairs(config.preferences, spec) if config.preferences else None
    oracle = synthetic_oracle(config, env) if labelled is None else None
    length = config.fragment_length if labelled is None else labelled.first.obs.shape[1]
    capacity = config.buffer_size if labelled is None else labelled.label.shape[0]
    initial_queries = config.initial_queries if labelled is None else labelled.label.shape[0]
    queries_per_round = config.queries_per_round if labelled is None else 0
    gamma = config.gamma if config.gamma is not None else learner.config.gamma
    network = mlp_transition_reward(spec, config.hidden, config.activation, config.state_only)
    optimizer = reward_optimizer(config)
    members_k = config.ensemble_size
    samples_per_round = config.sample_envs * config.sample_steps
    round_steps = config.policy_iterations * learner.steps_per_iteration + samples_per_round

    def reward_fn(params: PreferenceReward, obs: Array, action: Array, next_obs: Array, terminated: Array) -> Array:
        return preference_reward(network, gamma, params, obs, action, next_obs, terminated)

    def sample(policy: Any, envs: EnvCarry, key: Array) -> tuple[EnvCarry, Transition]:
        """The policy's steps ``[T, E]`` (episodes continuing)."""
        act = lambda k, obs: learner.act(policy, k, obs)
        envs, transitions, _ = collect_steps(env, act, envs, key, config.sample_steps)
        return envs, transitions

    def candidates(transitions: Transition, key: Array, count: int) -> tuple[Fragment, Fragment]:
        first_key, second_key = jax.random.split(key)
        draw = lambda k: sample_fragments(transitions, k, count, length)
        return draw(first_key), draw(second_key)

    def ask(pairs: ReplayBuffer, key: Array, first: Fragment, second: Fragment) -> tuple[ReplayBuffer, Array]:
        labels = oracle(key, first, second)
        return replay_add(pairs, Pair(first, second, labels)), labels

    def normalisation(members: Any, pairs: ReplayBuffer) -> PreferenceReward:
        if not config.normalise:
            return PreferenceReward(members, jnp.zeros(members_k), jnp.ones(members_k))
        return PreferenceReward(members, *member_normalisation(network, members, pairs))

    def init(key: Array, demos: Demonstrations) -> PreferencesState:
        check_demos(demos, spec)
        learner_key, env_key, sample_key, pair_key, oracle_key, reward_key, key = jax.random.split(key, 7)
        learner_state = base.init_state(learner, env, learner_key)
        envs, transitions = sample(learner.policy_params(learner_state.agent), init_envs(env, env_key,
                                                                                         config.sample_envs),
                                   sample_key)
        flat = jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), transitions)
        members = jax.vmap(lambda k: member_init(network, k, sample_stats(flat)))(
            jax.random.split(reward_key, members_k))
        pairs = init_replay(Pair(*[example_fragment(spec, length)] * 2, jnp.float32(0.0)), capacity)
        if labelled is not None:
            pairs = replay_add(pairs, jax.tree.map(jnp.asarray, labelled))
        elif initial_queries:
            pairs, _ = ask(pairs, oracle_key, *candidates(transitions, pair_key, initial_queries))
        return PreferencesState(
            learner_state, normalisation(members, pairs), jax.vmap(optimizer.init)(members), envs, pairs, key,
            jnp.float32(samples_per_round), jnp.float32(initial_queries), jnp.int32(0))

    def member_step(params: dict, opt_state: optax.OptState, pairs: ReplayBuffer, key: Array
                    ) -> tuple[dict, optax.OptState, Array]:
        index = jax.random.randint(key, (config.batch_size,), 0, jnp.maximum(pairs.size, 1))
        batch = jax.tree.map(lambda x: x[index], pairs.data)

        def loss_fn(p: dict) -> tuple[Array, None]:
            returns = jax.vmap(lambda f: member_return(network, p, f))
            return bradley_terry_loss(returns(batch.first), returns(batch.second), batch.label), None

        params, opt_state, loss, _ = reward_gradient_step(optimizer, loss_fn, params, opt_state)
        return params, opt_state, loss

    def train_reward(members: Any, opt_state: optax.OptState, pairs: ReplayBuffer, key: Array
                     ) -> tuple[Any, optax.OptState, Array]:
        def one_step(carry: tuple, step_key: Array) -> tuple[tuple, Array]:
            members, opt_state = carry
            members, opt_state, loss = jax.vmap(member_step, in_axes=(0, 0, None, 0))(
                members, opt_state, pairs, jax.random.split(step_key, members_k))
            return (members, opt_state), jnp.mean(loss)

        (members, opt_state), losses = jax.lax.scan(one_step, (members, opt_state),
                                                    jax.random.split(key, config.reward_steps))
        return members, opt_state, losses[-1] if config.reward_steps else jnp.float32(jnp.nan)

    def query(state: PreferencesState, transitions: Transition, key: Array) -> tuple[ReplayBuffer, Array, Array,
                                                                                     Array]:
        """The round's queries: pairs, queries so far, the ensemble's accuracy on the new labels, disagreement."""
        pair_key, select_key, oracle_key = jax.random.split(key, 3)
        first, second = candidates(transitions, pair_key, queries_per_round * config.candidate_factor)
        probabilities = ensemble_probabilities(network, state.reward_params.members, first, second)
        chosen = select_pairs(select_key, probabilities, queries_per_round, config.selection)
        take = lambda f: jax.tree.map(lambda x: x[chosen], f)
        asked, labels = ask(state.pairs, oracle_key, take(first), take(second))
        allowed = (config.max_queries == 0) | (state.queries + queries_per_round <= config.max_queries)
        pairs = jax.tree.map(lambda new, old: jnp.where(allowed, new, old), asked, state.pairs)
        queries = state.queries + jnp.where(allowed, queries_per_round, 0)
        predicted = jnp.mean(probabilities[:, chosen], axis=0)
        decided = (labels != 0.5).astype(jnp.float32)
        accuracy = jnp.sum(decided * ((predicted > 0.5) == (labels > 0.5))) / jnp.maximum(jnp.sum(decided), 1.0)
        return (pairs, queries, jnp.where(allowed & (jnp.sum(decided) > 0), accuracy, jnp.nan),
                jnp.mean(jnp.var(probabilities[:, chosen], axis=0)))

    def one_round(state: PreferencesState, demos: Demonstrations) -> tuple[PreferencesState, PreferencesMetrics]:
        key, sample_key, query_key, reward_key = jax.random.split(state.key, 4)
        envs, transitions = sample(learner.policy_params(state.learner.agent), state.envs, sample_key)
        if labelled is None:
            pairs, queries, accuracy, disagreement = query(state, transitions, query_key)
        else:   # a file's labels: nothing to ask
            pairs, queries, accuracy, disagreement = state.pairs, state.queries, jnp.nan, jnp.nan
        members, opt_state, loss = train_reward(state.reward_params.members, state.reward_opt_state, pairs,
                                                reward_key)
        params = normalisation(members, pairs)
        learner_state, learner_metrics = base.update(
            learner, env, state.learner, config.policy_iterations, reward_fn, params)
        metrics = PreferencesMetrics(
            state.env_steps + round_steps, learner_mean_return(learner_metrics), queries, loss,
            jnp.float32(accuracy), jnp.float32(disagreement))
        return PreferencesState(learner_state, params, opt_state, envs, pairs, key, metrics.env_steps, queries,
                                state.rounds + 1), metrics

    def update(state: PreferencesState, demos: Demonstrations, num_rounds: int
               ) -> tuple[PreferencesState, PreferencesMetrics]:
        check_demos(demos, spec)
        return jax.lax.scan(lambda s, _: one_round(s, demos), state, None, length=num_rounds)

    return Algorithm(
        name="preferences", config=config, num_steps=config.rounds, init=init, update=update,
        metrics=PreferencesMetrics, policy=lambda state, demos: learner.policy_params(state.learner.agent),
        reward=lambda state, demos: state.reward_params, act=learner, reward_fn=reward_fn,
        check=lambda demos: check_demos(demos, spec), spec=spec, env=env, learner=learner, description=DESCRIPTION,
    )


def preset(env_name: str, learner: str = "", spec: Any = None) -> PreferencesConfig:
    """The tuned config for the task ``env_name`` (see :data:`PRESETS`; defaults elsewhere)."""
    fields = PRESETS.get((env_name, learner or tasks.default_learner(env_name, spec)), {})
    return PreferencesConfig(learner=learner, **fields)


PRESETS: dict[tuple[str, str], dict[str, Any]] = {
    ("Pendulum-v1", "sac"): {"rounds": 40, "policy_iterations": 500, "initial_queries": 200, "queries_per_round": 20,
                             "max_queries": 1000, "sample_envs": 8, "sample_steps": 100},
    ("CartPole-v1", "ppo"): {"rounds": 20, "policy_iterations": 1, "initial_queries": 100, "queries_per_round": 20,
                             "max_queries": 1000, "selection": "uniform"},
    ("Acrobot-v1", "ppo"): {"rounds": 40, "policy_iterations": 1, "initial_queries": 100, "queries_per_round": 20,
                            "max_queries": 1000, "selection": "uniform"},
}
"""Per (task, learner): the fields that differ from :class:`PreferencesConfig`'s defaults (at most 1000 queries).

CartPole-v1 (whose true reward is +1 a step) chooses its queries uniformly (so does Acrobot-v1, -1 a step until
its goal) and stops at 20 rounds (500 queries):
once the policy balances, the pairs the members disagree on most are two fragments that both stay up, which the
oracle calls a tie, so uncertainty selection stops asking about falls; and with 5 seeds the policy balanced within
about 15 rounds and then drifted down (README, "Preference comparisons", has the measurements)."""
