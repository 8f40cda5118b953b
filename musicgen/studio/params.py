"""Checking request bodies: every bad value becomes a `BadRequest` with a one-line message."""

from __future__ import annotations

import json
from dataclasses import replace

from musicgen.sampling.request import SampleRequest, sample_config

MAX_BODY = 64 * 1024  # bytes; a long tune is ~2 KB, a big tunebook entry well under this
MAX_TUNES = 64  # per request: one batch of the sampler
MAX_TEXT = 20_000  # characters of ABC in one request


class BadRequest(Exception):
    """A client error: `status` (4xx) and a one-line message."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def parse_json(body: bytes) -> dict:
    """The body as a JSON object, or `BadRequest`."""
    if len(body) > MAX_BODY:
        raise BadRequest(f"request body is {len(body):,} bytes; the limit is {MAX_BODY:,}", 413)
    if not body.strip():
        return {}
    try:
        data = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"request body is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise BadRequest("request body must be a JSON object")
    return data


def integer(data: dict, name: str, default: int | None, low: int, high: int) -> int | None:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadRequest(f"{name} must be an integer, not {json.dumps(value)[:40]}")
    if not low <= value <= high:
        raise BadRequest(f"{name} must be in {low}..{high}, not {value}")
    return value


def number(data: dict, name: str, default: float | None, low: float, high: float):
    """A number (int or float) in low..high, or `default` when absent or null."""
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise BadRequest(f"{name} must be a number, not {json.dumps(value)[:40]}")
    if not low <= value <= high:
        raise BadRequest(f"{name} must be in {low:g}..{high:g}, not {value:g}")
    return float(value)


def text(data: dict, name: str, default: str | None = None, limit: int = MAX_TEXT):
    value = data.get(name, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise BadRequest(f"{name} must be a string, not {json.dumps(value)[:40]}")
    if len(value) > limit:
        raise BadRequest(f"{name} is {len(value):,} characters; the limit is {limit:,}")
    return value


def flag(data: dict, name: str) -> bool | None:
    value = data.get(name)
    if value is not None and not isinstance(value, bool):
        raise BadRequest(f"{name} must be true or false, not {json.dumps(value)[:40]}")
    return value


# The request fields of generate and continue: `SampleRequest`'s, as sample's options.
SAMPLE_FIELDS = ("n", "seed", "temperature", "top_k", "max_chars", "primer", "meter", "key")
SAMPLE_FIELDS += ("form", "bars_per_part", "cadence", "rhyme")
MAX_CHARS = 5000  # per tune in one request: the longest corpus tune has ~1,500


def sample_request(data: dict, defaults: SampleRequest | None = None) -> SampleRequest:
    """The `SampleRequest` of a generate/continue body: its fields over `defaults` (null:
    not given).  Values are checked by `sample_config`; here only what the studio caps
    (tunes and characters per request, text lengths) and unknown fields."""
    unknown = sorted(set(data) - {*SAMPLE_FIELDS, "abc"})
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
    given = {name: data[name] for name in SAMPLE_FIELDS if data.get(name) is not None}
    for name, high in (("n", MAX_TUNES), ("max_chars", MAX_CHARS)):
        value = given.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > high:
            raise BadRequest(f"{name} must be at most {high}, not {value}")
    for name, limit in (("primer", 4000), ("meter", 20), ("key", 40), ("form", 16), ("rhyme", 16)):
        text(given, name, None, limit)
    return replace(defaults or SampleRequest(), **given)


async def body(request) -> dict:
    """The request's JSON object; `BadRequest` (413) past `MAX_BODY`."""
    size = request.headers.get("content-length", "0")
    if size.isdigit() and int(size) > MAX_BODY:
        raise BadRequest(f"request body is {int(size):,} bytes; limit {MAX_BODY:,}", 413)
    return parse_json(await request.body())


def checked_config(request, data: dict, defaults: SampleRequest | None = None):
    """The `SampleConfig` of a generate/continue/vary body, checked as ``musicgen
    sample``'s options are (`sample_config`, against the loaded model), so a bad value is
    a 400 before any sampling starts."""
    engine = request.app.state.engine
    config = sample_config(sample_request(data, defaults), engine.sampler.run)
    engine.encodable(config.primer, "the primer (meter, key)")
    return config
