"""Per-vocabulary tables and the memo of states: masks and transitions, computed once.

A `GrammarTables` (one per vocabulary and policy, shared by every grammar over it)
memoizes, for each `State` reached, a `Node`: its mask and the nodes each character fed
so far leads to.  After warm-up, `AbcGrammar.feed` + `allowed_mask` are two look-ups.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

import numpy as np

from musicgen.abc.vocab import EOS
from musicgen.errors import GrammarError
from musicgen.grammar.checker import bar_view, note_values
from musicgen.grammar.formrules import view as form_view
from musicgen.grammar.policy import LENIENT, STRICT, Policy
from musicgen.grammar.state import START, BarLine, Between, Length, State
from musicgen.grammar.syntax import Refusal, Rules, step
from musicgen.grammar.tokens import end_bar, end_length, extend_bar
from musicgen.grammar.words import NOTES, Words, prefixes

MAX_STATES = 100_000  # memo size at which it starts afresh (~100 MB at worst)


class Node:
    """A memoized state: its mask and the nodes reached by each character fed so far."""

    __slots__ = ("state", "mask", "next")

    def __init__(self, state: State):
        self.state = state
        self.mask: np.ndarray | None = None
        self.next: dict[str, Node | None] = {}  # None: the character is refused


class GrammarTables:
    """Everything precomputed for one vocabulary and policy, and the memo of states.

    Build it once per vocabulary (`GrammarTables.get` caches them) and pass it to many
    `AbcGrammar`s: they share the memo, so each new tune starts warm.
    """

    def __init__(self, chars: Sequence[str], policy: Policy = STRICT):
        self.chars = tuple(chars)
        self.policy = policy
        alphabet = frozenset(c for c in self.chars if len(c) == 1)
        self.words = Words.build(alphabet, policy.decorations)
        if policy.plan is not None:  # a planned form counts bars: no free meter
            meters = self.words.meters - {"none"}
            self.words = replace(self.words, meters=meters, meter_prefixes=prefixes(meters))
        missing = set("MLK:/|\n" + EOS) - alphabet
        if missing or not (self.words.meters and self.words.units and NOTES & alphabet):
            raise GrammarError(f"vocabulary cannot write a tune (missing {sorted(missing)!r})")
        self.rules = Rules.build(self.words, policy)
        self._nodes: dict[State, Node] = {}
        self._shared: dict[tuple, np.ndarray] = {}  # `_share_key` -> mask
        index = list(enumerate(self.chars))
        reach = self.words.reach
        # length suffix so far -> (id, reachable tick values) of each character extending it
        self._extend = {n: [(i, reach[n + c]) for i, c in index if n + c in reach] for n in reach}
        self._ids = {c: [i for i, d in index if d == c] for c in ",':"}

    @staticmethod
    @lru_cache(maxsize=8)
    def get(chars: tuple[str, ...], policy: Policy | bool = STRICT) -> GrammarTables:
        """The shared tables for a vocabulary (a tuple, so it can be cached) and policy
        (or ``True`` for `LENIENT`, ``False`` for `STRICT`, as before policies)."""
        if isinstance(policy, bool):
            policy = LENIENT if policy else STRICT
        return GrammarTables(chars, policy)

    def node(self, state: State = START) -> Node:
        """The memo node of `state` (default: the start of a tune)."""
        node = self._nodes.get(state)
        if node is None:
            if len(self._nodes) >= MAX_STATES:
                # Bound memory (a wild sampler can wander far); live grammars keep their
                # own nodes, which are freed when they finish.
                self._nodes, self._shared = {}, {}
            node = self._nodes[state] = Node(state)
        return node

    def advance(self, node: Node, ch: str) -> Node | None:
        """The node after `ch`, or None if `ch` is not allowed (memoized)."""
        if ch in node.next:
            return node.next[ch]
        nxt = step(self.rules, node.state, ch)
        found = None if type(nxt) is Refusal else self.node(nxt)
        node.next[ch] = found
        return found

    def mask(self, node: Node) -> np.ndarray:
        """Which vocabulary ids may come next (read-only, shared: do not modify)."""
        if node.mask is None:
            mask = self._mask_of(node.state)
            mask.flags.writeable = False
            node.mask = mask
        return node.mask

    def _mask_of(self, state: State) -> np.ndarray:
        lexeme = state.lexeme
        if type(lexeme) is Length:
            mask = self._after(end_length(self.rules, state))
            values = note_values(state.music)
            for i, reach in self._extend[lexeme.suffix]:  # characters lengthening it
                mask[i] = reach & values != 0
            for i in self._ids.get(lexeme.octave_mark, ()):
                mask[i] = lexeme.marks < self.policy.octave_marks
            if lexeme.field_like:  # "A:" at a line start would be a field line
                mask[self._ids[":"]] = False
            return mask
        if type(lexeme) is BarLine:  # a character that does not extend it is read next
            mask = self._after(end_bar(self.rules, state))
            for i, c in enumerate(self.chars):
                if c in self.words.alphabet:
                    nxt = extend_bar(self.rules, state, c)
                    if nxt is not None:
                        mask[i] = type(nxt) is State
            return mask
        key = _share_key(state)
        mask = self._shared.get(key)
        if mask is None:
            rules = self.rules
            mask = np.array([type(step(rules, state, c)) is State for c in self.chars], bool)
            mask.flags.writeable = False
            self._shared[key] = mask
        return mask

    def _after(self, end: State | Refusal) -> np.ndarray:
        """A writable copy of the mask once a token ends (all False if it cannot)."""
        if type(end) is Refusal:
            return np.zeros(len(self.chars), dtype=bool)
        return self.mask(self.node(end)).copy()

    def why(self, node: Node, ch: str) -> str:
        """Why `ch` is refused at `node`, and what would have been allowed."""
        nxt = step(self.rules, node.state, ch)
        reason = nxt.reason if type(nxt) is Refusal else "not allowed here"
        allowed = "".join(
            c for c in sorted(self.words.alphabet) if type(step(self.rules, node.state, c)) is State
        )
        return f"{ch!r}: {reason}; expected one of {allowed!r}"


def _share_key(state: State) -> tuple:
    """States with equal keys have equal masks: all but the bar's exact ticks
    (`checker.bar_view`).  Length and bar-line states are not shared (see `_mask_of`)."""
    lexeme, music = state.lexeme, state.music
    partner = 0
    if type(lexeme) is Between:
        lexeme, partner = lexeme.after, lexeme.partner
    view = bar_view(music, partner)
    return (lexeme, view, music.rhythm, music.section, form_view(music))
