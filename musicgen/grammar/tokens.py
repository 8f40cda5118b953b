"""One token's characters: header and field lines, notes' octave marks and lengths, bar lines,
chords, broken-rhythm marks, quoted text and ``!decorations!``.

Each function reads one character inside a token of its `Lexeme` kind and returns the next
`State` or a `Refusal` (a value, not an exception: masks try every character).  Notes and
bar lines are several characters long: `extend_length` / `extend_bar` take a character
that lengthens the token (None: it does not), and `end_length` / `end_bar` give the state
once the token ends, where `musicgen.grammar.syntax` reads that character again.  A
finished token goes to `musicgen.grammar.checker`, which owns the bar and repeat rules.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from musicgen.grammar import checker, formrules
from musicgen.grammar.policy import Policy
from musicgen.grammar.state import (
    BAR,
    CHORD_SYMBOL,
    DECORATION,
    GRACE,
    LINE_START,
    Accidental,
    Bang,
    Between,
    Broken,
    Ended,
    FieldLine,
    Grace,
    Header,
    InChord,
    Length,
    Music,
    Quoted,
    State,
)
from musicgen.grammar.words import (
    ACCIDENTALS,
    DECORATION_NAMES,
    DECORATION_PREFIXES,
    ENDINGS,
    MAX_CHORD,
    MAX_TEXT,
    NOTES,
    RESTS,
    TICKS,
    TUPLETS,
    Words,
    bar_ticks,
    unit_denominator,
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a character may not come next."""

    reason: str


@dataclass(frozen=True)
class Rules:
    """What `step` needs besides the state: one vocabulary's words and the mode's policy."""

    words: Words
    policy: Policy
    openers: tuple[str, ...]  # characters that can follow '[' or '(' (see `_alive`)

    @classmethod
    def build(cls, words: Words, policy: Policy) -> Rules:
        alpha = words.alphabet
        openers = [c for c in ENDINGS + "|KM" + "".join(TUPLETS) if c in alpha]
        openers += sorted(NOTES & alpha)[:1]  # one note letter stands for all
        return cls(words, policy, tuple(openers))


def header(rules: Rules, lex: Header, music: Music, ch: str) -> State | Refusal:
    """The ``M:``, ``L:``, ``K:`` lines, in that order, each a word of `Words` (and the
    ``K:`` value the drawn `Header.key`, when the grammar drew one)."""
    words = rules.words
    name = "MLK"[lex.field]
    if len(lex.text) < 2:
        if ch != (name + ":")[len(lex.text)]:
            return Refusal(f"the header is M:, L:, K: in that order; expected {name}:")
        return State(replace(lex, text=lex.text + ch), music)
    value = lex.text[2:]
    if ch == "\n":
        if lex.field == 0 and value in words.meters:
            return State(Header(1, "", value), music)
        if lex.field == 1 and value in words.units:
            unit = unit_denominator(value)
            bar = replace(music.bar, length=bar_ticks(lex.meter, unit), unit=unit)
            return State(Header(2, "", lex.meter, lex.key), replace(music, bar=bar))
        if lex.field == 2 and value in words.keys and value == (lex.key or value):
            music = checker.set_key(music, value, rules.policy)
            return State(Between(LINE_START), music)
        return Refusal(f"{name}:{value} is not a valid {name}: value")
    options = (words.meter_prefixes, words.unit_prefixes, words.key_prefixes)[lex.field]
    if lex.key and lex.field == 2 and not lex.key.startswith(value + ch):
        return Refusal(f"this tune's key is drawn: K:{lex.key}")
    if value + ch in options:
        return State(replace(lex, text=lex.text + ch), music)
    return Refusal(f"cannot continue the {name}: value {value!r}")


def strike(rules: Rules, music: Music, ch: str) -> Music | None:
    """The music as note, rest or accidental `ch` starts (None: refused by a planned
    form's cadence, `musicgen.grammar.formrules.strike`)."""
    if music.form.target is None:
        return music
    return formrules.strike(music, ch, rules.words.reach.get("", 0), checker.note_values)


