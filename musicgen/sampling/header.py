"""A tune's opening as a user asks for it: meter, key and primer, checked and spelt the way
the grammar (`musicgen.grammar.words`) and the training corpus write them.

``--key "g major"`` and ``{"key": "Gmaj"}`` both become ``G Major``, the spelling of every
``K:`` line in the bundled corpus (and of the keys `form.json` draws), so an asked-for key
and a drawn one give the model the same header.  A primer pasted from a real tune loses
what the corpus loader drops (`musicgen.abc.tunes`): ``%`` comments, ``X:``, ``T:`` and the
other bookkeeping fields; its ``M:``/``L:``/``K:`` lines are rebuilt in the canonical order
(``K:G major``, which the grammar does not write, as ``K:G Major``).
Pure functions: no run dir, no TensorFlow.
"""

from __future__ import annotations

import re

from musicgen.abc.theory import MODE_NAMES, default_unit_length, mode_sharps, strip_comment
from musicgen.abc.tunes import CANONICAL_FIELDS, normalize_line
from musicgen.errors import OptionError
from musicgen.grammar.words import KEYS, METERS

ANY_KEY = "any"  # --key any: no K: line asked for or drawn, the model chooses
_KEY = re.compile(r"([A-G])([#b]?)\s*([A-Za-z]*)")
_FIELD = re.compile(r"([A-Za-z+]):(.*)")  # an information field line, as the loader reads one
# The mode a word names, as the corpus writes it: Ionian is Major, Aeolian is Minor.
_MODE_OF = {name[:3].lower(): name for name in MODE_NAMES} | {"ion": "Major", "aeo": "Minor"}
KEY_HELP = (
    "a tonic A-G, optionally # or b, then a mode: major (or nothing), minor (m), dorian, "
    "mixolydian, lydian, phrygian or locrian, any case, in full or by 3 letters "
    "(G, Em, A dorian, Gmix, F# Minor); or any"
)


def check_meter(value: str) -> str:
    """`value` (``6/8``, ``C|``, ``6 / 8``) as the grammar writes it; `OptionError` names
    the meters allowed."""
    meter = re.sub(r"\s+", "", value)
    if meter not in METERS:
        raise OptionError("meter", f"{value!r} is not one of {', '.join(sort_meters(METERS))}")
    return meter


def check_key(value: str) -> str:
    """`value` (``G``, ``g major``, ``Gmix``, ``Ador``) spelt as the corpus writes keys:
    ``G Major``, ``G Mixolydian``, ``A Dorian``; ``any`` stays ``any``.  `OptionError`
    says what a key is."""
    if value.strip().lower() == ANY_KEY:
        return ANY_KEY
    match = _KEY.fullmatch(value.strip())
    word = match.group(3).lower() if match else ""
    if not match or mode_sharps(word) is None or not _names_a_mode(word):
        raise OptionError("key", f"{value!r} is not a key: give {KEY_HELP}")
    mode = "Minor" if word == "m" else _MODE_OF.get(word[:3], "Major")
    return f"{match.group(1)}{match.group(2)} {mode}"


def spell_key(key: str, alphabet) -> str | None:
    """`key` (``G Major``, from `check_key`) in a spelling the grammar allows with
    `alphabet` (a vocabulary's characters): in full, else by 3 letters (``Gphr``), else
    ``G``/``Gm``; None when the vocabulary cannot write it at all."""
    tonic, mode = key.split(" ")
    short = {"Major": [""], "Minor": ["m"]}.get(mode, [])
    for spelling in (key, tonic + mode[:3].lower(), *(tonic + s for s in short)):
        if spelling in KEYS and set(spelling) <= set(alphabet):
            return spelling
    return None


def build_primer(primer: str = "", meter: str | None = None, key: str | None = None) -> str:
    """The text every tune starts with: `primer` as given, or header lines from meter/key.

    ``meter="6/8", key="G"`` gives ``M:6/8\\nL:1/8\\nK:G\\n``: the canonical header
    order.  ``\\n`` typed literally on a command line is turned into a newline.
    """
    primer = primer.replace("\\n", "\n")
    if meter is None and key is None:
        return primer
    if primer:
        raise OptionError("primer", "give either a primer or a meter/key, not both")
    head = f"M:{meter}\nL:{default_unit_length(meter)}\n" if meter else ""
    if key:
        if not meter:
            raise OptionError("key", "needs a meter too (a tune's M: line comes before its K:)")
        head += f"K:{key}\n"
    return head


def clean_primer(text: str) -> str:
    """`text` as the corpus loader would keep it: without ``%`` comments, blank lines and
    header fields other than ``M:``, ``L:``, ``K:``; a header that reaches ``K:`` is
    rebuilt as ``M:``, ``L:``, ``K:`` (a missing one as the loader fills it in), and a key
    the grammar does not write (``G major``) spelt by `check_key` where it can be.  A
    primer that stops inside a bar stays so."""
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    *whole, last = text.split("\n")
    fields: dict[str, str] = {}
    body: list[str] = []
    for raw in whole:
        line = normalize_line(raw)
        if not line or raw.lstrip().startswith("%"):
            continue
        field = _FIELD.fullmatch(line)
        if body or fields.get("K") is not None or not field:
            body.append(f"{field.group(1)}:{field.group(2).strip()}" if field else line)
        elif field.group(1) in CANONICAL_FIELDS:
            fields.setdefault(field.group(1), field.group(2).strip())
    lines = [*_header(fields), *body]
    tail = "" if last.lstrip().startswith("%") else strip_comment(last)
    return "".join(line + "\n" for line in lines) + tail


def _header(fields: dict[str, str]) -> list[str]:
    """The header lines of `fields`: canonical once ``K:`` is there, else as given."""
    if "K" not in fields:
        return [f"{name}:{value}" for name, value in fields.items()]
    meter = fields.get("M") or "none"
    key = fields["K"] or "C"
    if key not in KEYS:  # K:G major: respelt as G Major, which the grammar writes
        try:
            key = check_key(key)
        except OptionError:
            pass  # the grammar says what is wrong with it
    return [f"M:{meter}", f"L:{fields.get('L') or default_unit_length(meter)}", f"K:{key}"]


def _names_a_mode(word: str) -> bool:
    """``""``, ``m``, or the start (3 letters or more) of a mode's name: not ``Gmajestic``."""
    if word in ("", "m"):
        return True
    return len(word) >= 3 and any(name.lower().startswith(word) for name in MODE_NAMES)


def sort_meters(meters) -> list[str]:
    """Meters in a reader's order: 2/4 ... 12/8, then C, C| and none."""
    numeric = sorted((m for m in meters if "/" in m), key=lambda m: (int(m[-1]), int(m[:-2])))
    return numeric + [m for m in ("C", "C|", "none") if m in meters]
