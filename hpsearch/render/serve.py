"""What ``hpsearch serve`` says when it starts: where the page is, and the token once."""

from __future__ import annotations

import sys

import click

__all__ = ["print_serving"]


def print_serving(url: str, studies: list[str], *, token: str | None, generated: bool,
                  local: bool) -> None:
    """The address to open (with ``?token=`` when the token was generated: printed this once),
    on stdout, flushed at once (a script may read it)."""
    which = ", ".join(studies) if studies else "every study of the database"
    link = f"{url}?token={token}" if token is not None and generated else url
    click.echo(f"serving {which} at {link}")
    if token is not None and generated:
        click.echo("the token is in that link and is not shown again; it is checked on every request")
    elif token is not None:
        click.echo("every request must carry the token (open the link with ?token=...)")
    if local:
        click.echo("from another machine: ssh -L PORT:localhost:PORT this-host, then open the link there")
    click.echo("Ctrl-C stops")
    sys.stdout.flush()
