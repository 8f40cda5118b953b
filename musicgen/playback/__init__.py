"""Tokens -> notes as written -> notes as played.

- `events`: the written events of a tune (`Written`, `Strike`, `Sound`, `Part`...);
- `reader`: `read_tune`, lexer tokens -> `Written`, as abc2midi reads them;
- `state`: the reader's note-level state (key, unit, chord, tuplet, broken rhythm);
- `ornaments`: decorations and grace notes, performed as abc2midi performs them;
- `repeats`: the order a tune plays in (repeats, endings, parts);
- `perform`: ties joined, repeats followed, notes placed in time.

May import `musicgen.abc` and `errors`; no TensorFlow, nothing above it.
"""
