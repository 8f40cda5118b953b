"""Read the notes of one ABC tune as written: lexer tokens, then events.  Pure: no I/O.

`read_tune` turns the text of a tune into `Written`: a flat list of events in written
order (struck notes, chords and grace notes as `Strike`, rests as a `Strike` without
sounds, bar lines, `Ending` marks, `Part` labels, meter changes) with every pitch and
length worked out.  The text is read once, by `musicgen.abc.lexer`; decorations take their
effect from the table in `musicgen.playback.ornaments`; playing the events (ties, repeats, parts,
trills, timing) is `musicgen.playback.perform`'s job.

The rules are abcMIDI's abc2midi 4.84 (store.c, parseabc.c), the player our MIDI is
checked against (tests/render/test_fidelity.py), where the ABC standard leaves room or abc2midi
departs from it:
- an accidental holds to the end of the bar for its letter in every octave;
- a chord lasts as long as its first note (a fermata on it included), or the length
  written after ``]``; all its notes sound as long as the first one does;
- ``(5``, ``(7`` and ``(9`` fit into 3 notes when the meter's numerator divides by 3, else 2;
- ``>`` (3:1, ``>>`` 7:1) and ``<`` change two notes only if they are equally long (a
  staccato note counting its sounding half), or either is a chord;
- a one-letter decoration (``~ T H .``) acts only when a note, chord or rest follows it
  at once; a ``!name!`` one waits for the next note (``.(`` and ``.-`` are no staccato);
  ``H[|]`` opens a chord (abc2midi reads ``H[`` then ``|]``), which the next ``]`` or
  ``[|]`` closes, else the end of the tune;
- an ending counts only glued to ``|`` or ``:|`` (``|2``, ``:|2``, ``[2``): ``||2``,
  ``|:2`` and ``| 2`` are none; ``:[|`` is a dotted bar, no repeat; ``[|]:|`` is
  ``[|]`` then ``:|``;
- a rest inside a chord takes no time; a tie after a staccato chord joins nothing;
- ``%%MIDI transpose n`` shifts later notes by n semitones; ``%%MIDI gracedivider n``
  makes grace notes 1/n of their written length; a ``P:`` in the body counts only when
  the header has a ``P:`` order.
Music written on an ``M:`` or ``L:`` line of the body (``M:3/4 ABc|``, not ABC) is
dropped and the field kept, as abc2midi does.  Guitar chords in quotes (``"Am"``) become
`musicgen.playback.gchords.GuitarChord` events where they stand, and the ``%%MIDI`` lines
for the accompaniment `BackingChange` events; `musicgen.playback.accompany` plays them on
channels of their own.  Not sounded: annotations in quotes (``"^fine"``), lyrics, voices
after the first (``V:``) and voice overlays (``&``).
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction

from musicgen.abc.lexer import Token, lex
from musicgen.abc.theory import (
    default_unit,
    ending_passes,
    key_signature,
    note_length,
    parse_meter,
    parse_tempo,
    parse_unit,
    strip_comment,
)
from musicgen.errors import MidiError
from musicgen.playback.events import BAR, BOTH, DOUBLE, END, START, Ending, Part, Written
from musicgen.playback.repeats import part_order
from musicgen.playback.state import Writer

_FOLLOWERS = ("note", "chord", "rest")  # what a one-letter decoration must stand before
_CHAINED = ".MLRH~Tuv'OPS"  # abc2midi's one-letter decorations, which may stand in a row


def read_tune(abc: str) -> Written:
    """Read the first tune of `abc` (header up to ``K:``, then the body).

    The body ends at a blank line or the next ``X:``.  Raises `MidiError` if there is no
    ``K:`` field before the music.
    """
    return _Reader().read(abc)


class _Reader:
    """Fields and the token loop; `Writer` keeps the state of the notes themselves."""

    def __init__(self) -> None:
        self.title = "Untitled"
        self.meter: tuple[int, int] | None = None
        self.header_unit: Fraction | None = None
        self.tempo: float | None = None
        self.parts: str | None = None
        self.voice: str | None = None  # the first voice named by V:, the one we play
        self.voices: set[str] = set()
        self.other_voice = False  # after a V: naming another voice
        self.overlay = False  # after &, to the bar line: abc2midi plays it in another track
        self.out = Writer()
        self.pending_part: int | None = None  # a header P: of one letter may be a label

    def read(self, abc: str) -> Written:
        tokens = lex(abc.replace("\r\n", "\n").replace("\r", "\n"))
        at = self.header(tokens)
        header_meter, header_sharps = self.meter, self.out.sharps
        self.out.unit = self.header_unit or default_unit(self.meter) * 4
        self.out.header_unit = self.out.unit
        if self.parts is not None and len(self.parts) == 1:
            self.pending_part = len(self.out.events)
            self.out.events.append(Part(self.parts))
        self.body(tokens, at)
        self.out.finish()
        if self.parts is not None:
            self.out.events.append(Part(""))
        return Written(
            self.title, [e for e in self.out.events if e is not None], header_meter,
            header_sharps, self.tempo, self.parts, max(1, len(self.voices)),
            self.out.header_unit / 4,
        )  # fmt: skip

    def header(self, tokens: list[Token]) -> int:
        """Act on the header's fields; the index of the token after the ``K:`` line."""
        for index, token in enumerate(tokens):
            if token.kind == "field":
                self.field(token.name, strip_comment(token.value).strip(), header=True)
                if token.name == "K":
                    return index + 1
            elif token.kind == "directive":
                self.out.directive(token.value)
            elif token.kind not in ("space", "newline", "comment"):
                raise MidiError(f"tune {self.title!r}: no K: field before the music")
        raise MidiError(f"tune {self.title!r}: no K: field")

    def body(self, tokens: list[Token], at: int) -> None:
        out = self.out
        blank = True  # nothing but spaces on this line so far
        carried = 0  # colons the last bar line lent this one (abc2midi reads [|]:| as [|] :|)
        index = at - 1
        while index + 1 < len(tokens):
            index += 1
            token = tokens[index]
            kind = token.kind
            if kind == "newline":
                if blank and out.has_music():
                    break  # a blank line ends the tune
                blank = True
                continue
            blank = blank and kind == "space"
            if kind == "field":
                if token.name == "X":
                    break
                value = _music_dropped(token.name, strip_comment(token.value).strip())
                self.field(token.name, value, header=False)
            elif kind == "inline_field":
                self.field(token.name, token.value.strip(), header=False)
            elif kind == "directive":
                out.directive(token.value)
            elif self.other_voice:
                continue
            elif kind == "bar":
                if token.text[0] == "[" and index > at and _follows(tokens[index - 1], token):
                    out.stray("[")  # abc2midi reads H[|] as a fermata on a chord: H[ |]
                following = tokens[index + 1] if index + 1 < len(tokens) else None
                lend = following is not None and _lends_colons(token, following)
                _bar(out, token, carried, lend)
                self.overlay = False
                carried = token.repeat_start if lend else 0
            elif self.overlay:
                continue
            elif kind in ("note", "chord", "rest"):
                out.music(token)
            elif kind in ("gchord", "annotation"):
                out.gchord(token.value)
            elif kind == "decoration":
                following = tokens[index + 1] if index + 1 < len(tokens) else None
                out.decorate(token, following is not None and _follows(token, following))
            elif kind == "tie":
                out.tie()
            elif kind == "tuplet":
                out.tuplet(token.tuplet, self.meter)
            elif kind == "broken":
                out.broken_rhythm(token.broken)
            elif kind == "ending":
                out.events.append(Ending(ending_passes(token.ending)))
            elif kind in ("grace_start", "grace_end"):
                out.in_grace = kind == "grace_start"
            elif kind == "overlay":
                self.overlay = True
            elif kind == "error" and token.text == "]":
                index, length = _length_after(tokens, index)
                out.close_chord(length)
            elif kind == "error":
                out.stray(token.text)

    def field(self, name: str, value: str, header: bool) -> None:
        """Act on a header field, a field line in the body, or an inline ``[X:...]``."""
        out = self.out
        if name == "T" and header and self.title == "Untitled":
            self.title = value or "Untitled"
        elif name == "M":
            self.meter = parse_meter(value)
            out.meter(self.meter, header)
        elif name == "L":
            unit = parse_unit(value)
            if unit is not None:
                out.unit = unit * 4
                self.header_unit = out.unit if header else self.header_unit
        elif name == "K":
            out.key(*key_signature(value), header=header)
        elif name == "Q" and self.tempo is None:
            self.tempo = parse_tempo(value)
        elif name == "P":
            self.part(value, header)
        elif name == "V" and not header:
            voice = value.split()[0] if value.split() else ""
            self.voices.add(voice)
            self.voice = self.voice if self.voice is not None else voice
            self.other_voice = voice != self.voice

    def part(self, value: str, header: bool) -> None:
        """``P:`` in the header: the order parts play in; in the body: a part's label."""
        if header:
            self.parts = part_order(value)
            return
        label = value.strip()[:1]
        if self.parts is None or not "A" <= label <= "Z":
            return  # abc2midi ignores body labels without a header order
        if self.pending_part is not None and label == self.parts[0]:
            self.out.events[self.pending_part] = None  # the header P: was no label
        self.pending_part = None
        self.out.close_chord(None)
        self.out.events.append(Part(label))


