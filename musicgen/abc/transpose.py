"""Move ABC tunes to other keys: the key-transposition augmentation for training.

Pure text in, text out (no I/O, no music21).  A note is read the way ABC 2.1 reads it:
the key signature, overridden by an accidental written earlier in the bar on the same
letter in the same octave.  Its pitch is moved by the interval and spelled diatonically in
the new key (the tonic moves by so many letters, and so does every note), so a tune keeps
its scale degrees and its chromatic notes keep their role (D mixolydian's ``^c`` becomes
E mixolydian's ``^d``); a note that would need ``^^`` or ``__`` is written on the
neighbouring letter instead.  Accidentals are then written wherever the new key signature and
the accidentals already written in the bar would not give that pitch, under either of
the two propagation rules in use: same octave only (ABC 2.1, abcm2ps) or every octave
(music21's default, which this project renders MIDI with).  So one transposed text reads
the same everywhere.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from musicgen.abc.lexer import Token, lex_body
from musicgen.abc.theory import (
    ACCIDENTALS,
    LETTERS,
    NATURAL,
    TONIC_SIGNS,
    Key,
    parse_key,
    signature,
    tonic_name,
)
from musicgen.errors import TransposeError

# Fourth and whole-tone moves, both ways: every copy of a tune in G, D, A dorian, D
# mixolydian or E dorian (nine tunes in ten of the corpus) lands in a key the corpus
# already uses, never a key with more than four sharps or three flats, and no note moves
# more than five semitones, so the tunes stay in their instruments' range.
DEFAULT_SHIFTS = (-5, -2, 2, 5)

_WRITE = {value: text for text, value in ACCIDENTALS.items()}

_FIELD_LINE_RE = re.compile(r"^([A-Za-z+]):(.*)$")  # as musicgen.abc.tunes reads field lines
_MUSIC_AFTER_FIELD_RE = re.compile(r"[LM]:\s*(?:C\|?|\d+/\d+)\s+\S")  # "M:3/4 egdB|"
_TONIC_RE = re.compile(r"(\s*)[A-G][#b]?")  # the part of a K: value a transposition rewrites
_BARE_FIELD_RE = re.compile(r"(?<![A-Za-z])[LM]:\s*(?:C\|?|\d+/\d+)(?=\s|$)")  # "M:3/4 eg"
_CHORD_RE = re.compile(
    r"([A-G])([#b]?)((?:maj|min|dim|aug|sus|add|[mMo+\-#b()\d])*)(?:/([A-G])([#b]?))?"
)


def transpose_key(key: Key, semitones: int) -> tuple[Key, int]:
    """The key `semitones` away with the fewest sharps or flats, and the letters moved.

    Of the spellings of the new tonic (``F#`` or ``Gb``) the one with the smaller
    signature wins (at most six either way); a tie (6 sharps or 6 flats) goes to sharps,
    the side the fiddle-tune corpus lives on.
    """
    target = NATURAL[key.letter] + key.alter + semitones
    best = None
    for letter in range(7):
        alter = (target - NATURAL[letter] + 6) % 12 - 6
        if abs(alter) <= 1:
            new = Key(letter, alter, key.mode)
            if best is None or (abs(new.sharps), -new.sharps) < (abs(best.sharps), -best.sharps):
                best = new
    # Letters moved: the count congruent mod 7 nearest the interval's 7/12 letters a semitone.
    moved = (best.letter - key.letter) % 7
    moved += 7 * round((semitones * 7 / 12 - moved) / 7)
    return best, moved


def transpose_tune(text: str, semitones: int) -> str:
    """`text` (``Tune.text()`` or a whole tune with ``X:``/``T:``) moved by `semitones`.

    Every ``K:`` (header, body line or inline ``[K:...]``) gets the transposed tonic, mode
    and the rest of its value kept (``A Dorian`` +2 -> ``B Dorian``, ``Bm`` -> ``C#m``).
    Notes, grace notes and chord notes are moved and respelled, octave marks rewritten; a
    note written with an accidental keeps one, so courtesy accidentals survive.  Chord
    symbols in quotes (``"D/F#"``) are transposed, annotations (``"^Coda"``) and other
    quoted text are not.  Everything else (lengths, bars, decorations, tuplets, broken
    rhythm, other fields, lines before the first ``K:``) is left byte for byte.  Shift 0
    returns the text, except that a note music21 would read differently (see the module
    docstring) gets its accidental written out.  Raises `TransposeError` for a tune with
    no ``K:`` or a key that `parse_key` refuses.
    """
    return _run(_Transposer(semitones), text)


def pitches(text: str, *, every_octave: bool = False) -> list[int]:
    """MIDI numbers (C4 = 60) of the notes of a tune, in order, as `transpose_tune` reads them.

    By default an accidental carries through the bar in its own octave (ABC 2.1);
    `every_octave` reads it the way music21 does, in every octave of the letter.
    """
    transposer = _Transposer(0, every_octave=every_octave)
    _run(transposer, text)
    return transposer.read


def _run(transposer: _Transposer, text: str) -> str:
    out: list[str] = []
    started = False
    for number, line in enumerate(text.split("\n"), start=1):
        field = _FIELD_LINE_RE.match(line)
        if field and field.group(1) == "K":
            started = True
            out.append("K:" + transposer.set_key(field.group(2), number))
        elif not started or line.startswith("%"):
            out.append(line)
        elif field and not _MUSIC_AFTER_FIELD_RE.match(line):
            out.append(line)
        else:
            out.append(transposer.line(line, number))
    if not started:
        raise TransposeError("no K: field: the tune has no key to transpose")
    return "\n".join(out)


def augment(
    texts: Iterable[str],
    semitones: Sequence[int] = DEFAULT_SHIFTS,
    *,
    copies: int | None = None,
    rng=None,
) -> tuple[list[str], int]:
    """Each text followed by its copies moved by each of `semitones`; and how many failed.

    With `copies`, each tune gets only that many of the shifts, drawn by `rng` (a
    ``numpy.random.Generator``: same seed, same copies).  A tune `transpose_tune` refuses
    (``K:none``, ``K:HP``, explicit accidentals) is kept once, in its own key, and counted.
    A tune and its copies sit side by side, so split training and validation tunes
    before augmenting: a validation tune's copy in the training set would leak it.
    """
    if copies is not None and rng is None:
        raise ValueError("copies needs rng, a numpy.random.Generator, to draw the shifts")
    shifts = [s for s in semitones if s]  # 0 would only repeat the tune
    out: list[str] = []
    failed = 0
    for text in texts:
        out.append(text)
        chosen = shifts
        if copies is not None:
            chosen = [shifts[i] for i in sorted(rng.permutation(len(shifts))[:copies])]
        try:
            moved = [transpose_tune(text, s) for s in chosen]
        except TransposeError:
            failed += 1
            continue
        out.extend(moved)
    return out, failed


class _Transposer:
    """Rewrites music lines, carrying the keys and the bar's accidentals between them."""

    def __init__(self, semitones: int, *, every_octave: bool = False):
        self.semitones = semitones
        self.every_octave = every_octave  # how the old text is read (see `pitches`)
        self.sign_first = False  # the note being written opens a line before a ":"
        self.read: list[int] = []  # the old text's pitches
        self.moved = 0
        self.old_sig = self.new_sig = signature(0)
        self.old_bar: dict[tuple[int, int | None], int] = {}  # (letter, octave) -> alter
        self.new_bar: dict[tuple[int, int], int] = {}
        self.new_letter: dict[int, int] = {}  # music21's rule: any octave of the letter

    def set_key(self, value: str, number: int) -> str:
        """Take the ``K:`` value on line `number`; return its transposed text."""
        try:
            key = parse_key(value)
        except ValueError as exc:
            raise TransposeError(f"line {number}: {exc}: cannot transpose") from None
        new, self.moved = transpose_key(key, self.semitones)
        self.old_sig, self.new_sig = key.keymap, new.keymap
        tonic = _TONIC_RE.match(value)
        return tonic.group(1) + new.tonic() + value[tonic.end() :]

    def line(self, line: str, number: int) -> str:
        """A music line rewritten token by token (`musicgen.abc.lexer`); bare fields kept."""
        out, at = [], 0
        for field in [*_BARE_FIELD_RE.finditer(line), None]:
            music = line[at : field.start() if field else len(line)]
            for token in lex_body(music):
                if token.text == '"':  # an unclosed quote: the rest is its text
                    out.append(music[token.start :])
                    break
                # A line that opens with a letter and a colon is a field (``C:|`` is a
                # composer): a note there keeps a sign before it, ``=C:|``.
                self.sign_first = not out and token.start == 0 and music[token.end :][:1] == ":"
                out.append(self._token(token, number))
            out.append(field.group(0) if field else "")
            at = field.end() if field else at
        return "".join(out)

    def _token(self, token: Token, number: int) -> str:
        if token.kind in ("bar", "ending"):
            self.old_bar, self.new_bar, self.new_letter = {}, {}, {}
        elif token.kind == "gchord":
            return self._chord_symbol(token.text)
        elif token.kind == "note":
            return self._note(token)
        elif token.kind == "chord":  # its notes moved; "[", ties, "]" and its length as written
            return "[" + "".join(self._token(t, number) for t in lex_body(token.text[1:]))
        elif token.kind == "inline_field" and token.name == "K":
            return f"[K:{self.set_key(token.value, number)}]"
        return token.text

    def _note(self, token: Token) -> str:
        marks = abs(token.octave - token.letter.islower())  # its ' or , marks
        length = token.text[len(token.accidental) + 1 + marks :]  # written as before
        octave = 4 + token.octave
        step = 7 * octave + LETTERS.index(token.letter.upper())
        place = (step % 7, None if self.every_octave else octave)
        written = token.accidental
        if written:
            self.old_bar[place] = ACCIDENTALS[written]
        pitch = _pitch(step) + self.old_bar.get(place, self.old_sig[LETTERS[step % 7]])
        self.read.append(pitch)
        step, alter = _spell(pitch + self.semitones, step + self.moved)
        letter, octave = step % 7, step // 7
        implied = self.new_bar.get((letter, octave), self.new_sig[LETTERS[letter]])
        implied_any = self.new_letter.get(letter, self.new_sig[LETTERS[letter]])
        accidental = ""
        if written or alter != implied or alter != implied_any or self.sign_first:
            accidental = _WRITE[alter]
            self.new_bar[(letter, octave)] = self.new_letter[letter] = alter
        name = LETTERS[letter]
        if octave >= 5:
            return accidental + name.lower() + "'" * (octave - 5) + length
        return accidental + name + "," * (4 - octave) + length

    def _chord_symbol(self, token: str) -> str:
        match = _CHORD_RE.fullmatch(token[1:-1])
        if not match or not token.endswith('"'):
            return token  # an annotation ("^Coda") or text ("Verse")
        root = self._chord_note(match.group(1), match.group(2))
        bass = "/" + self._chord_note(match.group(4), match.group(5)) if match.group(4) else ""
        return f'"{root}{match.group(3)}{bass}"'

    def _chord_note(self, letter: str, accidental: str) -> str:
        step = 35 + LETTERS.index(letter)
        pitch = _pitch(step) + TONIC_SIGNS[accidental] + self.semitones
        step, alter = _spell(pitch, step + self.moved)
        return tonic_name(step % 7, alter)


def _pitch(step: int) -> int:
    """MIDI number of a natural note by diatonic step (7 * octave + letter; C4 = 60)."""
    return 12 * (step // 7 + 1) + NATURAL[step % 7]


def _spell(pitch: int, step: int) -> tuple[int, int]:
    """`pitch` on the letter `step`, or on the next letter if that needs ``^^`` or ``__``.

    Double accidentals are respelled (G# dorian's raised sixth is ``=g``, not ``^^f``):
    the corpus never writes them and music21 carries only one ``^`` of a ``^^`` on
    through the bar.
    """
    alter = pitch - _pitch(step)
    while abs(alter) > 1:
        step += 1 if alter > 0 else -1
        alter = pitch - _pitch(step)
    return step, alter
