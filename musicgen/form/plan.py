"""A tune's planned form (issue 13): which parts, how many bars each, and a cadence.

`FormPlan` is what the user asks for (``musicgen sample --form AABB --bars-per-part 8``,
or ``auto``); it is frozen and hashable, so it rides in the grammar's `Policy` and the
shared memo of states is built once per plan.  The meter is known only once the tune's
``M:`` line is read, so the plan is resolved there (`FormPlan.resolve`) into a `Target`,
the small value the grammar's state carries and its checker enforces: each part closes
at its last bar (``:|`` if it is repeated, ``||`` or ``|]`` if not), the tune ends right
after its last part, and (with a cadence) its last note is the key's tonic.

``auto`` draws the pattern (how many parts), per tune, from the training corpus's own
distribution for the tune's meter (`choices`, from the run dir's ``form.json``, see
`musicgen.form.stats`), with the tune's own seeded generator; the bars per part are
`bars` (the CLI's ``--bars-per-part``, 8 unless asked), or drawn with the pattern when
`bars` is None (``--bars-per-part auto``).  A meter the corpus never used draws from all
meters together; with no distribution at all (a run dir without ``form.json``) ``auto``
is ``AABB`` with 8 bars, the tradition's commonest form.

The key is drawn the same way (`draw_key`, from `keys`, the corpus's keys per meter) once
the ``M:`` line is read, and the grammar then allows only that ``K:`` value.  A model
trained on transposed copies (``--transpose``) has learnt every key as likely as the
corpus's commonest, so left alone it writes Irish tunes in E major and C major; drawing
the key restores the corpus's own keys, which musicians (and MGEval's absolute
pitch-class histogram) expect.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from musicgen.form.cadence import Phrasing

AUTO = "auto"
DEFAULT_PATTERN, DEFAULT_BARS = "AABB", 8  # the tradition's commonest form
MIN_BARS, MAX_BARS = 2, 32  # a part of 1 bar has no pickup to complete; 32 is ample
MAX_PARTS = 8
_PATTERN = re.compile(r"[A-Z]+")


@dataclass(frozen=True, slots=True)
class Target:
    """A resolved plan, carried in the grammar's state: one flag per part (repeated by a
    sign?), the bars of every part, whether the last note must be the tonic, and the
    tonic's letter (the key's, which the key signature makes the tonic)."""

    repeats: tuple[bool, ...]
    bars: int
    cadence: bool = True
    tonic: str = ""  # note letter, upper case; "" until the K: line is read
    # The pattern asked for ("AABB", "ABAC"): the grammar does not read it, the sampler
    # does (a new part that came out a copy of an earlier one is drawn again).
    letters: str = ""
    # Issue 14 (`musicgen.form.cadence`): each part's last note letter ("" free; () : only
    # the last part's, the tonic, with a cadence), and the motifs that come back: the B
    # part's last bar is the A part's (`rhyme`), a part's bar 5 opens as its bar 1 (`echoes`).
    ends: tuple[str, ...] = ()
    rhyme: bool = False
    echoes: tuple[bool, ...] = ()

    def end(self, part: int) -> str:
        """The letter part `part` must end on ("" for any)."""
        if self.ends:
            return self.ends[part] if part < len(self.ends) else ""
        last = part == len(self.repeats) - 1
        return self.tonic if self.cadence and last else ""


def parse_pattern(pattern: str) -> tuple[bool, ...]:
    """``AABB`` -> (True, True): a letter written twice in a row is one part played twice
    (``|: ... :|``), a letter alone a part played once; `ValueError` names a bad pattern."""
    if not _PATTERN.fullmatch(pattern or ""):
        raise ValueError(f"form pattern {pattern!r}: use capital letters, like AABB or ABAC")
    runs = [m.group(0) for m in re.finditer(r"([A-Z])\1*", pattern)]
    if any(len(run) > 2 for run in runs):
        raise ValueError(f"form pattern {pattern!r}: a part is played once or twice, not more")
    if len(runs) > MAX_PARTS:
        raise ValueError(f"form pattern {pattern!r}: at most {MAX_PARTS} parts")
    return tuple(len(run) == 2 for run in runs)


def check_bars(bars: int) -> int:
    """`bars` if it is a usable part length, else `ValueError`."""
    if not MIN_BARS <= bars <= MAX_BARS:
        raise ValueError(f"bars per part must be {MIN_BARS}..{MAX_BARS}, not {bars}")
    return bars


@dataclass(frozen=True)
class FormPlan:
    """The form a sampled tune must have (see the module docstring)."""

    pattern: str = AUTO  # "auto", or letters: AABB, AABBCC, ABAC...
    bars: int | None = None  # bars per part; None: 8 for a pattern, drawn for auto
    cadence: bool = True  # the last note is the key's tonic
    # auto: ((meter, ((pattern, bars, tunes), ...)), ...), the corpus's forms per meter
    choices: tuple = ()
    # ((meter, ((key, tunes), ...)), ...), the corpus's keys per meter; () : the model's
    keys: tuple = ()
    draw_keys: bool = True  # fill `keys` from the run dir (off: --key any, or a K: primer)
    # how parts end and rhyme (issue 14): the corpus's rates, filled from form.json
    phrasing: Phrasing = field(default_factory=Phrasing)

    def __post_init__(self):
        if self.pattern != AUTO:
            parse_pattern(self.pattern)
        if self.bars is not None:
            check_bars(self.bars)

    def resolve(self, meter: str, key: str, rng=None) -> Target:
        """The `Target` of one tune in `meter` and `key`; `rng` (a numpy Generator) draws
        ``auto``'s pattern (without one, the likeliest is taken)."""
        pattern, bars = self.pattern, self.bars
        if pattern == AUTO:
            pattern, drawn = self._draw(meter, rng)
            bars = bars or drawn
        repeats = parse_pattern(pattern)
        ending = self.phrasing.draw(meter, key, len(repeats), self.cadence, rng)
        return Target(
            repeats,
            bars or DEFAULT_BARS,
            self.cadence,
            key[:1].upper(),
            pattern,
            ending.letters,
            ending.rhyme,
            ending.echoes,
        )

    def _draw(self, meter: str, rng) -> tuple[str, int]:
        drawn = _draw(self.choices, meter, rng)
        return drawn[:2] if drawn else (DEFAULT_PATTERN, DEFAULT_BARS)

    def draw_key(self, meter: str, rng=None) -> str | None:
        """A ``K:`` value for a tune in `meter`, drawn from `keys` (None: no table)."""
        drawn = _draw(self.keys, meter, rng)
        return drawn[0] if drawn else None


def _draw(table: tuple, meter: str, rng) -> tuple | None:
    """One option of `meter`'s row of `table` ((meter, ((..., count), ...)), ...), drawn
    in proportion to its count with `rng` (without one, the commonest); a meter the table
    lacks draws from every row together; None when the table is empty."""
    rows = dict(table)
    options = rows.get(meter) or tuple(o for opts in rows.values() for o in opts)
    if not options:
        return None
    counts = [option[-1] for option in options]
    if rng is None:
        return options[counts.index(max(counts))]
    return options[int(rng.choice(len(options), p=[c / sum(counts) for c in counts]))]


def usable(pattern: str, bars: int) -> bool:
    """May a corpus form (letters, bars per part) be a plan?  (Three passes of a part, a
    part of one bar or of a hundred, are analysis artefacts, not forms to ask for.)"""
    try:
        parse_pattern(pattern)
        check_bars(bars)
    except ValueError:
        return False
    return True