def _bar(out: Writer, token: Token, carried: int = 0, lend: bool = False) -> None:
    """A bar line, as abc2midi classes it; ``||:`` and ``:|:`` drop the stray colon.

    `carried`: colons the bar before lent this one; `lend`: this one's trailing colons go
    to the next."""
    token = replace(
        token, repeat_end=token.repeat_end + carried,
        repeat_start=0 if lend else token.repeat_start,
    )  # fmt: skip
    style = token.style
    if token.repeat_end and style[:1] == "[":
        token = replace(token, repeat_end=0)  # abc2midi: :[| is a dotted bar, then [|
    if style[:1] == "[" and out.chord is not None:
        style = style[1:]  # its [ opened the chord
    if token.repeat_end:
        kind = END if style else BOTH
    elif token.repeat_start and style in ("|", "[|"):
        kind = START
    else:
        kind = BAR if style == "|" else DOUBLE
    # abc2midi reads an ending glued only to | or :| (|1, :|2, |[1); ||1 and |:1 are none.
    out.bar(kind, token.ending if style == "|" and not token.repeat_start else "")
    if token.style == "[|]" and style == token.style:
        out.close_chord(None)  # abc2midi reads [|] as [| then ], which ends a chord


def _follows(decoration: Token, token: Token) -> bool:
    """Whether a decoration acts on `token`: a ``!name!`` always waits for the next note;
    a one-letter shorthand needs the note (or chord, rest, ``[``) right after it."""
    if decoration.kind != "decoration":
        return False
    if len(decoration.text) > 1:
        return True
    if token.start != decoration.end:
        return False
    if token.kind == "decoration":
        return token.text in _CHAINED
    return token.kind in _FOLLOWERS or token.text[:1] == "["


