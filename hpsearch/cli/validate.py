"""``hpsearch validate``: a space file checked, with its first sampled configurations."""

from __future__ import annotations

from pathlib import Path

import click

__all__ = ["COMMANDS", "validate"]


@click.command()
@click.argument("space_file", type=click.Path(path_type=Path))  # load_space names a folder
@click.option("--sample", "n_samples", type=click.IntRange(min=0), default=5, show_default=True,
              help="How many sample configurations to draw.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="json: one sampled configuration per line, nothing else.")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Seed for the samples (default: the study's).")
def validate(space_file: Path, n_samples: int, fmt: str, seed: int | None) -> None:
    """Parse SPACE_FILE, show its parameters and sample configurations. Writes nothing.

    The objective's settings are checked too (the built-in trainer's [trainer] table,
    parameter names and values, a command's argv), without running the user's code.
    """
    from hpsearch import render
    from hpsearch.validate import validate_space

    result = validate_space(space_file, samples=n_samples, seed=seed)
    if fmt == "json":
        render.echo_configs(result.configs)
    else:
        render.print_validation(result)


COMMANDS = (validate,)
