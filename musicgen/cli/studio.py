"""``musicgen studio``: the local web page over the library (see `musicgen.studio`)."""

from __future__ import annotations

from pathlib import Path

import click

from musicgen.cli.common import DEFAULT_CORPUS, handle_errors, run_option

DEFAULT_TUNEBOOK = Path("out") / "tunebook.sqlite"  # beside other output; never in a run dir


@click.command()
@run_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port to listen on (0: any free port).",
)
@click.option(
    "--tunebook",
    type=click.Path(dir_okay=False),
    default=str(DEFAULT_TUNEBOOK),
    show_default=True,
    help="SQLite file of kept tunes (created if missing).",
)
@handle_errors
def studio(run_dir, host, port, tunebook):
    """Serve a page to generate, see, hear, edit, continue, keep and export tunes."""
    import socket

    import uvicorn

    from musicgen.abc.corpus import read_corpus
    from musicgen.studio.app import create_app
    from musicgen.studio.engine import Engine
    from musicgen.studio.tunebook import Tunebook

    click.echo(f"loading {run_dir} ...")
    engine = Engine(run_dir, list(read_corpus([DEFAULT_CORPUS]).tunes))
    app = create_app(engine, Tunebook(tunebook))
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    shown = f"[{host}]" if ":" in host else host
    click.echo(
        f"musicgen studio: open http://{shown}:{sock.getsockname()[1]}/  (tunebook {tunebook})"
    )
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])
