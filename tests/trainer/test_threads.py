"""Issue 12.9: torch's thread count per trial, ``[trainer] threads`` (default "auto")."""

from __future__ import annotations

import pytest
import torch

from hpsearch.errors import ConfigError
from hpsearch.objectives import TrialContext, make_objective
from hpsearch.space import parse_space
from hpsearch.trainer import TrainerSettings, TrialParams
from hpsearch.trainer.threads import (AUTO_MAX_THREADS, LARGE_MODEL_MACS, model_macs,
                                      resolve_threads, thread_budget)


@pytest.fixture(autouse=True)
def restore_threads():
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


def test_auto_gives_a_small_model_one_thread_and_a_large_one_a_few():
    assert resolve_threads("auto", macs=LARGE_MODEL_MACS - 1, budget=16) == 1
    assert resolve_threads("auto", macs=LARGE_MODEL_MACS, budget=16) == AUTO_MAX_THREADS
    assert resolve_threads("auto", macs=LARGE_MODEL_MACS, budget=2) == 2  # the worker's share
    assert resolve_threads(3, macs=0, budget=1) == 3  # a number is taken as it is


def test_model_size_counts_a_batch_of_multiply_adds():
    p = TrialParams.from_mapping({"n_layers": 2, "hidden_units": 128, "batch_size": 64})
    assert model_macs(p, 64, 10) == 64 * (64 * 128 + 128 * 128 + 128 * 10)


def test_budget_is_the_workers_share_of_the_idle_cores(monkeypatch):
    import os
    monkeypatch.setattr(os, "cpu_count", lambda: 16)
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.0, 0.0))
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert thread_budget() == 3
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert thread_budget() == 16
    monkeypatch.setattr(os, "getloadavg", lambda: (14.6, 0.0, 0.0))  # a busy machine
    assert thread_budget() == 1


@pytest.mark.parametrize("bad", [0, -1, "many", 1.5, True])
def test_threads_setting_is_checked(bad):
    with pytest.raises(ConfigError, match=r"trainer.threads: .* must be \"auto\" or an integer >= 1"):
        TrainerSettings(threads=bad)


SPACE = '''
[study]
metric = "val_accuracy"
[trainer]
dataset = "synthetic"
n_samples = 200
n_features = 8
n_classes = 3
epochs = 1
{threads}
[params]
learning_rate = {{ type = "log_uniform", low = 1e-4, high = 1e-1 }}
'''


def run_trial(threads_line: str = "", **kwargs) -> int:
    torch.set_num_threads(2)  # whatever torch had before (its default: all cores)
    space = parse_space(SPACE.format(threads=threads_line), source="space.toml")
    ctx = TrialContext(number=0, seed=0, device="cpu", report=lambda s, m: None)
    make_objective(space, device="cpu", **kwargs).run({"learning_rate": 0.01}, ctx)
    return torch.get_num_threads()


def test_a_trial_runs_with_the_threads_of_its_setting():
    assert run_trial() == 1  # auto: a small MLP gets one thread
    assert run_trial("threads = 3") == 3
    assert run_trial("threads = 3", threads=1) == 1  # run --threads wins over the file
