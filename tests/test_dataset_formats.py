"""Demonstrations from the datasets users have: Minari datasets and the imitation library's trajectory files.

Every dataset here is built locally by the package that owns the format (``minari``'s own writer; for
``imitation``'s, the ``datasets`` calls ``imitation.data.serialize.save`` makes: ``Dataset.from_dict`` of its
columns, then ``save_to_disk``), then imported; nothing is downloaded. Round trips are checked field by field.
"""

from __future__ import annotations

import json
import shutil

import gymnasium as gym
import numpy as np
import pytest

from irlax.cli.main import main
from irlax.data.demos import load_demonstrations, make_demonstrations, save_demonstrations
from irlax.data.formats import convert, detect_format, load_any
from irlax.data.imitation_format import load_imitation, save_imitation
from irlax.data.minari_format import load_minari, save_minari
from irlax.errors import IrlaxError
from irlax.tasks import make_env

minari = pytest.importorskip("minari")
datasets = pytest.importorskip("datasets")
from minari.data_collector.episode_buffer import EpisodeBuffer  # noqa: E402

HELD = ("obs", "next_obs", "actions", "rewards", "terminated", "truncated", "mask")
"""The fields Minari, imitation and irlax all hold (irlax's log-probabilities are the one they lack)."""


@pytest.fixture(autouse=True)
def minari_root(tmp_path, monkeypatch):
    """Minari's datasets folder inside the test's temporary directory (and no progress bars from ``datasets``,
    whose output the one-line error checks read)."""
    root = tmp_path / "minari-datasets"
    monkeypatch.setenv("MINARI_DATASETS_PATH", str(root))
    datasets.disable_progress_bars()
    yield root
    datasets.enable_progress_bars()


def pendulum_buffers(episodes: int = 3, steps: tuple[int, ...] = (6, 4, 9), seed: int = 0) -> list[EpisodeBuffer]:
    """Episodes of Gymnasium's Pendulum-v1 under random actions, stepped by Gymnasium, rewards in float32; each
    ends truncated (the last at its step), the second terminated instead (a flag Pendulum never sets itself)."""
    env = gym.make("Pendulum-v1")
    env.action_space.seed(seed)
    buffers = []
    for i in range(episodes):
        obs, _ = env.reset(seed=seed + i)
        buffer = EpisodeBuffer(observations=obs)
        for t in range(steps[i]):
            action = env.action_space.sample()
            obs, reward, _, _, info = env.step(action)
            last = t == steps[i] - 1
            buffer = buffer.add_step_data({
                "observation": obs, "action": action, "reward": np.float32(reward),
                "terminated": last and i == 1, "truncated": last and i != 1, "info": {},
            })
        buffers.append(buffer)
    return buffers


def minari_dataset(dataset_id: str, buffers, data_format: str = "hdf5", env: str = "Pendulum-v1"):
    """A dataset made by ``minari.create_dataset_from_buffers``; its directory."""
    dataset = minari.create_dataset_from_buffers(dataset_id, buffers, env=env, eval_env=env, data_format=data_format,
                                                 algorithm_name="random", description="test data",
                                                 author="irlax tests", author_email="tests@irlax.invalid",
                                                 code_permalink="https://irlax.invalid/tests")
    return minari.storage.get_dataset_path(dataset_id), dataset