def note_start(music: Music, ch: str) -> State:
    """A note letter or accidental begins a note."""
    if ch in ACCIDENTALS:
        return State(Accidental(ch), music)
    # Octave marks: "," lowers an upper-case note, "'" raises a lower-case one.
    return State(Length(octave_mark="," if ch.isupper() else "'"), music)


def extend_bar(rules: Rules, state: State, ch: str) -> State | Refusal | None:
    """`ch` inside a bar-line token; None if it does not extend the bar line."""
    lex, music = state.lexeme, state.music
    kinds = rules.words.bar_prefixes.get(lex.text + ch)
    if kinds is None:
        return None
    if any(checker.bar_allowed(music, k, lex.at_line_start, rules.policy) for k in kinds):
        return State(replace(lex, text=lex.text + ch), music)
    return Refusal(checker.bar_problem(music, kinds, rules.policy))


def end_bar(rules: Rules, state: State) -> State | Refusal:
    """The state once the bar line in `state` ends."""
    lex, music = state.lexeme, state.music
    kind = rules.words.bars.get(lex.text)
    if kind is None:
        return Refusal(checker.bar_problem(music))
    if not checker.bar_allowed(music, kind, lex.at_line_start, rules.policy):
        return Refusal(checker.bar_problem(music, [kind], rules.policy))
    return State(Between(BAR), checker.after_bar(music, kind, rules.policy))


def broken(rules: Rules, lex: Broken, music: Music, ch: str) -> State | Refusal:
    """After ``>`` / ``<``: another of the same (``>>``), or the partner note."""
    if ch == lex.symbol and lex.count < 2:
        return State(Broken(lex.symbol, lex.count + 1), music)
    if ch in NOTES or ch in ACCIDENTALS or ch in RESTS:
        music = strike(rules, music, ch)
        if music is None:
            return Refusal("the tune's last note must be the tonic")
    if ch in NOTES or ch in ACCIDENTALS:
        return note_start(checker.unclose(music), ch)
    if ch in RESTS:
        return State(Length(), music)
    return Refusal("broken rhythm must be followed by a note")


def accidental(rules: Rules, lex: Accidental, music: Music, ch: str) -> State | Refusal:
    """After an accidental: ``^^`` / ``__``, or the note letter."""
    if ch == lex.text and ch in "^_":  # ^^ and __
        return State(Accidental(ch * 2), music)
    if ch in NOTES:
        return note_start(music, ch)
    return Refusal("an accidental must be followed by a note letter")


def extend_length(rules: Rules, state: State, ch: str) -> State | Refusal | None:
    """`ch` after a note or rest (an octave mark or length); None if it ends the note."""
    lex, music = state.lexeme, state.music
    if ch == lex.octave_mark and lex.marks < rules.policy.octave_marks:
        return State(replace(lex, marks=lex.marks + 1), music)
    reach = rules.words.reach.get(lex.suffix + ch)
    if reach is None:
        return None
    if reach & checker.note_values(music):
        return State(Length(lex.suffix + ch), music)
    return Refusal(_length_problem(music))


def end_length(rules: Rules, state: State) -> State | Refusal:
    """The state once the note or rest in `state` ends."""
    music = state.music
    value = rules.words.suffixes[state.lexeme.suffix]
    if not checker.note_values(music) >> value & 1:
        return Refusal(_length_problem(music))
    return State(*checker.finish_note(music, value))


def _length_problem(music: Music) -> str:
    return "length must match its partner" if music.rhythm.length else checker.bar_problem(music)


def in_chord(rules: Rules, lex: InChord, music: Music, ch: str) -> State | Refusal:
    """Inside ``[...]``: another note (up to `MAX_CHORD`), or ``]``."""
    notes, ticks = music.rhythm.chord
    if ch == "]" and notes:
        music = replace(music, rhythm=replace(music.rhythm, chord=None))
        if ticks == TICKS:  # a length may still follow the ']'
            return State(Length(), music)
        return State(*checker.finish_note(music, ticks))
    if (ch in NOTES or ch in ACCIDENTALS) and notes < MAX_CHORD:
        return note_start(music, ch)
    return Refusal(f"expected a note or ] inside a chord (at most {MAX_CHORD} notes)")


