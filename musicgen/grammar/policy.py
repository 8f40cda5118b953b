"""What each grammar mode allows: one frozen `Policy`, not a flag tested in many places.

The sampler's grammar (`STRICT`) writes only what the bundled corpus writes and abc2midi
reads without a warning; the checker's (`LENIENT`, ``musicgen check`` without abc2midi)
also accepts what people write and abc2midi tolerates.  Every difference between the two
is a field here, so a rule the modes disagree on is found by reading one class.
"""

from __future__ import annotations

from dataclasses import dataclass

from musicgen.form.plan import FormPlan

__all__ = ["LENIENT", "STRICT", "Policy"]


@dataclass(frozen=True)
class Policy:
    """The constructs and bar rules one grammar mode allows."""

    name: str
    # -- syntax the corpus (and so the sampler) never writes, though it is legal ABC ----
    chords: bool  # [CEG]: the bundled corpus has none
    grace_notes: bool  # {g} {/g} {gab}: the bundled corpus has none
    ties: bool  # A-A: abc2midi fails on a tie to another pitch; the corpus hardly ties
    slurs: bool  # (AB): none in the corpus, and an unclosed one would block the end
    quoted_text: bool  # "Am" chord symbols and "^fine" annotations: the corpus has 4
    inline_fields: bool  # [K:D] [M:3/4] inside a line: none in the corpus
    thick_thin_bar: bool  # [| : none in the corpus; abc2midi misreads a repeat after it
    meter_text: bool  # text after the meter of a body M: line (abc2midi drops it)
    decorations: str  # the one-letter decorations (``s`` is a common typo abc2midi skips)
    # !name! only from ABC 2.1's list (abc2midi skips others: the text is noise), and a
    # one-letter decoration right before its note (abc2midi: "Malformed note" otherwise)
    abc2midi_decorations: bool
    # -- bar and repeat rules: where abc2midi's bar check is stricter than ABC -----------
    late_pickups: bool  # a short first bar in a later part, or one longer than half a bar
    short_repeat_after_double_bar: bool  # a short :| closing a part begun at || or |]
    endings_as_abc2midi_reads: bool  # only |1 ... :|2, and no [1 in a part begun by :|
    short_bar_ends_tune: bool  # a short bar before || or |] may only close the tune
    turn_after_repeat_close: bool  # :: after a :| with no |: between (abc2midi: an error)
    # -- issue 13 (form): count bars per part and parts, and remember the key's tonic ----
    count_form: bool = False  # off: the counters stay 0, so the memo does not grow
    plan: FormPlan | None = None  # a form to enforce (counts form too); None: any form
    octave_marks: int = 4  # after a note; the corpus writes 1, and MIDI stops at g''''


STRICT = Policy(
    name="strict",
    chords=False,
    grace_notes=False,
    ties=False,
    slurs=False,
    quoted_text=False,
    inline_fields=False,
    thick_thin_bar=False,
    meter_text=False,
    decorations="~.HTuv",
    abc2midi_decorations=True,
    late_pickups=False,
    short_repeat_after_double_bar=False,
    endings_as_abc2midi_reads=True,
    short_bar_ends_tune=True,
    turn_after_repeat_close=False,
    octave_marks=2,  # b'''' would be MIDI 131: abc2midi then writes no notes
)
LENIENT = Policy(
    name="lenient",
    chords=True,
    grace_notes=True,
    ties=True,
    slurs=True,
    quoted_text=True,
    inline_fields=True,
    thick_thin_bar=True,
    meter_text=True,
    decorations="~.HTuvs",
    abc2midi_decorations=False,  # !Segno!, !sf!: names musicians write
    late_pickups=True,
    short_repeat_after_double_bar=True,
    endings_as_abc2midi_reads=False,
    short_bar_ends_tune=False,
    turn_after_repeat_close=True,
)