@pytest.mark.parametrize("data_format", ["hdf5", "arrow"])
def test_minari_import_holds_every_field_of_each_episode(data_format):
    buffers = pendulum_buffers()
    path, _ = minari_dataset(f"test/pendulum-{data_format}-v0", buffers, data_format)
    demos = load_minari(path)
    assert demos.env_name == "Pendulum-v1" and demos.backend == "gymnasium"
    assert (demos.obs_size, demos.discrete, demos.action_size) == (3, False, 1)
    assert not demos.log_probs_known and np.all(np.asarray(demos.log_probs) == 0)
    assert json.loads(demos.expert)["algorithm_name"] == "random"
    np.testing.assert_array_equal(np.asarray(demos.lengths()), [6, 4, 9])
    for i, buffer in enumerate(buffers):
        steps = len(buffer.rewards)
        observations = np.asarray(buffer.observations)
        np.testing.assert_array_equal(np.asarray(demos.obs[i, :steps]), observations[:-1])
        np.testing.assert_array_equal(np.asarray(demos.next_obs[i, :steps]), observations[1:])
        np.testing.assert_array_equal(np.asarray(demos.actions[i, :steps]), np.asarray(buffer.actions))
        np.testing.assert_array_equal(np.asarray(demos.rewards[i, :steps]), np.asarray(buffer.rewards))
        np.testing.assert_array_equal(np.asarray(demos.terminated[i, :steps]), np.asarray(buffer.terminations))
        np.testing.assert_array_equal(np.asarray(demos.truncated[i, :steps]), np.asarray(buffer.truncations))
        assert not np.asarray(demos.mask[i, steps:]).any()
    # the dataset's data folder is accepted too, and every --demos reader takes the directory
    assert np.array_equal(np.asarray(load_minari(path / "data").obs), np.asarray(demos.obs))
    assert np.array_equal(np.asarray(load_demonstrations(path).rewards), np.asarray(demos.rewards))


def assert_same(a, b, fields=HELD):
    for key in fields:
        x, y = np.asarray(getattr(a, key)), np.asarray(getattr(b, key))
        assert x.dtype == y.dtype and x.shape == y.shape, key
        np.testing.assert_array_equal(x, y, err_msg=key)


def test_minari_to_irlax_to_minari_is_lossless(tmp_path, minari_root):
    path, original = minari_dataset("test/pendulum-v0", pendulum_buffers())
    npz = tmp_path / "demos.npz"
    convert(path, npz)
    back = minari_root / "irlax" / "pendulum-back-v0"
    convert(npz, back, "minari")
    again = minari.load_dataset("irlax/pendulum-back-v0")  # Minari itself reads what irlax wrote
    assert again.total_episodes == original.total_episodes and again.env_spec.id == "Pendulum-v1"
    for a, b in zip(original.iterate_episodes(), again.iterate_episodes(), strict=True):
        for field in ("observations", "actions", "rewards", "terminations", "truncations"):
            np.testing.assert_array_equal(getattr(a, field), getattr(b, field), err_msg=field)


def irlax_demos(discrete: bool, env_name: str, obs_size: int, action_size: int, lengths=(5, 3, 8), seed: int = 1):
    """irlax demonstrations with known log-probabilities, whose ``next_obs`` continue their ``obs``."""
    rng = np.random.default_rng(seed)
    n, t = len(lengths), max(lengths)
    mask = np.arange(t)[None, :] < np.asarray(lengths)[:, None]
    states = rng.normal(size=(n, t + 1, obs_size)).astype(np.float32)
    last = np.arange(t)[None, :] == (np.asarray(lengths) - 1)[:, None]
    ends_terminal = (np.arange(n) % 2 == 0)[:, None]
    arrays = {
        "obs": states[:, :-1], "next_obs": states[:, 1:],
        "actions": rng.integers(0, action_size, (n, t)).astype(np.int32) if discrete
        else rng.uniform(-1, 1, (n, t, action_size)).astype(np.float32),
        "rewards": rng.normal(size=(n, t)).astype(np.float32), "terminated": last & ends_terminal,
        "truncated": last & ~ends_terminal, "log_probs": -rng.uniform(0, 2, (n, t)).astype(np.float32),
        "mask": mask,
    }
    return make_demonstrations(arrays, env_name=env_name, obs_size=obs_size, discrete=discrete,
                               action_size=action_size, expert=json.dumps({"learner": "ppo"}), backend="jax",
                               task="0123456789abcdef")


