"""Compatibility shim: these values now live in `musicgen.theory` (to be removed)."""

from musicgen.theory import (  # noqa: F401
    KeyMap,
    default_unit,
    ending_passes,
    key_signature,
    note_length,
    parse_meter,
    parse_tempo,
    parse_unit,
    strip_comment,
)
from musicgen.theory import signature as _signature  # noqa: F401
