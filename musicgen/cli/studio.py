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
@click.option(
    "--token",
    default=None,
    metavar="auto|TOKEN",
    help="Require this token (auto: a random one), printed in the URL to open. "
    "Needed with a --host other than loopback.  [default: none on loopback]",
)
@handle_errors
def studio(run_dir, host, port, tunebook, token):
    """Serve a page to generate, see, hear, edit, continue, vary, practise, keep and print
    tunes.

    Only requests naming this server in their Host header are served, and every write
    must be JSON from the page's own origin, so other web pages cannot drive it.
    """
    import socket

    from musicgen.studio.guard import is_loopback, new_token, policy_for

    if token is None and not is_loopback(host):
        raise click.UsageError(
            f"--host {host} is reachable from other machines: give --token auto "
            "(or a token of your own) so that only those with the URL can use it"
        )
    if token == "auto":
        token = new_token()

    import uvicorn

    from musicgen.abc.corpus import read_corpus
    from musicgen.studio.app import create_app
    from musicgen.studio.engine import Engine
    from musicgen.studio.tunebook import Tunebook

    click.echo(f"loading {run_dir} ...")
    engine = Engine(run_dir, list(read_corpus([DEFAULT_CORPUS]).tunes))
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror}") from None
    bound = sock.getsockname()[1]
    app = create_app(engine, Tunebook(tunebook), policy_for(host, bound, token))
    shown = f"[{host}]" if ":" in host else host
    query = f"?token={token}" if token else ""
    click.echo(f"musicgen studio: open http://{shown}:{bound}/{query}  (tunebook {tunebook})")
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    server.run(sockets=[sock])
