"""How each planned part ends and what comes back (issue 14): `Phrasing`, drawn per tune.

A plan (`musicgen.form.plan.FormPlan`) fixes the parts and their bars; `Phrasing` adds how
each part ends and which motifs return, each drawn from the training corpus's own rates
(`musicgen.form.stats` keeps them in ``form.json``; `musicgen.form.phrases` measures them):

- the last note of every part: the first part's from the corpus's first parts for the
  tune's meter, middle parts' from its middle parts, and the last part's is the tonic (the
  tune's cadence; without one, drawn from the corpus's last parts).  Each is drawn as
  semitones above the tonic and spelt as the key's scale letter (`scale_letter`); the
  grammar then makes the part's last bar end on that letter;
- the rhyme: the B part's last bar repeats the A part's, drawn at the corpus's rate among
  tunes whose A and B parts end on the same note, when the drawn endings agree
  (``rhyme="always"``: whenever the grammar can, the A part then ends as the B part does;
  ``never``: not asked);
- the echo: a part's bar 5 opens with the first three notes of its bar 1, drawn per part
  at the corpus's rate (with the rhyme's ``always`` / ``never``).

A run dir whose ``form.json`` predates these tables draws from `DEFAULT_ENDINGS`,
`DEFAULT_RHYME` and `DEFAULT_ECHO`: the bundled corpus's rates (728 tunes, all meters).
"""

from __future__ import annotations

from dataclasses import dataclass

from musicgen.abc.theory import LETTERS, NATURAL, key_signature, key_tonic

AUTO, ALWAYS, NEVER = "auto", "always", "never"
RHYMES = (AUTO, ALWAYS, NEVER)
FIRST, MIDDLE, LAST = "first", "middle", "last"  # a part's role, by its place in the tune
# The bundled corpus's part endings (semitones above the tonic: tunes), its rhyme rate
# among tunes whose A and B parts end on the same note (alike, of) and its echo rate
# (parts whose bar 5 opens as bar 1, of parts of 5 bars or more): `stats` counts them.
DEFAULT_ENDINGS = (
    (FIRST, ((0, 559), (7, 41), (2, 40), (5, 37), (10, 22), (9, 13), (4, 7), (11, 4))),
    (MIDDLE, ((0, 116), (2, 32), (5, 22), (7, 13), (4, 9), (10, 7), (11, 5), (9, 4))),
    (LAST, ((0, 524), (2, 52), (7, 51), (5, 40), (9, 20), (10, 16), (4, 13), (11, 11))),
)
DEFAULT_RHYME = (429, 596)
DEFAULT_ECHO = (985, 1369)


@dataclass(frozen=True, slots=True)
class Ending:
    """What one tune's parts are to do: each part's last letter ("" free), the rhyme, and
    which parts echo bar 1 at bar 5."""

    letters: tuple[str, ...]
    rhyme: bool
    echoes: tuple[bool, ...]


@dataclass(frozen=True)
class Phrasing:
    """The corpus's part endings, rhyme and echo rates per meter, and the user's choice."""

    # ((meter, ((role, ((semitones, tunes), ...)), ...)), ...); () : `DEFAULT_ENDINGS`
    endings: tuple = ()
    rhymes: tuple = ()  # ((meter, (alike, of)), ...); () : `DEFAULT_RHYME`
    echoes: tuple = ()  # ((meter, (echo, of)), ...); () : `DEFAULT_ECHO`
    rhyme: str = AUTO  # auto: at the corpus's rates; always; never

    def __post_init__(self):
        if self.rhyme not in RHYMES:
            raise ValueError(f"rhyme {self.rhyme!r}: use {', '.join(RHYMES)}")

    def draw(self, meter: str, key: str, parts: int, cadence: bool, rng=None) -> Ending:
        """One tune's `Ending` for `parts` parts in `meter` and `key`, drawn with `rng`
        (without one, the likeliest of each); no letters without a `cadence`."""
        tonic = scale_letter(key, 0)
        letters = [""] * parts
        if cadence and tonic:
            for part in range(parts):
                role = LAST if part == parts - 1 else FIRST if part == 0 else MIDDLE
                drawn = 0 if role == LAST else _pick(_row(self.endings, meter, role), rng)
                letters[part] = scale_letter(key, drawn) or tonic
        rhyme = parts > 1 and self.rhyme != NEVER
        if rhyme and self.rhyme == AUTO:
            rhyme = letters[0] == letters[1] and _chance(self.rhymes, meter, DEFAULT_RHYME, rng)
        if rhyme and letters[1]:
            letters[0] = letters[1]  # (always) the A part ends as the B part must
        echo = [self.rhyme != NEVER] * parts
        if self.rhyme == AUTO:
            echo = [_chance(self.echoes, meter, DEFAULT_ECHO, rng) for _ in range(parts)]
        return Ending(tuple(letters), rhyme, tuple(echo))


def _row(table: tuple, meter: str, role: str) -> tuple:
    """`role`'s ((semitones, tunes), ...) for `meter` (all meters pooled if it has none)."""
    rows = dict(table) or {"": DEFAULT_ENDINGS}
    found = dict(rows.get(meter, ())).get(role)
    if found:
        return found
    pooled: dict[int, int] = {}
    for roles in rows.values():
        for semitones, count in dict(roles).get(role, ()):
            pooled[semitones] = pooled.get(semitones, 0) + count
    return tuple(pooled.items()) or dict(DEFAULT_ENDINGS)[role]


def _pick(options: tuple, rng) -> int:
    counts = [count for _, count in options]
    if rng is None:
        return options[counts.index(max(counts))][0]
    return options[int(rng.choice(len(options), p=[c / sum(counts) for c in counts]))][0]


def _chance(table: tuple, meter: str, default: tuple[int, int], rng) -> bool:
    """True with the rate (hits, of) of `meter`'s row (all rows pooled if it has none)."""
    rows = dict(table)
    hits, of = rows.get(meter) or tuple(map(sum, zip(*rows.values(), strict=True))) or default
    rate = hits / of if of else 0.0
    return rate >= 0.5 if rng is None else bool(rng.random() < rate)


def scale_letter(key: str, semitones: int) -> str:
    """The upper-case letter that, under `key`'s signature, sits `semitones` above its tonic
    (or a semitone off it, the one above first, when none does: a ``b7`` of a major
    key is its 7th); "" for a key
    without a tonic."""
    tonic = key_tonic(key)
    if tonic is None or not key or key[0] not in LETTERS:
        return ""
    keymap, _ = key_signature(key)
    first = LETTERS.index(key[0])
    steps = [LETTERS[(first + step) % 7] for step in range(7)]
    above = {
        letter: (NATURAL[LETTERS.index(letter)] + keymap[letter] - tonic) % 12 for letter in steps
    }
    for near in (0, 1, -1):  # a flattened degree keeps its letter: b7 is the 7th
        for letter in steps:
            if above[letter] == (semitones + near) % 12:
                return letter
    return steps[0]