@pytest.mark.parametrize("fmt", ["minari", "imitation"])
@pytest.mark.parametrize("discrete", [True, False])
def test_irlax_round_trip_keeps_every_field_the_format_holds(tmp_path, fmt, discrete):
    demos = (irlax_demos(True, "CartPole-v1", 4, 2) if discrete else irlax_demos(False, "Pendulum-v1", 3, 1))
    target = tmp_path / "dataset"
    spec = make_env(demos.env_name).spec
    (save_minari if fmt == "minari" else lambda p, d, s: save_imitation(p, d))(target, demos, spec)
    assert detect_format(target) == fmt
    back = load_any(target)
    assert_same(demos, back)
    assert (back.env_name, back.backend, back.task, back.expert) == (demos.env_name, "jax", demos.task,
                                                                    demos.expert)
    assert (back.discrete, back.action_size, back.obs_size) == (demos.discrete, demos.action_size, demos.obs_size)
    assert demos.log_probs_known and not back.log_probs_known  # what the format lacks is marked absent
    assert np.all(np.asarray(back.log_probs) == 0)
    # the absence survives irlax's own file
    save_demonstrations(tmp_path / "back.npz", back)
    assert not load_demonstrations(tmp_path / "back.npz").log_probs_known


def imitation_columns(discrete: bool, lengths=(4, 7), seed: int = 2) -> dict:
    """Columns as ``imitation.data.huggingface_utils.trajectories_to_dict`` lays TrajectoryWithRew out: T + 1
    observations, T actions, infos as jsonpickle strings, terminal flags, T rewards; float64 observations as a
    Gymnasium environment returns them."""
    rng = np.random.default_rng(seed)
    return {
        "obs": [rng.normal(size=(t + 1, 4)) for t in lengths],
        "acts": [rng.integers(0, 2, t) if discrete else rng.uniform(-1, 1, (t, 1)).astype(np.float32)
                 for t in lengths],
        "infos": [['{"TimeLimit.truncated": false}'] * t for t in lengths],
        "terminal": [True, False][: len(lengths)],
        "rews": [rng.normal(size=t).astype(np.float32) for t in lengths],
    }


def test_imitation_import_reads_the_libraries_columns(tmp_path):
    columns = imitation_columns(discrete=True)
    datasets.Dataset.from_dict(columns).save_to_disk(str(tmp_path / "trajs"))
    demos = load_imitation(tmp_path / "trajs", make_env("CartPole-v1").spec)
    assert demos.env_name == "CartPole-v1" and demos.discrete and demos.action_size == 2
    for i, t in enumerate((4, 7)):
        np.testing.assert_array_equal(np.asarray(demos.obs[i, :t]), columns["obs"][i][:-1].astype(np.float32))
        np.testing.assert_array_equal(np.asarray(demos.next_obs[i, :t]), columns["obs"][i][1:].astype(np.float32))
        np.testing.assert_array_equal(np.asarray(demos.actions[i, :t]), columns["acts"][i])
        np.testing.assert_array_equal(np.asarray(demos.rewards[i, :t]), columns["rews"][i])
        assert bool(demos.terminated[i, t - 1]) == columns["terminal"][i]
        assert bool(demos.truncated[i, t - 1]) == (not columns["terminal"][i])
        assert not np.asarray(demos.terminated[i, : t - 1]).any() and not np.asarray(demos.truncated[i, : t - 1]).any()
    # irlax -> imitation -> irlax, and the columns irlax writes are the library's
    save_imitation(tmp_path / "again", demos)
    written = datasets.load_from_disk(str(tmp_path / "again"))
    assert set(written.column_names) == {"obs", "acts", "infos", "terminal", "rews"}
    assert written[0]["infos"] == ["{}"] * 4
    assert_same(demos, load_imitation(tmp_path / "again"))


