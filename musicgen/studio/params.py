"""Checking request bodies: every bad value becomes a `BadRequest` with a one-line message."""

from __future__ import annotations

import json
import math

from musicgen.form.plan import DEFAULT_BARS, FormPlan
from musicgen.sampling.sampler import SampleConfig

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


def number(data: dict, name: str, default: float, low: float, high: float) -> float:
    value = data.get(name, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise BadRequest(f"{name} must be a number, not {json.dumps(value)[:40]}")
    if not low < value <= high:
        raise BadRequest(f"{name} must be above {low} and at most {high}, not {value}")
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


def sample_config(data: dict, vocab_size: int) -> SampleConfig:
    """The `SampleConfig` of a generate/continue request (primer built by the caller)."""
    known = {"n", "seed", "meter", "key", "form", "temperature", "top_k", "primer"}
    known |= {"max_chars", "abc"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise BadRequest(f"unknown field(s): {', '.join(unknown)}")
    defaults = SampleConfig()
    return SampleConfig(
        n=integer(data, "n", 1, 1, MAX_TUNES),
        seed=integer(data, "seed", defaults.seed, 0, 2**63 - 1),
        temperature=number(data, "temperature", defaults.temperature, 0, 10),
        top_k=integer(data, "top_k", defaults.top_k, 0, vocab_size),
        max_chars=integer(data, "max_chars", defaults.max_chars, 10, 5000),
        form=form_plan(data),
    )


def form_plan(data: dict) -> FormPlan | None:
    """The `FormPlan` of a request's ``form``: null or "" (any form), "auto" or a pattern
    such as "AABB" (8 bars a part, a cadence on the tonic), as ``sample --form``."""
    pattern = text(data, "form", None, 16)
    if not pattern:
        return None
    try:
        return FormPlan(pattern=pattern, bars=DEFAULT_BARS)
    except ValueError as exc:
        raise BadRequest(str(exc)) from None
