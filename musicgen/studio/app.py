"""The studio's ASGI app (Starlette): one page, static files and a JSON API under /api/.

Downloads are named by tunebook id or carry ABC in the request body, never a path.  Every
client error is a 4xx JSON ``{"error": "one line"}``; anything unexpected is logged and
answered with a one-line 500, never a traceback.
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
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from musicgen.errors import MusicgenError
from musicgen.sampling.sampler import build_primer
from musicgen.studio import params
from musicgen.studio.engine import Engine, render
from musicgen.studio.params import BadRequest
from musicgen.studio.tunebook import Tunebook, UnknownTune, tune_text

log = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
MEDIA = {"mid": "audio/midi", "wav": "audio/wav", "abc": "text/vnd.abc; charset=utf-8"}


def create_app(engine: Engine, tunebook: Tunebook) -> Starlette:
    """The app over a loaded `engine` and an open `tunebook`."""

    async def body(request: Request) -> dict:
        size = request.headers.get("content-length", "0")
        if size.isdigit() and int(size) > params.MAX_BODY:
            raise BadRequest(f"request body is {int(size):,} bytes; limit {params.MAX_BODY:,}", 413)
        return params.parse_json(await request.body())

    def generate_config(data: dict):
        config = params.sample_config(data, len(engine.sampler.vocab.chars))
        primer = params.text(data, "primer", "", 4000)
        meter = params.text(data, "meter", None, 20) or None
        key = params.text(data, "key", None, 40) or None
        primer = build_primer(primer, meter, key)
        engine.encodable(primer, "the primer (meter, key)")
        return config.__class__(**{**config.__dict__, "primer": primer})

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html")

    async def info(request: Request) -> Response:
        return JSONResponse({"run": engine.run_dir, "tunebook": str(tunebook.path)})

    async def generate(request: Request) -> Response:
        config = generate_config(await body(request))
        return JSONResponse({"tunes": await run_in_threadpool(engine.generate, config)})

    async def generate_stream(request: Request) -> Response:
        """ndjson: ``{"done": k, "n": n}`` as tunes finish, then ``{"tunes": [...]}``."""
        config = generate_config(await body(request))
        lines: queue.Queue = queue.Queue()

        def work() -> None:
            try:
                tunes = engine.generate(
                    config, lambda done: lines.put({"done": done, "n": config.n})
                )
                lines.put({"tunes": tunes})
            except MusicgenError as exc:
                lines.put({"error": str(exc)})
            except Exception:  # logged; the client gets one line
                log.exception("generate failed")
                lines.put({"error": "internal error (see the server log)"})
            lines.put(None)

        threading.Thread(target=work, daemon=True).start()

        def stream():
            yield json.dumps({"done": 0, "n": config.n}) + "\n"
            while (line := lines.get()) is not None:
                yield json.dumps(line) + "\n"

        return StreamingResponse(stream(), media_type="application/x-ndjson")

    async def continue_tune(request: Request) -> Response:
        data = await body(request)
        config = params.sample_config(data, len(engine.sampler.vocab.chars))
        abc = params.text(data, "abc")
        if not abc:
            raise BadRequest("abc (the tune to continue) is required")
        return JSONResponse({"tunes": await run_in_threadpool(engine.continue_tune, abc, config)})

    async def check(request: Request) -> Response:
        abc = params.text(await body(request), "abc") or ""
        return JSONResponse(await run_in_threadpool(engine.check, abc))

    async def render_posted(request: Request) -> Response:
        fmt = request.path_params["fmt"]
        if fmt not in ("mid", "wav"):
            raise BadRequest(f"no format {fmt!r}: use mid or wav", 404)
        data = await body(request)
        if "id" in data:
            abc = tune_text(tunebook.get(params.integer(data, "id", None, 1, 2**62)))
        else:
            abc = params.text(data, "abc")
        if not abc:
            raise BadRequest("give abc (a tune's text) or id (a kept tune)")
        return await _sound(abc, fmt, "tune")

    async def _sound(abc: str, fmt: str, stem: str) -> Response:
        data, bpm = await run_in_threadpool(render, abc, fmt)
        headers = {
            "X-Tempo-Bpm": str(bpm),
            "Content-Disposition": f'attachment; filename="{stem}.{fmt}"',
        }
        return Response(data, media_type=MEDIA[fmt], headers=headers)

    async def kept(request: Request) -> Response:
        if request.method == "POST":
            data = await body(request)
            abc = params.text(data, "abc")
            if not abc or not abc.strip():
                raise BadRequest("abc (the tune to keep) is required")
            title = params.text(data, "title", None, 200)
            return JSONResponse(await run_in_threadpool(tunebook.keep, abc, title), 201)
        query = request.query_params.get("q", "")[:200]
        starred = request.query_params.get("starred") in ("1", "true")
        return JSONResponse({"tunes": await run_in_threadpool(tunebook.search, query, starred)})

    async def one_kept(request: Request) -> Response:
        tune_id = request.path_params["id"]
        if request.method == "PATCH":
            data = await body(request)
            title = params.text(data, "title", None, 200)
            return JSONResponse(tunebook.update(tune_id, title, params.flag(data, "starred")))
        if request.method == "DELETE":
            tunebook.delete(tune_id)
            return JSONResponse({"deleted": tune_id})
        return JSONResponse(tunebook.get(tune_id))

    async def kept_file(request: Request) -> Response:
        tune_id, fmt = request.path_params["id"], request.path_params["fmt"]
        tune = tunebook.get(tune_id)
        if fmt == "abc":
            return _download(tune_text(tune), f"tune-{tune_id}.abc")
        if fmt not in ("mid", "wav"):
            raise BadRequest(f"no format {fmt!r}: use abc, mid or wav", 404)
        return await _sound(tune_text(tune), fmt, f"tune-{tune_id}")

    async def export(request: Request) -> Response:
        query = request.query_params.get("q", "")[:200]
        starred = request.query_params.get("starred") in ("1", "true")
        return _download(tunebook.export(query, starred), "tunebook.abc")

    routes = [
        Route("/", index),
        Route("/api/info", info),
        Route("/api/generate", generate, methods=["POST"]),
        Route("/api/generate/stream", generate_stream, methods=["POST"]),
        Route("/api/continue", continue_tune, methods=["POST"]),
        Route("/api/check", check, methods=["POST"]),
        Route("/api/render/{fmt:str}", render_posted, methods=["POST"]),
        Route("/api/tunebook", kept, methods=["GET", "POST"]),
        Route("/api/tunebook/export.abc", export),
        Route("/api/tunebook/{id:int}", one_kept, methods=["GET", "PATCH", "DELETE"]),
        Route("/api/tunebook/{id:int}.{fmt:str}", kept_file),
        Mount("/static", StaticFiles(directory=STATIC), name="static"),
    ]
    handlers = {
        BadRequest: lambda request, exc: _error(str(exc), exc.status),
        UnknownTune: lambda request, exc: _error(str(exc), 404),
        MusicgenError: lambda request, exc: _error(str(exc), 400),
        HTTPException: lambda request, exc: _error(str(exc.detail), exc.status_code),
        Exception: _internal,
    }
    return Starlette(routes=routes, exception_handlers=handlers)


def _download(text: str, name: str) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(text, media_type=MEDIA["abc"], headers=headers)


def _error(message: str, status: int) -> Response:
    return JSONResponse({"error": message.splitlines()[0] if message else "error"}, status)


def _internal(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s", request.url.path, exc_info=exc)
    return _error("internal error (see the server log)", 500)
