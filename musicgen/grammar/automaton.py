"""`AbcGrammar`: one tune's incremental state, and whole-text checks built on it."""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from musicgen.abc.vocab import EOS
from musicgen.errors import GrammarError
from musicgen.grammar.motifs import Motifs
from musicgen.grammar.policy import LENIENT, STRICT, Policy
from musicgen.grammar.state import Ended, Header, State
from musicgen.grammar.tables import GrammarTables

_ASCII = frozenset(string.printable) - set("\t\r\x0b\x0c") | {EOS}


class AbcGrammar:
    """One tune's incremental ABC state: which characters may come next.

    ``AbcGrammar(chars)`` takes the model's vocabulary in id order (BOS, EOS and any
    other characters); the precomputed tables and memo are shared by every grammar over
    the same vocabulary, so building one per tune is cheap (a tuple hash).  Pass a
    `GrammarTables` instead of `chars` to skip even that.  ``lenient=True`` (or
    ``policy=LENIENT``) checks what people write rather than what the sampler may write.

    With a ``Policy.plan`` (a `FormPlan`), the key is drawn from the plan's ``keys`` when
    the ``M:`` line ends, and the plan is resolved when the ``K:`` line ends, for the meter
    and key just read, drawing ``auto``'s form with `rng` (a numpy Generator: seed it per
    tune); from then on the tune follows that form.
    """

    __slots__ = ("_t", "_node", "_line", "_col", "_plan", "_rng", "_motifs")

    def __init__(
        self,
        chars: Sequence[str] | GrammarTables,
        *,
        lenient: bool = False,
        policy: Policy | None = None,
        rng=None,
    ):
        if isinstance(chars, GrammarTables):
            self._t = chars
        else:
            self._t = GrammarTables.get(tuple(chars), policy or _policy(lenient))
        self._node = self._t.node()
        self._line, self._col = 1, 0
        self._plan, self._rng = self._t.policy.plan, rng
        self._motifs: Motifs | None = None  # set when the plan resolves to rhymes or echoes

    def allowed_mask(self) -> np.ndarray:
        """Bool array over the vocabulary: the characters that keep the tune well-formed
        (only the next character of a motif being written, `Motifs`).

        The array is shared and read-only; it is never all-False before `done`.
        """
        node = self._node
        mask = node.mask if node.mask is not None else self._t.mask(node)
        if self._motifs is not None and self._motifs.forced:
            return self._motif_mask(mask)
        return mask

    def _motif_mask(self, mask: np.ndarray) -> np.ndarray:
        """`mask` cut to the motif's next character (if the automaton allows it)."""
        ch = self._motifs.next_char()
        only = np.zeros_like(mask)
        if ch in self._t.chars:
            i = self._t.chars.index(ch)
            only[i] = mask[i]
        if not only.any():  # cannot happen: the motif was checked whole; kept safe
            self._motifs.forced = ""
            return mask
        return only

    def feed(self, ch: str) -> None:
        """Advance by one character; `GrammarError` if `ch` is not allowed here."""
        nxt = self._node.next.get(ch) or self._t.advance(self._node, ch)
        if nxt is None:
            where = f"line {self._line}, column {self._col + 1}"
            raise GrammarError(f"{where}: {self._t.why(self._node, ch)}")
        if ch == "\n":
            if self._plan is not None and type(self._node.state.lexeme) is Header:
                nxt = self._planned(self._node.state.lexeme, nxt)
            self._line, self._col = self._line + 1, 0
        else:
            self._col += 1
        if self._motifs is not None:
            self._motifs.feed(self._t, self._node.state, ch, nxt.state)
        self._node = nxt

    def _planned(self, header: Header, nxt):
        """After the M: line: the node that allows only the drawn key (if the plan has
        keys); after the K: line: the node of the same state with the plan resolved."""
        state = nxt.state
        if header.field == 0 and self._plan.keys and not state.lexeme.key:
            key = self._plan.draw_key(header.text[2:], self._rng)
            if key not in self._t.words.keys:  # a key this vocabulary cannot spell
                return nxt
            return self._t.node(State(replace(state.lexeme, key=key), state.music))
        if header.field != 2 or state.music.form.target is not None:
            return nxt
        target = self._plan.resolve(header.meter, header.text[2:], self._rng)
        if target.rhyme or any(target.echoes):
            self._motifs = Motifs()
        music = replace(state.music, form=replace(state.music.form, target=target))
        return self._t.node(State(state.lexeme, music))

    def feed_text(self, text: str) -> None:
        """Feed every character of `text` in turn."""
        for ch in text:
            self.feed(ch)

    @property
    def done(self) -> bool:
        """True once EOS has been fed."""
        return type(self._node.state.lexeme) is Ended

    @property
    def state(self):
        """The current `State` (lexeme and music), e.g. to read the form counters."""
        return self._node.state

    def copy(self) -> AbcGrammar:
        """An independent grammar in the same state (e.g. after a shared primer)."""
        other = AbcGrammar(self._t, rng=self._rng)
        other._node, other._line, other._col = self._node, self._line, self._col
        other._motifs = None if self._motifs is None else self._motifs.copy()
        return other


def _policy(lenient: bool) -> Policy:
    return LENIENT if lenient else STRICT


def first_error(text: str, *, lenient: bool = False, policy: Policy | None = None) -> str | None:
    """The first grammar error of a canonical tune text (EOS appended if missing):
    ``"line 4, column 13: '{': why; expected one of ..."``, or None.

    `policy` (default: `LENIENT` if `lenient`, else `STRICT`) says what is allowed.
    """
    found = first_error_at(text, lenient=lenient, policy=policy)
    return None if found is None else f"line {found[0]}, column {found[1]}: {found[2]}"


def first_error_at(
    text: str, *, lenient: bool = False, policy: Policy | None = None
) -> tuple[int, int, str] | None:
    """The first grammar error as (line, column, why), both 1-based in `text`; or None."""
    if not text.endswith(EOS):
        text += EOS
    chars = tuple(sorted(_ASCII | set(text)))
    grammar = AbcGrammar(GrammarTables.get(chars, policy or _policy(lenient)))
    for ch in text:
        node = grammar._node
        try:
            grammar.feed(ch)
        except GrammarError:  # raised once, at the first error
            return grammar._line, grammar._col + 1, grammar._t.why(node, ch)
    return None


def accepts(text: str, *, lenient: bool = False, policy: Policy | None = None) -> bool:
    """True if a canonical tune text (``Tune.text()``, EOS optional) is well-formed."""
    return first_error(text, lenient=lenient, policy=policy) is None
