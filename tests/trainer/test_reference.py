"""Issue 12.13: one reference table of every [trainer] setting and builtin parameter, generated
from the code's registries; the README's copy is the generated one."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

from hpsearch.trainer import KNOWN_PARAMS, TrainerSettings
from hpsearch.trainer.reference import (END, PARAM_DOCS, SETTING_DOCS, START, reference_markdown,
                                        replace_section)

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_setting_and_parameter_is_documented_and_nothing_else():
    assert set(SETTING_DOCS) == {f.name for f in fields(TrainerSettings)}
    assert set(PARAM_DOCS) == set(KNOWN_PARAMS)


def test_the_table_lists_each_once_with_its_default():
    table = reference_markdown()
    for name in ("lr_decay_rate", "lr_step_size", "lr_min", "val_fraction", "split_seed",
                 "precision", "base_dir", "threads"):  # the ones the issue found undocumented
        assert table.count(f"| `{name}` |") == 1, name
    assert '| `precision` | `"fp32"` |' in table and "| `lr_decay_rate` | `0.95` |" in table


def test_readme_holds_the_generated_table():
    text = README.read_text(encoding="utf-8")
    assert START in text and END in text
    assert replace_section(text) == text, (
        "README.md's trainer reference is stale; regenerate it (see hpsearch/trainer/reference.py)")