def _length_after(tokens: list[Token], index: int) -> tuple[int, Fraction | None]:
    """The length written after a ``]`` the lexer left alone (``[.Gc]2``): the index of
    its last token, and the length (None when none is written)."""
    text, end = "", tokens[index].end
    while index + 1 < len(tokens):
        token = tokens[index + 1]
        if token.kind != "error" or token.start != end or token.text not in "0123456789/":
            break
        text, end, index = text + token.text, token.end, index + 1
    if not text:
        return index, None
    number, slashes, rest = text.partition("/")
    slashes += "/" * (len(rest) - len(rest.lstrip("/")))
    return index, note_length(number, slashes, rest.lstrip("/"))


def _lends_colons(bar: Token, following: Token) -> bool:
    """``[|]:|``: the lexer gives ``[|]:`` then ``|``; abc2midi reads ``[|]`` then ``:|``."""
    return (
        bar.repeat_start > 0 and following.kind == "bar" and following.start == bar.end
        and not following.repeat_end and following.style == "|"
    )  # fmt: skip


def _music_dropped(name: str, value: str) -> str:
    """``M:3/4 ABc`` -> ``3/4``: music written on a meter or unit-length line is dropped.

    Such music is not ABC; abc2midi drops it, and so do we (agreement with abc2midi is
    the rule: see tests/fidelity_sweep.py).
    """
    first, _, _rest = value.partition(" ")
    if name == "M" and parse_meter(first) is not None or name == "L" and parse_unit(first):
        return first
    return value
