"""Every algorithm that trains on demonstrations, by name: tabular IRL, behavioural cloning, sample-based IRL.

:data:`ALGORITHMS` maps a name to an :class:`AlgorithmKind` (its config class,
factory, domain and description); :func:`make_algorithm` builds the
:class:`~irlax.algorithms.base.Algorithm`. Tabular algorithms (``domain="tabular"``)
train on :class:`~irlax.algorithms.base.TabularData`; control algorithms
(``domain="control"``) on a task's demonstrations, in its environment.
:func:`preset` gives an algorithm's tuned config for a task.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

from irlax import tasks
from irlax.algorithms import (
    airl,
    apprenticeship,
    bc,
    dagger,
    deep_maxent,
    density,
    gail,
    gcl,
    iq_learn,
    maxent,
    mce,
    mmp,
    preferences,
    sqil,
)
from irlax.algorithms.base import Algorithm
from irlax.algorithms.tabular_fit import make_gradient_algorithm
from irlax.envs.control import JaxEnv
from irlax.errors import IrlaxError
from irlax.settings import apply_overrides

LIKELIHOOD = ("log_likelihood", "log-likelihood per demonstration")
"""The curve a likelihood-based tabular fit plots: metric field and axis label."""


class AlgorithmKind(NamedTuple):
    """An algorithm's config class and factory.

    Attributes:
        name: its name, e.g. ``"mce"`` or ``"gail"``.
        config: its frozen config class.
        make: ``make(config, env, **context) -> Algorithm`` (``env`` is ``None`` for tabular algorithms;
            ``context``: what else an algorithm is built with, as DAgger's ``expert``).
        domain: ``"tabular"`` (known dynamics) or ``"control"`` (a control task's demonstrations).
        description: one line for help texts.
        curve: the metric a tabular fit plots per iteration, and its axis label.
    """

    name: str
    config: type
    make: Callable[[Any, JaxEnv | None], Algorithm]
    domain: str
    description: str
    curve: tuple[str, str] = LIKELIHOOD


def _gradient(name: str, build: Callable[..., Any], description: str) -> Callable[[Any, Any], Algorithm]:
    return lambda config, env=None: make_gradient_algorithm(name, config, build, description)


def _control(make: Callable[..., Algorithm]) -> Callable[..., Algorithm]:
    def build(config: Any, env: JaxEnv | None, **context: Any) -> Algorithm:
        if env is None:
            raise IrlaxError("this algorithm trains in a control task: give it an environment")
        return make(config, env, **context)

    return build


_DESCRIPTIONS = {
    "maxent": "Maximum Entropy IRL, linear reward (Ziebart et al. 2008)",
    "mce": "Maximum causal entropy IRL, linear reward (Ziebart et al. 2010)",
    "deep-maxent": "Deep MaxEnt IRL, neural reward (Wulfmeier et al. 2016)",
    "mmp": "Maximum Margin Planning, linear reward (Ratliff et al. 2006)",
}

ALGORITHMS: dict[str, AlgorithmKind] = {
    kind.name: kind
    for kind in (
        AlgorithmKind("maxent", maxent.MaxEntConfig, _gradient("maxent", maxent.problem, _DESCRIPTIONS["maxent"]),
                      "tabular", _DESCRIPTIONS["maxent"]),
        AlgorithmKind("mce", mce.MCEConfig, _gradient("mce", mce.problem, _DESCRIPTIONS["mce"]), "tabular",
                      _DESCRIPTIONS["mce"]),
        AlgorithmKind("deep-maxent", deep_maxent.DeepMaxEntConfig,
                      _gradient("deep-maxent", deep_maxent.problem, _DESCRIPTIONS["deep-maxent"]), "tabular",
                      _DESCRIPTIONS["deep-maxent"]),
        AlgorithmKind("max-margin", apprenticeship.MaxMarginConfig,
                      lambda config, env=None: apprenticeship.make_apprenticeship(config), "tabular",
                      "apprenticeship learning, max-margin (Abbeel & Ng 2004)", ("margin", "margin t")),
        AlgorithmKind("projection", apprenticeship.ProjectionConfig,
                      lambda config, env=None: apprenticeship.make_apprenticeship(config), "tabular",
                      "apprenticeship learning, projection (Abbeel & Ng 2004)", ("margin", "margin t")),
        AlgorithmKind("mmp", mmp.MMPConfig, _gradient("mmp", mmp.problem, _DESCRIPTIONS["mmp"]), "tabular",
                      _DESCRIPTIONS["mmp"],
                      ("log_likelihood", "negative structured hinge loss per unit visitation")),
        AlgorithmKind("bc", bc.BCConfig, _control(lambda config, env: bc.make_bc(config, env.spec)), "control",
                      bc.DESCRIPTION),
        AlgorithmKind("gcl", gcl.GCLConfig, _control(gcl.make_gcl), "control", gcl.DESCRIPTION),
        AlgorithmKind("gail", gail.GAILConfig, _control(gail.make_gail), "control", gail.DESCRIPTION),
        AlgorithmKind("airl", airl.AIRLConfig, _control(airl.make_airl), "control", airl.DESCRIPTION),
        AlgorithmKind("density", density.DensityConfig, _control(density.make_density), "control",
                      density.DESCRIPTION),
        AlgorithmKind("sqil", sqil.SQILConfig, _control(sqil.make_sqil), "control", sqil.DESCRIPTION),
        AlgorithmKind("dagger", dagger.DAggerConfig, _control(dagger.make_dagger), "control", dagger.DESCRIPTION),
        AlgorithmKind("iq-learn", iq_learn.IQLearnConfig, _control(iq_learn.make_iq_learn), "control",
                      iq_learn.DESCRIPTION),
        AlgorithmKind("preferences", preferences.PreferencesConfig, _control(preferences.make_preferences),
                      "control", preferences.DESCRIPTION),
    )
}
"""Every algorithm, by name."""

SAMPLE_IRL = ("gcl", "gail", "airl", "density", "preferences")
"""The sample-based IRL algorithms (a learned reward and a forward learner inside)."""


def names(domain: str | None = None) -> list[str]:
    """The algorithms' names, of one domain (``"tabular"``, ``"control"``) or all."""
    return [name for name, kind in ALGORITHMS.items() if domain is None or kind.domain == domain]


def get_algorithm_kind(name: str, domain: str | None = None) -> AlgorithmKind:
    """The algorithm called ``name`` (of ``domain`` if given); :class:`IrlaxError` listing the choices otherwise."""
    choices = names(domain)
    if name not in choices:
        raise IrlaxError(f"unknown algorithm {name!r}; choose one of {', '.join(choices)}")
    return ALGORITHMS[name]


def make_algorithm(name: str, config: Any, env: JaxEnv | None = None, **context: Any) -> Algorithm:
    """The :class:`~irlax.algorithms.base.Algorithm` called ``name`` with ``config`` (in ``env`` for control tasks;
    ``context``: what else it is built with, as DAgger's ``expert`` policy family)."""
    kind = get_algorithm_kind(name)
    if not isinstance(config, kind.config):
        raise IrlaxError(f"{name} takes a {kind.config.__name__}, not a {type(config).__name__}")
    return kind.make(config, env, **context)


def make_config(name: str, overrides: dict[str, Any]) -> Any:
    """The default config of algorithm ``name`` with ``overrides`` applied, strings converted to field types.

    Raises:
        IrlaxError: an unknown field or a value that does not convert.
    """
    return apply_overrides(get_algorithm_kind(name).config(), overrides, name)


SAC_ROUND = {"policy_iterations": 100, "sample_envs": 4, "sample_steps": 25, "buffer_size": 10_000}
"""Round sizes with SAC (one env step per iteration): 100 learner steps and 100 discriminator samples a round."""

PPO_ROUND = {"sample_envs": 16, "sample_steps": 64}
"""Round sizes with PPO: one learner iteration (16 x 128 steps) and 1024 discriminator samples a round."""

PPO_ROUNDS = 100
"""Rounds of the sample-based IRL algorithms with PPO (about 300k environment steps with the samples)."""

GAIL_PPO_HISTORY = {"buffer_size": PPO_ROUNDS * PPO_ROUND["sample_envs"] * PPO_ROUND["sample_steps"]}
"""GAIL with PPO: the discriminator draws the policy's side from every round's samples (the whole run of
:data:`PPO_ROUNDS` rounds), not the last two rounds', so it tells the expert from the mixture of all the policies so
far. At the end of a run that imitates well, a discriminator of the last policy alone is at chance (loss near
``2 log 2``), its reward about constant, and so is the absorbing state's: whether ending an episode pays is a tie, and
a fresh learner on the frozen reward mostly ends up on the wrong side of it (Acrobot-v1: never reaching the goal).
Against all past policies the reward keeps what told the expert from the early ones. Measured with
``irlax train gail --episodes 10 --eval-episodes 20`` on the control benchmark's demonstrations (imitation /
re-optimised seeds at 0.9 or more): Acrobot-v1, 20 seeds (``--seeds 5``, ``--seeds 5 --seed 100``,
``--seeds 10 --seed 300``), 12 / 17 against 12 / 9 with the last two rounds' samples; CartPole-v1, 20 seeds
(``--seeds 5``, ``--seeds 15 --seed 200``), 20 / 9 (mean re-optimised 0.79) against 17 / 9 (0.74): on CartPole
the imitation gains, the re-optimisation does not (these re-optimised the softplus form; through the logit,
GAIL's learned reward since, CartPole re-optimises in 15 of 15, :mod:`irlax.algorithms.gail`). Over a long run
the whole history can hurt: on MuJoCo Hopper-v5 (326 rounds) it imitated at 0.66 against 0.90 with the last two
rounds' (Walker2d-v5: 0.10), so ``benchmarks/mujoco_irl.py`` sets ``buffer_size=2048`` there. See docs/design.md,
"GAIL's reward re-optimised"."""

TASK_FIELDS = {("airl", "CartPole-v1"): {"gradient_penalty": 100.0},
               ("airl", "CartPole-v1", "ppo"): {"policy_reward": "softplus"},
               ("airl", "Hopper-v5", "ppo"): {"policy_reward": "softplus"},
               ("gail", "Acrobot-v1"): {"reward_type": "logit"},
               ("gail", "MountainCarContinuous-v0"): {"reward_type": "logit"}}
"""Settings of one algorithm on one task beyond the round sizes, keyed ``(algorithm, task)`` (with either learner) or
``(algorithm, task, learner)`` (the latter applied on top). Each was measured against the default (runs and
commands in docs/design.md):

- AIRL on CartPole-v1, the expert-side gradient penalty (``AdversarialConfig.gradient_penalty``) 100: 12 of 15
  seeds held the expert's level, 5 of 15 without (the discriminator drifted the policy down to 150-250 steps); on
  Acrobot-v1 the same penalty lost 2 of 5 seeds ("AIRL's drift on CartPole").
- AIRL with PPO on CartPole-v1 and Hopper-v5, the policy reward ``softplus(f - log pi)``
  (``AIRLConfig.policy_reward``), GAIL's form, never negative: with the paper's ``f - log pi``, unbounded below, a
  policy at the expert's level drifted down once its per-step reward fell to about the absorbing state's. CartPole,
  25 seeds (``--seeds 5 --seed S``, S = 0, 100, ..., 400): imitated / re-optimised at 0.8 or more in 24 / 20
  seeds, the logit 20 / 14; Hopper (PPO inside, 3 seeds, 1M steps, ``benchmarks/mujoco_irl.py``'s command): 1.01,
  1.01, 1.00, the logit 0.61, 0.55, 0.98. Not on Walker2d-v5 (both fail there, softplus worse: 0.06, 0.06, 0.04
  against 0.04, 0.08, 0.22) nor Acrobot-v1, where ending the episode is the goal (softplus 19 of 20 seeds at 0.9 or
  more, the logit 10 of 10). With SAC inside, AIRL's policy reward stays ``f`` (SAC adds its own ``-log pi``).
- GAIL on Acrobot-v1 and on MountainCarContinuous-v0, the logit reward ``log D - log(1 - D)``, which does not
  saturate where the discriminator is sure a state is the policy's. Softplus gives 0 there, everywhere a policy
  that never swings up goes: Acrobot, 20 seeds (``--seeds 5``, ``--seeds 5 --seed 100``, ``--seeds 10 --seed
  300``), imitated / re-optimised at 0.9 or more in 18 / 15 with the logit (and the whole history,
  :data:`GAIL_PPO_HISTORY`), 12 / 17 with softplus. On MountainCarContinuous softplus pays for living as much as
  for reaching the flag once the discriminator is unsure: 2 of 10 seeds stopped reaching it late in training
  (0.37, -0.07); with the logit all 10 imitate at 0.98 or more and 9 of 10 re-optimise at 0.8 or more. On
  CartPole-v1 the logit let 6 of 20 seeds drift ("GAIL's reward re-optimised"), so it is not CartPole's."""

TASK_LEARNER_FIELDS = {("gcl", "Acrobot-v1", "ppo"): {"scale_rewards": True}}
"""Settings of one learner inside one algorithm on one task (keyed ``(algorithm, task, learner)``), on top of the
task's config of that learner. GCL on Acrobot-v1 with PPO: each iteration's rewards divided by their root mean
square (``PPOConfig.scale_rewards``). GCL's learned reward keeps growing in scale while the policy has not found
the goal (a per-step reward near -14 after 100 rounds, against -1 in the seeds that found it early), and the
critic, stepped by Adam, lags such targets: 6 of 10 seeds (``--seed 0``, ``--seed 100``) reached 0.8 without it,
15 of 15 with it. On CartPole-v1 the same scaling lost 2 of 5 seeds (none without), so it is Acrobot's alone
(runs in docs/design.md, "Acrobot's seeds that never reach the goal")."""

AIRL_SAC = {"autotune": False, "initial_alpha": 1.0}
"""AIRL with SAC: the temperature fixed at 1, on top of the task's SAC config. AIRL's discriminator
``exp f / (exp f + pi)`` models the expert as soft-optimal at temperature 1, and its identity (the policy's objective
is the entropy-regularised return of ``f``) holds only when the policy is too; SAC's temperature tuned to an entropy
target breaks it. Measured with ``irlax train airl`` (10 demonstrations, 5 seeds, deterministic evaluation; imitation
/ re-optimised on the frozen ``g``, per seed): Pendulum-v1 all ten values in 0.98-1.04 (tuned temperature: one
re-optimised seed at -0.32); MountainCarContinuous-v0 IQM 0.97 / 0.22 (tuned: 0.83 / -0.30); in the point maze the
learned ``g`` correlates 0.84 with the true reward on expert transitions (tuned: -0.04). See docs/design.md."""

GCL_SAC_ROUND = {"policy_iterations": 200, "episodes_per_round": 1}
"""GCL with SAC: 200 learner steps and one sampled episode a round."""


def preset_learner_fields(name: str, env_name: str, learner: str) -> dict[str, Any]:
    """The fields :func:`preset` sets on ``learner``'s tuned config for ``env_name`` inside algorithm ``name``: what
    the algorithm needs of its learner to optimise its reward (:data:`AIRL_SAC`, :data:`TASK_LEARNER_FIELDS`). A
    fresh learner re-optimising the learned reward in another task (``irlax train --transfer-env``) gets them too,
    as one re-optimising it in the same task does (it is the algorithm's learner). GCL's scaling on Acrobot-v1 took
    its rewards' transfer to AcrobotHeavy-v1 from 4 to 5 of 5 seeds (``benchmarks/modified_dynamics.py``,
    2026-12-06); on AIRL's Pendulum-v1 rewards the temperature made no difference (the seed that failed to transfer,
    -0.02 and -0.21, failed either way)."""
    return {**(AIRL_SAC if name == "airl" and learner == "sac" else {}),
            **TASK_LEARNER_FIELDS.get((name, env_name, learner), {})}


def preset_learner_config(name: str, env_name: str, learner: str, target: str | None = None) -> Any:
    """``learner``'s tuned config for ``target`` (default ``env_name``) with :func:`preset_learner_fields` of
    algorithm ``name`` on ``env_name``: the learner inside ``name``'s preset, or the one re-optimising its reward in
    ``target``."""
    return dataclasses.replace(tasks.learner_config(target or env_name, learner),
                               **preset_learner_fields(name, env_name, learner))


def preset(name: str, env_name: str, learner: str = "", spec: Any = None) -> Any:
    """The tuned config of control algorithm ``name`` for the task ``env_name``.

    For GCL, GAIL, AIRL and density-based reward: round sizes by learner, rounds by task; ``learner``
    (``"ppo"`` or ``"sac"``; empty: the task's default) is recorded in the config. With SAC (the continuous
    tasks) a round is 100 learner steps (200 for GCL) and the rounds add up to the task's SAC budget for IRL
    (:func:`irlax.tasks.irl_learner_steps`); AIRL's SAC keeps its temperature at 1 (:data:`AIRL_SAC`). With PPO
    a round is one PPO iteration and there are 100 rounds (about 300k environment steps with the samples), GAIL's
    discriminator drawing from all of them (:data:`GAIL_PPO_HISTORY`). A task's own settings
    (:data:`TASK_FIELDS`: the task's with either learner, then the task's with this learner) go on top, and its
    learner's (:data:`TASK_LEARNER_FIELDS`) on the learner's config.
    These were checked on CartPole-v1, Pendulum-v1 and PointMaze-v0 (``benchmarks/imitation_compare.py``,
    ``benchmarks/maze_transfer.py``). SQIL:
    :func:`irlax.algorithms.sqil.preset` (its SAC config and rounds by task); preference comparisons:
    :func:`irlax.algorithms.preferences.preset`; DAgger: :func:`irlax.algorithms.dagger.preset` (more epochs
    a round for continuous actions). Other algorithms: their defaults.
    ``spec`` (the task's :class:`~irlax.envs.spec.EnvSpec`) picks the default learner of a task outside the table.
    """
    kind = get_algorithm_kind(name, "control")
    if name == "sqil":
        return sqil.preset(env_name)
    if name == "iq-learn":
        return iq_learn.preset(env_name, learner)
    if name == "preferences":
        return preferences.preset(env_name, learner, spec)
    if name == "dagger":
        return dagger.preset(spec if spec is not None else tasks.make_env(env_name).spec)
    if name not in SAMPLE_IRL:
        return kind.config()
    kind_of_learner = learner or tasks.default_learner(env_name, spec)
    learner_fields = preset_learner_fields(name, env_name, kind_of_learner)
    if kind_of_learner != "sac":
        fields = {} if name == "gcl" else {**PPO_ROUND, **(GAIL_PPO_HISTORY if name == "gail" else {})}
        rounds = PPO_ROUNDS
    else:
        fields = GCL_SAC_ROUND if name == "gcl" else SAC_ROUND
        rounds = max(1, tasks.irl_learner_steps(env_name) // fields["policy_iterations"])
    if learner_fields:
        fields = {**fields, "learner_config": preset_learner_config(name, env_name, kind_of_learner)}
    return kind.config(learner=learner, rounds=rounds, **{**fields, **TASK_FIELDS.get((name, env_name), {}),
                                                          **TASK_FIELDS.get((name, env_name, kind_of_learner), {})})
