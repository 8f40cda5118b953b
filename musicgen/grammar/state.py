"""The grammar's state: where the reader is inside a token, and what the music so far allows.

A `State` pairs a `Lexeme` (the character-level position: which token is being read and
how far it has got) with `Music` (the token-level facts: the bar, the rhythm group, the
section and, for issue 13, the form).  Every class is a frozen, hashable dataclass, so a
state is a dictionary key: `GrammarTables` memoizes each state's mask and transitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from musicgen.form.plan import Target

# What came just before, when the reader is between tokens (`Between.after`).
LINE_START = "line start"
SPACE = "space"
BAR = "bar line"
NOTE = "note"  # a note, rest or chord
CHORD_SYMBOL = "chord symbol"  # "Am"
CHORD_SYMBOL_SPACE = "chord symbol and space"
DECORATION = "decoration"  # !trill!
LETTER_DECORATION = "decoration letter"  # ~ . H T u v: its note must come next (abc2midi)
TUPLET = "tuplet mark"
SLUR = "slur start"
ENDING = "ending number"
TIE = "tie"
GRACE = "grace notes"  # {g}: the note they ornament must follow
NEEDS_NOTE = frozenset(
    {CHORD_SYMBOL, CHORD_SYMBOL_SPACE, DECORATION, LETTER_DECORATION, TUPLET, SLUR, GRACE}
)

# `Section.after_repeat`: where the part stands with respect to a bare :| before it.
NO_REPEAT = 0
IN_UNOPENED_REPEAT = 1  # a part begun by :| or :|| (no |:): abc2midi wants no [1 in it
JUST_CLOSED_REPEAT = 2  # right after :| : a second ending may follow


# -- lexemes: the character-level automaton's position ----------------------------------
@dataclass(frozen=True, slots=True)
class Header:
    """Reading the ``M:``, ``L:``, ``K:`` lines (field 0, 1, 2): `text` so far."""

    field: int = 0
    text: str = ""
    meter: str = ""  # the M: value once read
    key: str = ""  # the one K: value allowed (drawn from the corpus's keys); "": any


@dataclass(frozen=True, slots=True)
class Between:
    """Between tokens of the body; `after` is the token before (a constant above)."""

    after: str
    partner: int = 0  # after a plain note: its length, which a broken-rhythm partner takes


@dataclass(frozen=True, slots=True)
class BarLine:
    """Inside a bar-line token (``:|``, ``||:``...): `text` so far."""

    text: str
    at_line_start: bool


@dataclass(frozen=True, slots=True)
class Bracket:
    """Just after ``[``: an ending, a chord, ``[|`` or an inline field comes next."""

    before: Between


@dataclass(frozen=True, slots=True)
class Paren:
    """Just after ``(``: a tuplet ``(3`` or a slur."""

    before: Between


@dataclass(frozen=True, slots=True)
class Broken:
    """Inside a broken-rhythm mark ``>``, ``>>``: its `symbol` written `count` times."""

    symbol: str
    count: int


@dataclass(frozen=True, slots=True)
class Accidental:
    """After ``^``, ``^^``, ``_``, ``__`` or ``=``: a note letter must follow."""

    text: str


@dataclass(frozen=True, slots=True)
class Length:
    """After a note letter or rest: octave marks, then the length `suffix` so far."""

    suffix: str = ""
    octave_mark: str = ""  # "," after an upper-case letter, "'" after a lower-case one
    marks: int = 0  # octave marks written (at most `Policy.octave_marks`)
    field_like: bool = False  # a letter alone at a line start: "A:" would be a field line


@dataclass(frozen=True, slots=True)
class InChord:
    """Inside ``[...]``, between its notes."""


@dataclass(frozen=True, slots=True)
class Grace:
    """Inside ``{...}`` (grace notes, `Policy.grace_notes`): `count` characters so far,
    `notes` note letters among them, `last` the last character (an accidental needs a
    letter next).  Grace notes take no time in the bar, so their lengths are not counted."""

    count: int = 0
    notes: int = 0
    last: str = ""


@dataclass(frozen=True, slots=True)
class Quoted:
    """Inside ``"..."`` (a chord symbol): `count` characters so far."""

    count: int = 0


@dataclass(frozen=True, slots=True)
class Bang:
    """Inside ``!...!`` (a decoration): its name so far."""

    name: str = ""


@dataclass(frozen=True, slots=True)
class FieldLine:
    """A body ``M:`` / ``K:`` line, or an inline ``[K:..]`` when `inline_after` is set."""

    name: str
    text: str | None = None  # None until the ':' is read
    inline_after: Between | None = None  # where to go back after the closing ']'


@dataclass(frozen=True, slots=True)
class Ended:
    """The end marker has been read."""


Lexeme = (
    Header | Between | BarLine | Bracket | Paren | Broken | Accidental | Length | InChord
    | Grace | Quoted | Bang | FieldLine | Ended
)  # fmt: skip


# -- music: what the tokens so far allow ----------------------------------------------
@dataclass(frozen=True, slots=True)
class Bar:
    """How full the current bar is, in ticks (1/8 of the unit length L:)."""

    ticks: int = 0  # written so far (including any `carried`)
    length: int = 0  # a full bar; 0 = free meter
    unit: int = 8  # L: is 1/unit, to turn an M: change into ticks
    carried: int = 0  # carried in from a short bar before a section break

    @property
    def room(self) -> int:
        return self.length - self.ticks

    @property
    def empty(self) -> bool:
        """Nothing written in this bar itself."""
        return self.ticks == self.carried


@dataclass(frozen=True, slots=True)
class Rhythm:
    """Notes that depend on each other: tuplets, broken rhythms, slurs, chords."""

    tuplet: tuple[int, int] | None = None  # (notes left, q) inside a tuplet
    length: int = 0  # written length (ticks) the next note must have; 0 = any
    slur: bool = False  # a slur is open (they do not nest)
    chord: tuple[int, int] | None = None  # (notes so far, their length) inside [...]


@dataclass(frozen=True, slots=True)
class Section:
    """Parts, repeats, endings and pickups, as abc2midi's bar check counts them."""

    opening: bool = True  # the current bar opens a section, so it may be a short pickup
    closed: bool = False  # the last token closed a bar: the tune may end here
    pickup: int = 0  # ticks of this section's pickup (0: it began on a full bar)
    after_double_bar: bool = False  # begun at || or |]: abc2midi pairs no pickup with it
    repeat_open: bool = False  # a |: is open: the tune may not end before its :|
    after_repeat: int = NO_REPEAT  # see the constants above
    first_ending: bool = False  # inside [1: a second ending must come before the end
    repeat_seen: bool = False  # a :| came before: || and |] then start a fresh repeat
    must_end: bool = False  # (strict) a short bar closed by || or |]: only the end follows
    bar_written: bool = False  # a bar line has been written: (strict) no pickup any more


@dataclass(frozen=True, slots=True)
class Form:
    """Issue 13's counters; they stay at their defaults unless `Policy.count_form` or a
    `Policy.plan` (whose resolved `Target` the grammar puts here after the header)."""

    bars_in_part: int = 0  # complete bars since the part began (a pickup is not one)
    parts: int = 0  # parts closed so far
    tonic: int | None = None  # the key's tonic, a pitch class (C = 0), from K:
    target: Target | None = None  # the planned form; None: no plan
    tonic_note: bool = False  # (a part's last bar) the note being written is its end letter


@dataclass(frozen=True, slots=True)
class Music:
    """Everything the tokens so far decide about what may come next."""

    bar: Bar = field(default_factory=Bar)
    rhythm: Rhythm = field(default_factory=Rhythm)
    section: Section = field(default_factory=Section)
    form: Form = field(default_factory=Form)


@dataclass(frozen=True, slots=True)
class State:
    """One grammar state: the character-level position and the music so far."""

    lexeme: Lexeme
    music: Music


START = State(Header(), Music())