def test_demos_convert_command_chains_the_three_formats(tmp_path, capsys):
    path, _ = minari_dataset("test/pendulum-chain-v0", pendulum_buffers())
    a, m, i, b = tmp_path / "a.npz", tmp_path / "m", tmp_path / "i", tmp_path / "b.npz"
    assert main(["demos", "convert", str(path), str(a)]) == 0
    assert "(irlax) from" in capsys.readouterr().out
    assert main(["demos", "convert", str(a), str(m), "--to", "minari", "--minari-format", "arrow"]) == 0
    assert main(["demos", "convert", str(m), str(i), "--to", "imitation"]) == 0
    assert main(["demos", "convert", str(i), str(b), "--env", "Pendulum-v1", "--backend", "gymnasium"]) == 0
    assert_same(load_demonstrations(a), load_demonstrations(b))
    assert json.loads((m / "data" / "metadata.json").read_text())["data_format"] == "arrow"


def test_bad_datasets_fail_in_one_line(tmp_path, fails_in_one_line):
    path, _ = minari_dataset("test/pendulum-bad-v0", pendulum_buffers())
    npz = tmp_path / "demos.npz"
    # a dataset of another environment
    fails_in_one_line(["demos", "convert", str(path), str(npz), "--env", "CartPole-v1"],
                      "have observations of size 3 (Pendulum-v1), but CartPole-v1 has observations of size 4")
    fails_in_one_line(["train", "gail", "--demos", str(path), "--env", "Hopper-v5", "--rounds", "1"],
                      "but Hopper-v5 has observations of size 11")
    # an output that exists already, a format nobody asked for, the input as output, a directory of neither kind
    (tmp_path / "taken").mkdir()
    fails_in_one_line(["demos", "convert", str(path), str(tmp_path / "taken"), "--to", "imitation"], "already exists")
    fails_in_one_line(["demos", "convert", str(path), str(tmp_path / "x")], "say which format")
    fails_in_one_line(["demos", "convert", str(tmp_path), str(npz)], "neither a Minari dataset")
    # an imitation file without rewards, one nobody says the environment of
    columns = imitation_columns(discrete=True)
    no_rews = {k: v for k, v in columns.items() if k != "rews"}
    datasets.Dataset.from_dict(no_rews).save_to_disk(str(tmp_path / "no-rews"))
    fails_in_one_line(["demos", "convert", str(tmp_path / "no-rews"), str(npz)], "have no rewards")
    datasets.Dataset.from_dict(columns).save_to_disk(str(tmp_path / "unnamed"))
    fails_in_one_line(["demos", "convert", str(tmp_path / "unnamed"), str(npz)], "give it with --env")
    fails_in_one_line(["train", "gail", "--demos", str(tmp_path / "unnamed"), "--rounds", "1"], "give --env")
    no_terminal = {k: v for k, v in columns.items() if k != "terminal"}
    datasets.Dataset.from_dict(no_terminal).save_to_disk(str(tmp_path / "no-terminal"))
    fails_in_one_line(["demos", "convert", str(tmp_path / "no-terminal"), str(npz)], "lacks the column(s) terminal")
    nan = dict(columns, obs=[np.full_like(columns["obs"][0], np.nan), columns["obs"][1]])
    datasets.Dataset.from_dict(nan).save_to_disk(str(tmp_path / "nan"))
    fails_in_one_line(["demos", "convert", str(tmp_path / "nan"), str(npz), "--env", "CartPole-v1"], "NaN")
    # a truncated Arrow file
    broken = tmp_path / "broken"
    shutil.copytree(tmp_path / "unnamed", broken)
    arrow = next(broken.glob("*.arrow"))
    arrow.write_bytes(arrow.read_bytes()[: arrow.stat().st_size // 2])
    fails_in_one_line(["demos", "convert", str(broken), str(npz), "--env", "CartPole-v1"], "cannot read it")
    assert not npz.exists()


def test_bad_minari_files_fail_in_one_line(tmp_path, fails_in_one_line):
    import h5py

    npz = tmp_path / "demos.npz"
    missing, _ = minari_dataset("test/missing-v0", pendulum_buffers())
    with h5py.File(missing / "data" / "main_data.hdf5", "a") as f:
        del f["episode_1/rewards"]
    fails_in_one_line(["demos", "convert", str(missing), str(npz)], "rewards")
    nan_buffers = pendulum_buffers()
    nan_buffers[2].observations[3] = np.full(3, np.nan, np.float32)
    nan, _ = minari_dataset("test/nan-v0", nan_buffers)
    fails_in_one_line(["demos", "convert", str(nan), str(npz)], "obs contains NaN or inf")
    truncated, _ = minari_dataset("test/truncated-v0", pendulum_buffers())
    data = truncated / "data" / "main_data.hdf5"
    data.write_bytes(data.read_bytes()[:1000])
    fails_in_one_line(["demos", "convert", str(truncated), str(npz)], "cannot read it")
    assert not npz.exists()


def test_a_minari_metadata_file_without_what_minari_reads_fails_in_one_line(tmp_path, fails_in_one_line):
    """Minari's reader meets a bad ``metadata.json`` with a bare ``AssertionError``; irlax names the field."""
    npz = tmp_path / "demos.npz"
    dataset, _ = minari_dataset("test/metadata-v0", pendulum_buffers())
    file = dataset / "data" / "metadata.json"
    good = json.loads(file.read_text())
    without = lambda *keys: json.dumps({k: v for k, v in good.items() if k not in keys})
    for text, message in (
        ("{not json", "data/metadata.json is not JSON"),
        ("[1, 2]", "data/metadata.json is not a JSON object"),
        (without("data_format"), "data/metadata.json lacks data_format (one of hdf5, arrow)"),
        (json.dumps({**good, "data_format": "zip"}), "has data_format 'zip'"),
        (json.dumps({**good, "action_space": 3}), "action_space is not a serialised space"),
        (without("action_space", "env_spec"), "names neither both spaces"),
    ):
        file.write_text(text)
        fails_in_one_line(["demos", "convert", str(dataset), str(npz)], f"Minari dataset {dataset}: {message}"
                          if message.startswith("data/") else message)
    assert not npz.exists()
    file.write_text(without("observation_space", "action_space"))  # the spaces from the environment's spec
    assert main(["demos", "convert", str(dataset), str(npz)]) == 0
    np.testing.assert_array_equal(load_demonstrations(npz).lengths(), [6, 4, 9])


def test_gail_on_hopper_from_an_imported_minari_dataset(tmp_path, no_progress):
    """A Minari dataset of Hopper-v5 (made by Minari's writer from Gymnasium's own steps) drives a short GAIL run
    end to end: the environment comes from the dataset's spec."""
    env = gym.make("Hopper-v5")
    env.action_space.seed(0)
    buffers = []
    for i in range(3):
        obs, _ = env.reset(seed=i)
        buffer = EpisodeBuffer(observations=obs)
        for t in range(40):
            action = env.action_space.sample()
            obs, reward, terminated, truncated, _ = env.step(action)
            truncated = truncated or (t == 39 and not terminated)
            buffer = buffer.add_step_data({"observation": obs, "action": action, "reward": reward,
                                           "terminated": terminated, "truncated": truncated,
                                           "info": {}})
            if terminated or truncated:
                break
        buffers.append(buffer)
    path, _ = minari_dataset("test/hopper-random-v0", buffers, env="Hopper-v5")
    out = tmp_path / "run"
    assert main(["train", "gail", "--demos", str(path), "--learner", "ppo", "--rounds", "2", "--seeds", "1",
                 "--reoptimize-steps", "0", "--eval-episodes", "1", "--out", str(out), "--quiet"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["env"] == "Hopper-v5" and summary["demo_episodes"] == 3
    assert np.isfinite(summary["evaluation"][0]["return"])


def test_minari_export_refuses_demonstrations_it_cannot_hold(tmp_path):
    demos = irlax_demos(False, "Pendulum-v1", 3, 1)
    broken = demos.replace(next_obs=demos.next_obs.at[0, 1].add(1.0))
    with pytest.raises(IrlaxError, match=r"episode 0: next_obs\[1\] is not obs\[2\]"):
        save_minari(tmp_path / "x", broken)
    assert not (tmp_path / "x").exists()
    assert not list(tmp_path.iterdir())  # no temporary directory left behind
