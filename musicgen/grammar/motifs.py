"""Motifs that come back (issue 14): the B part's last bar rhymes with the A part's, and a
part's bar 5 echoes its bar 1.

The automaton's states are shared by every tune (`GrammarTables` memoizes them), so they
cannot hold one tune's notes.  `Motifs` is the per-tune layer beside them: it keeps the
text of each bar as the grammar reads it, and when a bar that the plan's `Target` asks to
repeat a motif is about to begin, it sets the characters to write there: the whole of the
A part's last bar (``rhyme``), or the first `ECHO_NOTES` notes of the part's bar 1
(``echoes``).  `AbcGrammar.allowed_mask` then allows only the next of them.

It only narrows what the automaton allows, never widens it: a motif is set only when the
automaton accepts every character of it from that state (and, for a rhyme, closes the
bar right after it: the bar lengths and the part's end letter agree), and if a different
character is fed it is dropped.  So a mask is never empty, and a tune whose bar lengths do
not let a motif fit (a B part with a longer pickup than the A part's) is written freely.
"""

from __future__ import annotations

from musicgen.abc.lexer import lex_body
from musicgen.form.phrases import ECHO_BAR, ECHO_NOTES
from musicgen.grammar.state import BarLine, State
from musicgen.grammar.tokens import end_bar


class Motifs:
    """One tune's recorded bars and the motif being written (see the module docstring)."""

    __slots__ = ("body", "start", "line_at", "counters", "openings", "a_last", "forced")

    def __init__(self):
        self.body: list[str] = []
        self.start = 0  # where the bar being read began in `body`
        self.line_at = 0  # where the bar line being read began
        self.counters = (0, 0)  # (parts, bars_in_part) before that bar line
        self.openings: dict[int, str] = {}  # part -> the text of its bar 1
        self.a_last = ""  # the text of the A part's last bar
        self.forced = ""  # what is left to write of the motif

    def copy(self) -> Motifs:
        other = Motifs()
        for name in self.__slots__:
            setattr(other, name, getattr(self, name))
        other.body, other.openings = list(self.body), dict(self.openings)
        return other

    def next_char(self) -> str:
        """The character the motif writes next ("" for none)."""
        return self.forced[:1]

    def feed(self, tables, before: State, ch: str, after: State) -> None:
        """Follow `ch`, read from `before` to `after` (`tables`: the grammar's)."""
        self.forced = self.forced[1:] if self.forced[:1] == ch else ""
        in_bar, was_in_bar = type(after.lexeme) is BarLine, type(before.lexeme) is BarLine
        if in_bar and not was_in_bar:
            self.line_at = len(self.body)
            form = before.music.form
            self.counters = (form.parts, form.bars_in_part)
        self.body.append(ch)
        if was_in_bar and not in_bar:
            self._bar_read(after)
        if in_bar:
            self._maybe_force(tables, after)

    def _bar_read(self, after: State) -> None:
        """A bar line has ended: keep the bar's text if it is a part's bar 1 or the A part's
        last bar."""
        text = "".join(self.body[self.start : self.line_at]).replace("\n", "").strip()
        self.start = len(self.body) - 1  # the character just read begins the next bar
        parts, bars = self.counters
        form = after.music.form
        if form.parts == parts and bars == 0 and form.bars_in_part == 1:
            self.openings[parts] = text
        elif form.parts == parts + 1 and parts == 0:
            self.a_last = text

    def _maybe_force(self, tables, state: State) -> None:
        """In a bar line: if the bar after it is to repeat a motif that fits, set it."""
        if self.forced:
            return
        end = end_bar(tables.rules, state)
        if type(end) is not State:
            return
        form = end.music.form
        target = form.target
        part, bars = form.parts, form.bars_in_part
        if part >= len(target.repeats):
            return
        if target.rhyme and part == 1 and bars == target.bars - 1 and self.a_last:
            self.forced = _fits(tables, end, self.a_last, close=True)
        elif part < len(target.echoes) and target.echoes[part] and part in self.openings:
            if bars == ECHO_BAR - 1 and target.bars > ECHO_BAR:
                self.forced = _fits(tables, end, opening_notes(self.openings[part]))


def opening_notes(text: str, notes: int = ECHO_NOTES) -> str:
    """The text of `text` up to the end of its `notes`-th note (its length included)."""
    out, seen = [], 0
    for token in lex_body(text):
        out.append(token.text)
        seen += token.kind == "note"
        if seen == notes:
            break
    return "".join(out).strip() if seen == notes else ""


def _fits(tables, state: State, text: str, close: bool = False) -> str:
    """`text` if the automaton reads all of it from `state` (and, with `close`, can close
    the bar right after it), else ""."""
    node = tables.node(state)
    for ch in text:
        node = tables.advance(node, ch)
        if node is None:
            return ""
    if close and tables.advance(node, ":") is None and tables.advance(node, "|") is None:
        return ""
    return text
