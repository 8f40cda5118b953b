"""One lexer for ABC 2.1 text: text -> typed, positioned tokens.

API (stable; later changes only add):

    lex(text, *, fields=True) -> list[Token]   # a whole tune or file
    lex_body(text) -> list[Token]               # music text only: no field lines
    join(tokens) -> str                         # "".join(t.text); == the input, always

`lex` never raises, and ``join(lex(s)) == s`` for every string ``s``.  A `Token` is a frozen
dataclass: ``kind``, ``text``, ``start`` (offset in the input), ``line`` (1-based) and
``column`` (0-based), plus the typed fields its kind fills (others keep their defaults):

    kind           text examples        fields
    "note"         ^c'2  _B,/  =e3/2    accidental ("", "^", "^^", "_", "__", "="),
                                        letter (as written, A-G a-g), octave (C = 0,
                                        c = 1, each ' +1, each , -1), length (Fraction of L:)
    "rest"         z2  x/  Z4           letter ("z", "x" invisible, "Z"/"X" whole bars), length
    "chord"        [CEG]2  [A,-E]       notes (tuple of "note" Tokens), length (multiplies)
    "bar"          |  ||  |]  [|  |:  :|  ::  :|2  |[1  [|]
                                        style (the bar without colons or ending: "|", "||",
                                        "|]", "[|", "" for "::"), repeat_end (leading ':'s),
                                        repeat_start (trailing ':'s), ending ("1", "1,3", "")
    "ending"       [1  [2  [1,3         ending (an ending mark not glued to a bar)
    "tuplet"       (3  (3:2:3  (5::2    tuplet (p, q or None when unwritten, r)
    "broken"       >  >>  <             broken (+n for >, -n for <)
    "tie"          -
    "slur_start"   (        "slur_end"  )
    "grace_start"  {  {/    "grace_end" }
    "decoration"   !trill!  +fermata+  ~  T  H  .  u  v
                                        name ("trill", "roll", "fermata", "staccato", ...;
                                        another single letter H-W h-w stands for itself)
    "gchord"       "Am7"    "annotation" "^fine"  "<(D.C.)"
                                        value (the text in the quotes)
    "inline_field" [K:G]  [M:3/4]       name (the field letter), value
    "field"        X:1  K:G % comment   name, value (rest of the line, comment kept); only
                                        at the start of a line, and only when fields=True
    "directive"    %%MIDI program 1     value (after the %%); only at the start of a line
    "comment"      % text               value
    "newline"      \\n  \\r\\n
    "space"        spaces and tabs
    "spacer"       y  y2  `             length
    "linebreak"    !  (a lone one: ABC 1.6's score line break)
    "continuation" \\
    "overlay"      &
    "error"        anything else, one character (or an unclosed quote/decoration)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

from musicgen.abc.theory import note_length

__all__ = ["Token", "join", "lex", "lex_body"]

_ONE = Fraction(1)
_LEN = r"(\d*)(/*)(\d*)"
_NOTE = r"(\^\^|\^|__|_|=)?([A-Ga-g])([',]*)" + _LEN
_NOTE_RE = re.compile(_NOTE)
_DECORATIONS = {
    "~": "roll",
    ".": "staccato",
    "H": "fermata",
    "L": "accent",
    "M": "lowermordent",
    "O": "coda",
    "P": "uppermordent",
    "S": "segno",
    "T": "trill",
    "u": "upbow",
    "v": "downbow",
}
_FIELD_LETTERS = "A-Zmrsw+"
_RULES = (
    ("field", rf"(?<![^\n])[{_FIELD_LETTERS}]:[^\r\n]*"),
    ("directive", r"(?<![^\n])%%[^\r\n]*"),
    ("comment", r"%[^\r\n]*"),
    ("newline", r"\r?\n|\r"),
    ("space", r"[ \t]+"),
    ("note", _NOTE),
    ("rest", r"([zxZX])" + _LEN),
    ("inline_field", r"\[([A-Za-z+]):([^\]\r\n]*)\]"),
    ("chord", r"\[((?:" + _NOTE + r"|-|[ \t])+)\]" + _LEN),
    (
        "bar",
        r"(:*)(\[\|\]|\[\||\|[|\]]*|(?<=:)(?=:))(:*)(?:\[?(\d+(?:[,\-]\d+)*))?",
    ),
    ("ending", r"\[(\d+(?:[,\-]\d+)*)"),
    ("tuplet", r"\((\d+)(?::(\d*))?(?::(\d*))?"),
    ("slur_start", r"\("),
    ("slur_end", r"\)"),
    ("broken", r"<+|>+"),
    ("tie", r"-"),
    ("grace_start", r"\{/?"),
    ("grace_end", r"\}"),
    ("decoration", r"![^!\r\n]{1,40}!|\+[^+\s]{1,40}\+|[~.HIJKLMNOPQRSTUVWhijklmnopqrstuvw]"),
    ("linebreak", r"!"),
    ("gchord", r'"[^"\r\n]*"'),
    ("spacer", r"y" + _LEN + r"|`"),
    ("continuation", r"\\"),
    ("overlay", r"&"),
    ("error", r"[\s\S]"),
)
_MASTER = re.compile("|".join(f"(?P<{kind}>{pattern})" for kind, pattern in _RULES))
_BODY = re.compile("|".join(f"(?P<{k}>{p})" for k, p in _RULES if k != "field"))


@dataclass(frozen=True, slots=True)
class Token:
    """One lexeme of ABC text; see the module docstring for which fields each kind fills."""

    kind: str
    text: str
    start: int
    line: int
    column: int
    accidental: str = ""
    letter: str = ""
    octave: int = 0
    length: Fraction = _ONE
    notes: tuple[Token, ...] = ()
    style: str = ""
    repeat_end: int = 0
    repeat_start: int = 0
    ending: str = ""
    tuplet: tuple[int, int | None, int] | None = None
    broken: int = 0
    name: str = ""
    value: str = ""

    @property
    def end(self) -> int:
        """Offset just past the token."""
        return self.start + len(self.text)


def lex(text: str, *, fields: bool = True) -> list[Token]:
    """All tokens of ``text``, in order; field lines are read only when ``fields``."""
    pattern = _MASTER if fields else _BODY
    tokens: list[Token] = []
    line, line_start = 1, 0
    for match in pattern.finditer(text):
        kind = match.lastgroup or "error"
        start = match.start()
        tokens.append(_token(kind, match, start, line, start - line_start))
        if kind == "newline":
            line, line_start = line + 1, match.end()
    return tokens


def lex_body(text: str) -> list[Token]:
    """Tokens of music text only (a tune's body): a line like ``A:`` is no field here."""
    return lex(text, fields=False)


def join(tokens) -> str:
    """The text the tokens came from."""
    return "".join(token.text for token in tokens)


def _token(kind: str, match: re.Match, start: int, line: int, column: int) -> Token:
    text = match.group(kind)
    base = match.re.groupindex[kind]
    group = match.group
    if kind == "note":
        return _note(text, start, line, column, *(group(base + i) for i in range(1, 7)))
    if kind == "rest":
        length = note_length(group(base + 2), group(base + 3), group(base + 4))
        return Token(kind, text, start, line, column, letter=group(base + 1), length=length)
    if kind == "bar":
        lead, style, trail, ending = (group(base + i) for i in range(1, 5))
        return Token(
            kind, text, start, line, column, style=style, repeat_end=len(lead),
            repeat_start=len(trail), ending=ending or "",
        )  # fmt: skip
    if kind == "chord":
        return _chord(text, start, line, column, group(base + 1))
    if kind == "tuplet":
        p, q, r = (group(base + i) for i in range(1, 4))
        tuplet = (int(p), int(q) if q else None, int(r) if r else int(p))
        return Token(kind, text, start, line, column, tuplet=tuplet)
    if kind in ("field", "inline_field"):
        name, _, value = text.strip("[]").partition(":") if kind == "inline_field" else (
            text.partition(":")
        )  # fmt: skip
        return Token(kind, text, start, line, column, name=name, value=value)
    if kind == "decoration":
        name = text[1:-1] if len(text) > 1 else _DECORATIONS.get(text, text)
        return Token(kind, text, start, line, column, name=name)
    if kind == "gchord":
        value = text[1:-1]
        kind = "annotation" if value[:1] in ("^", "_", "<", ">", "@") else "gchord"
        return Token(kind, text, start, line, column, value=value)
    if kind in ("comment", "directive"):
        skip = 2 if kind == "directive" else 1
        return Token(kind, text, start, line, column, value=text[skip:])
    if kind == "ending":
        return Token(kind, text, start, line, column, ending=group(base + 1))
    if kind == "broken":
        broken = len(text) if text[0] == ">" else -len(text)
        return Token(kind, text, start, line, column, broken=broken)
    if kind == "spacer" and text != "`":
        length = note_length(group(base + 1), group(base + 2), group(base + 3))
        return Token(kind, text, start, line, column, length=length)
    return Token(kind, text, start, line, column)


def _note(text, start, line, column, accidental, letter, marks, num, slashes, den) -> Token:
    octave = (1 if letter.islower() else 0) + marks.count("'") - marks.count(",")
    return Token(
        "note", text, start, line, column, accidental=accidental or "", letter=letter,
        octave=octave, length=note_length(num, slashes, den),
    )  # fmt: skip


def _chord(text: str, start: int, line: int, column: int, inner: str) -> Token:
    notes = []
    offset = 1
    for match in _NOTE_RE.finditer(inner):
        at = start + offset + match.start()
        notes.append(_note(match.group(0), at, line, column + at - start, *match.groups()))
    close = text.rindex("]")
    return Token(
        "chord", text, start, line, column, notes=tuple(notes),
        length=note_length(*_LEN_RE.fullmatch(text[close + 1 :]).groups()),
    )  # fmt: skip


_LEN_RE = re.compile(_LEN)
