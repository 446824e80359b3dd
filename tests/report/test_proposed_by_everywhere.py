"""Every trial says what proposed it (issue 13 follow-up): random, Sobol and grid trials store
their sampler's name as model samplers store theirs, a queued retry keeps its proposer, and
`report` takes proposed_by as a column and a sort key on any study; csv and markdown always
carry it. The terminal table shows it only where it says more than the round's sampler."""

from __future__ import annotations

import csv
import io
import json

import pytest

from hpsearch.run.proposing import SamplerProposer
from hpsearch.samplers import make_sampler
from hpsearch.space import parse_space
from hpsearch.storage import Storage

from support.studies import python_study

MODULE = '''
def f(params, report):
    return {"loss": (params["x"] - 0.3) ** 2}
'''


def write_space(project, sampler: str, name: str = "plain", trials: int = 4):
    proj = project / "proj"
    (proj / "quad.py").write_text(MODULE)
    space = proj / f"{name}.toml"
    space.write_text(python_study(name, "quad:f", trials=trials, metric="loss",
                                  direction="minimize", study=f'sampler = "{sampler}"\nseed = 0'))
    return space


def stored(db_url: str, name: str) -> list:
    storage = Storage(db_url)
    try:
        return storage.trials(storage.get_study(name), best_first=False)
    finally:
        storage.dispose()


@pytest.mark.parametrize("sampler", ["random", "sobol", "grid"])
def test_index_samplers_store_their_name(project, invoke, db_url, sampler):
    assert invoke("run", write_space(project, sampler)).exit_code == 0
    assert [t.proposed_by for t in stored(db_url, "plain")] == [sampler] * 4


def test_a_queued_retry_keeps_the_proposer_of_the_trial_it_retries(db_url):
    space = parse_space(python_study("q", "m:f", trials=2), source="q.toml")
    storage = Storage(db_url)
    try:
        study = storage.create_study(name="q", metric="score", direction="minimize",
                                     sampler="sobol", seed=0, space={}, source="q.toml", target=2)
        rnd = storage.latest_round(study.id)
        propose = SamplerProposer(make_sampler("sobol", space, seed=0))
        first = storage.claim(study, rnd, propose=propose, limit=2, worker="w", device=None)
        assert first.proposed_by == "sobol"
        assert storage.recover_stale(study.id, older_than_s=-1) == [first.number]
        retry = storage.claim(study, rnd, propose=propose, limit=2, worker="w", device=None)
        assert (retry.retry_of, retry.params, retry.proposed_by) == (
            first.number, first.params, "sobol")
    finally:
        storage.dispose()


def test_columns_and_sort_proposed_by_work_on_a_random_study(project, invoke, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    assert invoke("run", write_space(project, "random")).exit_code == 0
    r = invoke("report", "plain", "--columns", "value,proposed_by")
    assert r.exit_code == 0, r.output
    rows = [line for line in r.output.splitlines() if line.startswith("│")]
    assert [row.split("│")[-2].strip() for row in rows] == ["random"] * 4
    r = invoke("report", "plain", "--sort", "proposed_by")
    assert r.exit_code == 0, r.output
    assert "sorted by proposed_by ascending" in " ".join(r.output.split())
    # All trials were proposed by the round's sampler: the table does not repeat it.
    assert "proposed_by" not in r.output.split("┃ #", 1)[1]


def test_a_changed_sampler_shows_in_the_table_and_sorts(project, invoke, monkeypatch):
    """Two random trials, then two more with --sampler sobol: the column tells them apart."""
    monkeypatch.setenv("COLUMNS", "100")
    space = write_space(project, "random", trials=2)
    assert invoke("run", space).exit_code == 0
    assert invoke("run", space, "--sampler", "sobol", "--add", "2").exit_code == 0
    r = invoke("report", "plain", "--sort", "-proposed_by")
    assert r.exit_code == 0, r.output
    header = next(line for line in r.output.splitlines() if "┃ #" in line)
    assert header.split("┃")[-2].strip() == "proposed_by"
    rows = [line for line in r.output.splitlines() if line.startswith("│")]
    assert [row.split("│")[-2].strip() for row in rows] == ["sobol", "sobol", "random", "random"]
    table = list(csv.reader(io.StringIO(invoke(
        "report", "plain", "--sort", "proposed_by", "--format", "csv").output)))
    assert [row[-1] for row in table] == ["proposed_by", "random", "random", "sobol", "sobol"]
    records = json.loads(invoke("report", "plain", "--sort", "proposed_by", "--format",
                                "json").output)
    assert [t["proposed_by"] for t in records] == ["random", "random", "sobol", "sobol"]


def test_markdown_has_the_proposed_by_column_like_csv(project, invoke):
    assert invoke("run", write_space(project, "grid")).exit_code == 0
    md = invoke("report", "plain", "--format", "markdown", "--sort", "number").output.splitlines()
    assert md[0] == "| number | round | state | value | x | duration | proposed_by |"
    assert [line.rsplit("|", 2)[-2].strip() for line in md[2:]] == ["grid"] * 4
    header = next(csv.reader(io.StringIO(invoke("report", "plain", "--format", "csv").output)))
    assert header == ["number", "round", "state", "value", "x", "duration", "proposed_by"]
