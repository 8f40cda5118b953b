"""The studio's practice handlers: sound at a tempo, loops, transposition, bar maps,
variations and the print view.  Module-level functions; `musicgen.studio.app.ROUTES`
lists them beside the others.
"""

from __future__ import annotations

import html

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from musicgen.abc import bars
from musicgen.sampling.request import NO_FORM, SampleRequest
from musicgen.studio import params
from musicgen.studio.params import BadRequest
from musicgen.studio.practice import Practice, render
from musicgen.studio.tunebook import tune_text

MEDIA = {"mid": "audio/midi", "wav": "audio/wav", "abc": "text/vnd.abc; charset=utf-8"}
# Three variations side by side (the page's row), in any form: the kept bars may already
# break any form a plan would draw.
VARY = SampleRequest(n=3, form=NO_FORM)
WRITTEN_FOR = {"C": 0, "Bb": 2, "Eb": 9, "F": 7}  # semitones a transposing instrument reads up


def practice_of(data: dict) -> Practice:
    """The `Practice` of a render body: ``bpm``, ``speed``, ``count_in``, ``transpose``,
    ``bars`` ([first, last]) or ``part`` ("A"...)."""
    span = data.get("bars")
    if span is not None:
        if not (isinstance(span, list) and len(span) == 2):
            raise BadRequest("bars must be [first, last], bar numbers from 1")
        pair = {"first": span[0], "last": span[1]}
        span = (params.integer(pair, "first", 1, 1, 9999), params.integer(pair, "last", 1, 1, 9999))
    part = params.text(data, "part", None, 1)
    if part is not None and not ("A" <= part <= "Z"):
        raise BadRequest(f"part must be a letter A-Z, not {part!r}")
    return Practice(
        bpm=params.number(data, "bpm", None, 20, 400),
        speed=params.number(data, "speed", 1.0, 0.25, 2.0),
        count_in=bool(params.flag(data, "count_in")),
        transpose=params.integer(data, "transpose", 0, -24, 24),
        bars=span,
        part=part,
    )


async def render_posted(request: Request) -> Response:
    """The posted tune (``abc``, or ``id`` of a kept one) as MIDI or WAV, as practised."""
    fmt = request.path_params["fmt"]
    if fmt not in ("mid", "wav"):
        raise BadRequest(f"no format {fmt!r}: use mid or wav", 404)
    data = await params.body(request)
    if "id" in data:
        tune = request.app.state.tunebook.get(params.integer(data, "id", None, 1, 2**62))
        abc = tune_text(tune)
    else:
        abc = params.text(data, "abc")
    if not abc:
        raise BadRequest("give abc (a tune's text) or id (a kept tune)")
    return await sound(abc, fmt, "tune", practice_of(data))


async def sound(abc: str, fmt: str, stem: str, practice: Practice = Practice()) -> Response:
    """The rendered file, its tempo (``X-Tempo-Bpm``) and count-in (``X-Count-In``, s)."""
    played = await run_in_threadpool(render, abc, fmt, practice)
    headers = {
        "X-Tempo-Bpm": str(played.bpm),
        "X-Count-In": str(played.count_in),
        "Content-Disposition": f'attachment; filename="{stem}.{fmt}"',
    }
    return Response(played.data, media_type=MEDIA[fmt], headers=headers)


async def transpose(request: Request) -> Response:
    """``{"abc", "semitones"}`` -> ``{"abc"}``: the tune moved, respelled in its new key."""
    from musicgen.abc.transpose import transpose_tune

    data = await params.body(request)
    abc = params.text(data, "abc") or ""
    semitones = params.integer(data, "semitones", 0, -24, 24)
    return JSONResponse({"abc": await run_in_threadpool(transpose_tune, abc, semitones)})


async def tune_layout(request: Request) -> Response:
    """``{"abc", "transpose"?}`` -> the tune as shown (``abc``, moved by ``transpose``
    semitones: a transposing instrument's part) and its bars and parts, with offsets
    into that text (`bars.Layout.as_json`)."""
    from musicgen.abc.transpose import transpose_tune

    data = await params.body(request)
    abc = params.text(data, "abc") or ""
    semitones = params.integer(data, "transpose", 0, -24, 24)
    shown = transpose_tune(abc, semitones) if semitones else abc
    return JSONResponse({"abc": shown, **bars.layout(shown).as_json()})


async def vary(request: Request) -> Response:
    """``{"abc", "first", "last", ...sample options}`` -> ``{"variants": [{"abc",
    "spliced", "check"}]}``: new music in bars `first`..`last`, the rest kept (`Engine.vary`)."""
    data = await params.body(request)
    abc = params.text(data, "abc")
    if not abc:
        raise BadRequest("abc (the tune to vary) is required")
    first = params.integer(data, "first", None, 1, 9999)
    last = params.integer(data, "last", first, 1, 9999)
    if first is None:
        raise BadRequest("first (the first bar to vary) is required")
    options = {k: v for k, v in data.items() if k not in ("abc", "first", "last")}
    config = params.checked_config(request, {**options, "primer": abc}, VARY)
    engine = request.app.state.engine
    variants = await run_in_threadpool(engine.vary, abc, first, last, config)
    return JSONResponse({"variants": variants})


async def print_view(request: Request) -> Response:
    """A page to print: one tune (``?abc=`` text or ``?id=``) or the tunebook (``?q=``,
    ``?starred=1``), shown for ``?for=`` C, Bb, Eb or F instruments."""
    query = request.query_params
    written_for = query.get("for", "C")
    if written_for not in WRITTEN_FOR:
        raise BadRequest(f"for must be one of {', '.join(WRITTEN_FOR)}, not {written_for!r}")
    tunebook = request.app.state.tunebook
    if "abc" in query:
        texts = [params.text(dict(query), "abc")]
    elif "id" in query:
        if not query["id"].isdigit():
            raise BadRequest(f"id must be a number, not {query['id'][:20]!r}")
        texts = [tune_text(tunebook.get(int(query["id"])))]
    else:
        found = tunebook.search(query.get("q", "")[:200], query.get("starred") in ("1", "true"))
        texts = [tune_text(tune, number) for number, tune in enumerate(found, start=1)]
    if WRITTEN_FOR[written_for]:
        from musicgen.abc.transpose import transpose_tune

        texts = [transpose_tune(text, WRITTEN_FOR[written_for]) for text in texts]
    return HTMLResponse(print_page(texts, written_for))


def print_page(texts: list[str], written_for: str) -> str:
    """The print view's HTML: one engraved tune a block, no controls on paper."""
    shown = "concert pitch (C)" if written_for == "C" else f"for {written_for} instruments"
    blocks = "\n".join(
        f'<section class="print-tune" data-abc="{html.escape(text)}"></section>' for text in texts
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>musicgen tunebook</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/studio.css">
<script src="/static/abcjs-basic-min.js"></script><script src="/static/print.js" defer></script>
</head><body class="print-view">
<p class="no-print"><button id="print-now">Print</button> {len(texts)} tune(s), {shown}</p>
{blocks or "<p>No tunes.</p>"}
</body></html>
"""