def grace(rules: Rules, lex: Grace, music: Music, ch: str) -> State | Refusal:
    """Inside ``{...}``: notes with accidentals, octave marks and lengths (an acciaccatura
    ``{/g}`` starts with a slash), then ``}``, after which the ornamented note comes."""
    needs_letter = lex.last in ACCIDENTALS
    if ch == "}" and lex.notes and not needs_letter:
        return State(Between(GRACE), music)
    if lex.count < MAX_TEXT:
        if ch in NOTES:
            return State(Grace(lex.count + 1, lex.notes + 1, ch), music)
        doubled = ch == lex.last and ch in "^_"  # ^^ and __
        slash = ch == "/" and lex.count == 0  # {/g}
        mark = lex.notes and not needs_letter and (ch in ",'/" or ch.isdigit())
        if (ch in ACCIDENTALS and (not needs_letter or doubled)) or slash or mark:
            return State(Grace(lex.count + 1, lex.notes, ch), music)
    return Refusal("grace notes are notes (with accidentals, octave marks, lengths) in { }")


def quoted(rules: Rules, lex: Quoted, music: Music, ch: str) -> State | Refusal:
    """Inside a chord symbol ``"..."``: one line of text."""
    if ch == '"' and lex.count:
        return State(Between(CHORD_SYMBOL), music)
    if ch != '"' and ch.isprintable() and lex.count < MAX_TEXT:
        return State(Quoted(lex.count + 1), music)
    return Refusal("a guitar chord is one line of text in double quotes")


def bang(rules: Rules, lex: Bang, music: Music, ch: str) -> State | Refusal:
    """Inside ``!...!``: a decoration name (strict: one of ABC 2.1's)."""
    standard = rules.policy.abc2midi_decorations
    if ch == "!" and lex.name and (lex.name in DECORATION_NAMES or not standard):
        return State(Between(DECORATION), music)
    if standard and lex.name + ch in DECORATION_PREFIXES:
        return State(Bang(lex.name + ch), music)
    if not standard and (ch.isalnum() or ch in "+-<>().") and len(lex.name) < MAX_TEXT:
        return State(Bang(lex.name + ch), music)
    if standard:
        return Refusal("a !decoration! is one of ABC 2.1's names between ! marks (!trill!)")
    return Refusal("a !decoration! is a short name between ! marks")


def field_line(rules: Rules, lex: FieldLine, music: Music, ch: str) -> State | Refusal:
    """A body field line ``M:3/4`` / ``K:G``, or an inline ``[M:3/4]``."""
    words, name, text, inline = rules.words, lex.name, lex.text, lex.inline_after
    if text is None:
        if ch == ":":
            return State(replace(lex, text=""), music)
        return Refusal(f"expected ':' after {name}")
    meter = text.split(" ")[0]
    if ch == ("\n" if inline is None else "]"):
        back = Between(LINE_START) if inline is None else inline
        if name == "K" and text in words.keys:
            return State(back, music)
        if name == "M" and meter in words.meters:
            bar = replace(music.bar, length=bar_ticks(meter, music.bar.unit))
            return State(back, replace(music, bar=bar))
    elif name == "K":
        if text + ch in words.key_prefixes:
            return State(replace(lex, text=text + ch), music)
    elif " " in text:  # (lenient) free text after the meter
        if ch.isprintable() and ch != "]" and len(text) < 5 * MAX_TEXT:
            return State(replace(lex, text=text + "."), music)
    elif text + ch in words.meter_prefixes:
        return State(replace(lex, text=text + ch), music)
    elif ch == " " and rules.policy.meter_text and inline is None and text in words.meters:
        return State(replace(lex, text=text + ch), music)
    return Refusal(f"not a valid {name}: field")


def ended(rules: Rules, lex: Ended, music: Music, ch: str) -> Refusal:
    """Nothing follows the end marker."""
    return Refusal("the tune has already ended")
