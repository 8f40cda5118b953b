"""The studio's ASGI app (Starlette): one page, static files and a JSON API under /api/.

Each handler is a module-level function in `ROUTES` (the practice ones in
`musicgen.studio.practice_routes`); the loaded `Engine` and the open
`Tunebook` are on ``request.app.state``.  Generate and continue take ``musicgen sample``'s
options (`musicgen.sampling.request`), with the same defaults and checks.

Downloads are named by tunebook id or carry ABC in the request body, never a path.  Every
client error is a 4xx JSON ``{"error": "one line"}``; anything unexpected is logged and
answered with a one-line 500, never a traceback.  In front of it all, `Guard`
(`musicgen.studio.guard`) refuses foreign hosts and origins, non-JSON writes and, where
one is set, requests without the token.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from musicgen.errors import MusicgenError
from musicgen.sampling.request import NO_FORM, SampleRequest
from musicgen.studio import params, practice_routes
from musicgen.studio.engine import Engine
from musicgen.studio.guard import Guard, Policy
from musicgen.studio.params import BadRequest
from musicgen.studio.tunebook import Tunebook, UnknownTune, tune_text

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# Continue writes one new ending (the page shows one) in any form: the edited start may
# already break any form a plan would draw.
CONTINUE = SampleRequest(n=1, form=NO_FORM)


def create_app(engine: Engine, tunebook: Tunebook, policy: Policy) -> Starlette:
    """The app over a loaded `engine` and an open `tunebook` (on ``app.state``), behind
    the `Guard` of `policy` (which hosts, origins and token it serves)."""
    middleware = [Middleware(Guard, policy=policy)]
    app = Starlette(routes=ROUTES, exception_handlers=ERROR_HANDLERS, middleware=middleware)
    app.state.engine, app.state.tunebook = engine, tunebook
    return app


async def index(request: Request) -> Response:
    return FileResponse(STATIC / "index.html")


async def info(request: Request) -> Response:
    state = request.app.state
    return JSONResponse({"run": state.engine.run_dir, "tunebook": str(state.tunebook.path)})


async def generate(request: Request) -> Response:
    """``{"tunes": [{"abc", "complete", "check"}...]}``, as ``musicgen sample`` writes them."""
    config = params.checked_config(request, await params.body(request))
    tunes = await run_in_threadpool(request.app.state.engine.generate, config)
    return JSONResponse({"tunes": tunes})


async def generate_stream(request: Request) -> Response:
    """ndjson: ``{"done": k, "n": n}`` as tunes finish, then ``{"tunes": [...]}``."""
    config = params.checked_config(request, await params.body(request))
    lines: queue.Queue = queue.Queue()
    work = (request.app.state.engine, config, lines)
    threading.Thread(target=_generate_into, args=work, daemon=True).start()

    def stream():
        yield json.dumps({"done": 0, "n": config.n}) + "\n"
        while (line := lines.get()) is not None:
            yield json.dumps(line) + "\n"

    return StreamingResponse(stream(), media_type="application/x-ndjson")


def _generate_into(engine: Engine, config, lines: queue.Queue) -> None:
    """Run `engine.generate` in a thread, putting on `lines` a progress line per tune,
    then the tunes or a one-line error, then None."""

    def progress(done: int) -> None:
        lines.put({"done": done, "n": config.n})

    try:
        lines.put({"tunes": engine.generate(config, progress)})
    except MusicgenError as exc:
        lines.put({"error": str(exc)})
    except Exception:  # logged; the client gets one line
        log.exception("generate failed")
        lines.put({"error": "internal error (see the server log)"})
    lines.put(None)


async def continue_tune(request: Request) -> Response:
    """New endings of the posted tune (``abc``), one by default, with its title."""
    data = await params.body(request)
    abc = params.text(data, "abc")
    if not abc:
        raise BadRequest("abc (the tune to continue) is required")
    config = params.checked_config(request, {**data, "primer": abc, "abc": None}, CONTINUE)
    engine = request.app.state.engine
    return JSONResponse({"tunes": await run_in_threadpool(engine.continue_tune, abc, config)})


async def check(request: Request) -> Response:
    abc = params.text(await params.body(request), "abc") or ""
    return JSONResponse(await run_in_threadpool(request.app.state.engine.check, abc))


async def kept(request: Request) -> Response:
    tunebook: Tunebook = request.app.state.tunebook
    if request.method == "POST":
        data = await params.body(request)
        abc = params.text(data, "abc")
        if not abc or not abc.strip():
            raise BadRequest("abc (the tune to keep) is required")
        title = params.text(data, "title", None, 200)
        return JSONResponse(await run_in_threadpool(tunebook.keep, abc, title), 201)
    query = request.query_params.get("q", "")[:200]
    starred = request.query_params.get("starred") in ("1", "true")
    return JSONResponse({"tunes": await run_in_threadpool(tunebook.search, query, starred)})


async def one_kept(request: Request) -> Response:
    tunebook: Tunebook = request.app.state.tunebook
    tune_id = request.path_params["id"]
    if request.method == "PATCH":
        data = await params.body(request)
        title = params.text(data, "title", None, 200)
        return JSONResponse(tunebook.update(tune_id, title, params.flag(data, "starred")))
    if request.method == "DELETE":
        tunebook.delete(tune_id)
        return JSONResponse({"deleted": tune_id})
    return JSONResponse(tunebook.get(tune_id))


async def kept_file(request: Request) -> Response:
    tune_id, fmt = request.path_params["id"], request.path_params["fmt"]
    tune = request.app.state.tunebook.get(tune_id)
    if fmt == "abc":
        return _download(tune_text(tune), f"tune-{tune_id}.abc")
    if fmt not in ("mid", "wav"):
        raise BadRequest(f"no format {fmt!r}: use abc, mid or wav", 404)
    return await practice_routes.sound(tune_text(tune), fmt, f"tune-{tune_id}")


async def export(request: Request) -> Response:
    query = request.query_params.get("q", "")[:200]
    starred = request.query_params.get("starred") in ("1", "true")
    return _download(request.app.state.tunebook.export(query, starred), "tunebook.abc")


def _download(text: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(text, media_type=practice_routes.MEDIA["abc"], headers=headers)


def _error(message: str, status: int) -> Response:
    return JSONResponse({"error": message.splitlines()[0] if message else "error"}, status)


def _internal(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s", request.url.path, exc_info=exc)
    return _error("internal error (see the server log)", 500)


ROUTES = [
    Route("/", index),
    Route("/api/info", info),
    Route("/api/generate", generate, methods=["POST"]),
    Route("/api/generate/stream", generate_stream, methods=["POST"]),
    Route("/api/continue", continue_tune, methods=["POST"]),
    Route("/api/check", check, methods=["POST"]),
    Route("/api/render/{fmt:str}", practice_routes.render_posted, methods=["POST"]),
    Route("/api/transpose", practice_routes.transpose, methods=["POST"]),
    Route("/api/layout", practice_routes.tune_layout, methods=["POST"]),
    Route("/api/vary", practice_routes.vary, methods=["POST"]),
    Route("/print", practice_routes.print_view),
    Route("/api/tunebook", kept, methods=["GET", "POST"]),
    Route("/api/tunebook/export.abc", export),
    Route("/api/tunebook/{id:int}", one_kept, methods=["GET", "PATCH", "DELETE"]),
    Route("/api/tunebook/{id:int}.{fmt:str}", kept_file),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]
ERROR_HANDLERS = {
    BadRequest: lambda request, exc: _error(str(exc), exc.status),
    UnknownTune: lambda request, exc: _error(str(exc), 404),
    MusicgenError: lambda request, exc: _error(str(exc), 400),  # OptionError among them
    HTTPException: lambda request, exc: _error(str(exc.detail), exc.status_code),
    Exception: _internal,
}
