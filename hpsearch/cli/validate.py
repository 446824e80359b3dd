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
@click.option("--evolve", is_flag=True,
              help="Preview as `run --evolve` would meet the file (see below).")
@click.pass_context
def validate(ctx: click.Context, space_file: Path, n_samples: int, fmt: str, seed: int | None,
             evolve: bool) -> None:
    """Parse SPACE_FILE, show its parameters and sample configurations. Writes nothing.

    The objective's settings are checked too (the built-in trainer's [trainer] table,
    parameter names and values, a command's argv), without running the user's code. When
    the file's study exists in the database (--db), what `run` would do with it is shown:
    the parameters that changed (one line each), whether it would evolve or refuse, and for a
    grid how many points remain to run.
    """
    from hpsearch import render
    from hpsearch.validate import validate_space

    result = validate_space(space_file, samples=n_samples, seed=seed)
    if fmt == "json":
        render.echo_configs(result.configs)
        return
    render.print_validation(result)
    preview = _preview(ctx.obj["db"], result.space, evolve=evolve)
    if preview is not None:
        render.echo_change_preview(preview)


def _preview(url: str, space, *, evolve: bool):
    """What `run` would meet in an existing database (None: no database, or no study yet);
    a database that cannot be read is no error of validate's."""
    from hpsearch import open_storage
    from hpsearch.errors import HpsearchError
    from hpsearch.run import preview_change

    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        return None
    try:
        storage = open_storage(url, create=False)
    except HpsearchError:
        return None
    try:
        return preview_change(storage, space, evolve=evolve)
    finally:
        storage.dispose()


COMMANDS = (validate,)
