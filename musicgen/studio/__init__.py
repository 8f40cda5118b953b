"""musicgen studio: a local web page over the library (generate, see, hear, edit, keep).

`engine` wraps the sampler, checks and renderers; `tunebook` keeps tunes in SQLite;
`app` is the Starlette ASGI app; `static/` holds the page and the vendored abcjs.
"""
