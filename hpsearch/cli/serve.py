"""``hpsearch serve``: the study page of ``report --html``, live, from a read-only database."""

from __future__ import annotations

import re

import click

from hpsearch.cli.errors import fail
from hpsearch.cli.options import duration

__all__ = ["COMMANDS", "serve"]

TOKEN = re.compile(r"[A-Za-z0-9._~+/=-]{12,512}")


@click.command()
@click.argument("studies", nargs=-1)
@click.option("--port", type=click.IntRange(0, 65535), default=8080, show_default=True,
              help="TCP port (0: any free one, printed).")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but a loopback address needs a token.")
@click.option("--token", envvar="HPSEARCH_SERVE_TOKEN", default=None, metavar="TEXT",
              help="Secret every request must carry (env HPSEARCH_SERVE_TOKEN). Off loopback "
                   "without one, a token is generated and printed once.")
@click.option("--stale-after", callback=duration, default=None, metavar="DURATION",
              help="A running trial with no heartbeat for this long counts as stale (default 2m).")
@click.pass_context
def serve(ctx, studies, port, host, token, stale_after):
    """Serve the page of `report --html` live: new, pruned and failed trials, running trials
    and workers appear as they happen. STUDIES: those to switch between (default: all).

    Read-only: SQLite opened with mode=ro, PostgreSQL in read-only transactions."""
    from hpsearch.render.serve import print_serving
    from hpsearch.run import STALE_AFTER_S
    from hpsearch.serve import ServeApp, is_loopback, make_server, new_token, open_read_only

    local = is_loopback(host)
    generated = False
    if token is not None and not TOKEN.fullmatch(token):
        raise click.BadParameter("at least 12 characters of A-Z a-z 0-9 . _ ~ + / = - (it goes "
                                 "into links and a cookie)", param_hint="--token")
    if token is None and not local:
        token, generated = new_token(), True
    storage = open_read_only(ctx.obj["db"])
    app = ServeApp(storage, list(studies), token=token, stale_after=stale_after or STALE_AFTER_S)
    app.warm()
    try:
        server = make_server(app, host, port)
    except OSError as exc:
        fail(f"--host/--port: cannot listen on {host}:{port}: {exc.strerror or exc}", 2)
    bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
    shown = f"[{bound_host}]" if ":" in bound_host else bound_host
    print_serving(f"http://{shown}:{bound_port}/", list(studies), token=token,
                  generated=generated, local=local)
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        click.echo("stopped", err=True)
        ctx.exit(130)
    finally:
        server.server_close()


COMMANDS = (serve,)
