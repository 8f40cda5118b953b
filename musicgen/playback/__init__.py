"""Tokens -> notes as written -> notes as played.

- `events`: the written events of a tune (`Written`, `Strike`, `Sound`, `Part`...);
- `reader`: `read_tune`, lexer tokens -> `Written`, as abc2midi reads them;
- `state`: the reader's note-level state (key, unit, chord, tuplet, broken rhythm);
- `directives`: the ``%%MIDI`` lines that change the melody (transpose, grace divider);
- `ornaments`: decorations and grace notes, performed as abc2midi performs them;
- `repeats`: the order a tune plays in (repeats, endings, parts);
- `gchords`: guitar chord symbols spelt as abc2midi spells them (types, voicing, patterns);
- `accompany`: the bass and chord parts abc2midi plays from them, in time;
- `perform`: ties joined, repeats followed, notes placed in time.

May import `musicgen.abc` and `errors`; no TensorFlow, nothing above it.
"""
