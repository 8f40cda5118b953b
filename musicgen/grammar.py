"""ABC-constrained decoding: an incremental state machine over canonical tune text.

The sampler writes a tune one character at a time.  Before each step it asks an
`AbcGrammar` which characters keep the tune well-formed (`allowed_mask`) and masks the
others' logits; after sampling it `feed`s the chosen one.  So every sampled tune parses,
and every bar has the length its meter asks for.

The text followed is what the model learns after its start marker: ``Tune.text()``
(exactly an ``M:``, an ``L:`` and a ``K:`` line, then the body) and then `EOS`.

Bars: durations are counted in ticks of 1/8 of the unit length ``L:`` (the shortest
length accepted, ``A/8``), so any gap left in a bar can always be filled and no state is
a dead end.  A bar line needs an exactly full bar, except that the first bar of a
section (tune start, or after ``:|``, ``|]``, ``||``, ``|:``...) may be a short pickup,
and a bar closed by a section end (``:|``, ``|]``, ``||``, ``::``) may be short: the
pickup's other half, or a first/second ending.  ``M:none`` switches the checks off.
Notes of a tuplet, and the two notes of a broken rhythm (``A>B``), must have equal
written lengths, as abc2midi demands, so a tuplet ``(p`` of notes of length w lasts
q*w and a broken pair lasts exactly its written lengths.

Speed: a state is a small immutable tuple; `GrammarTables` (one per vocabulary, shared
by all grammars over it) memoizes each state's mask and the transitions taken from it,
so after warm-up `feed` + `allowed_mask` are two look-ups.  Masks are also shared
between states that differ only in how full the bar is, which keeps cold states cheap.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from functools import lru_cache
from typing import NamedTuple

import numpy as np

from musicgen.errors import GrammarError
from musicgen.theory import MODE_NAMES, meter_fraction
from musicgen.vocab import EOS

__all__ = ["EOS", "AbcGrammar", "GrammarTables", "accepts", "first_error"]

TICKS = 8  # ticks per unit length L: the shortest note written is L/8 (``A/8``)
# Meters a folk tune uses; M:1/8 or M:13/16 would be legal ABC but, sampled, mean nonsense.
_METERS = frozenset("C C| none 2/2 3/2 4/2 2/4 3/4 4/4 5/4 6/4 3/8 5/8 6/8 7/8 9/8 12/8".split())
_MODES = MODE_NAMES  # the table lives in musicgen.theory
# K: values: a tonic, then nothing, "m", a mode name after a space, or its 3-letter form.
_KEYS = frozenset(
    tonic + mode
    for tonic in (n + a for n in "ABCDEFG" for a in ("", "#", "b"))
    for mode in ("", "m", *(" " + m for m in _MODES), *(m[:3].lower() for m in _MODES))
)
_UNITS = frozenset(f"1/{d}" for d in (2, 4, 8, 16, 32))  # not 1/1: M:3/16 would be 1.5 ticks
_BARS = frozenset("| || |] [| |: ||: [|: :| :|| :|] :: :|: :||:".split())
# A bar closed by one of these may be short (end of a section, an ending's last bar).
_CLOSERS = frozenset(b for b in _BARS if ":|" in b or "||" in b or "|]" in b or b == "::")
_TUPLETS = {"2": 3, "3": 2, "4": 3}  # (p: p notes in the time of q (ABC 2.1)
_ENDINGS = "1234"
_NOTES = frozenset("ABCDEFGabcdefg")
_RESTS = frozenset("zx")
_ACCIDENTALS = frozenset("^_=")
_MAX_CHORD = 4  # notes in a [chord]: a fiddle plays at most a double stop; cap it
_MAX_TEXT = 64  # longest key, field or guitar-chord text: keeps the state space finite
_NEED_NOTE = frozenset({"gch", "gsp", "dec", "tup", "slur"})  # a note must come next
_ASCII = frozenset(string.printable) - set("\t\r\x0b\x0c") | {EOS}


def _length_suffixes() -> dict[str, int]:
    """Every note-length suffix accepted, with its value in ticks.

    Whole multiples (``2``, ``12``), dotted halves of odd numbers (``3/2``, ``3/``), and
    halvings of one unit (``/``, ``//``, ``///``, ``/2``, ``/4``, ``/8``): the forms folk
    tunes use.  Leaving out ``5/8`` and the like keeps a digit that would overflow the
    bar masked, while a gap of any number of ticks can still be filled.
    """
    out = {}
    for n in range(1, 100):
        out[str(n)] = n * TICKS
        if n % 2:
            out[f"{n}/"] = out[f"{n}/2"] = n * TICKS // 2
    for den, div in (("", 1), ("/", 2), ("//", 4), ("///", 8), ("/2", 2), ("/4", 4), ("/8", 8)):
        out[den] = TICKS // div
    return out


def _prefixes(words) -> dict[str, list[str]]:
    """Each prefix of `words` mapped to the words it can still become."""
    out: dict[str, list[str]] = {}
    for word in words:
        for i in range(len(word) + 1):
            out.setdefault(word[:i], []).append(word)
    return out


class _S(NamedTuple):
    """One grammar state; every field is needed to decide what may come next."""

    mode: str  # lexical mode: H(eader) B(ody) BAR LBR PAR BRK ACC LEN CH GCH BANG FLD DONE
    arg: object  # the mode's detail: partial text, previous token kind, length suffix...
    cur: int = 0  # ticks in the current bar so far
    bar: int = 0  # ticks in a full bar; 0 = free meter
    ld: int = 8  # L: is 1/ld, to turn an M: change into ticks
    sect: bool = True  # the current bar starts a section, so it may be a short pickup
    closed: bool = False  # the last token closed a bar: the tune may end here
    tup: tuple[int, int] | None = None  # (notes left, q) inside a tuplet
    force: int = 0  # written length the next note must have (tuplet, broken rhythm)
    slur: int = 0  # 1 while a slur is open (they do not nest)
    chord: tuple[int, int] | None = None  # (notes so far, their length) inside [...]
    pick: int = 0  # ticks written in the current section's pickup (0: it began on a full bar)
    cin: int = 0  # ticks carried into this bar from a short bar before a section break
    loose: bool = False  # the section began at || or |]: abc2midi pairs no pickup with it
    rep: bool = False  # a |: is open: the tune may not end before its :|
    after: int = 0  # 2: just after :|, 1: in a section begun by :| (no [1 endings there)
    e1: bool = False  # inside a first ending: a second one must come before the end
    seen: bool = False  # a :| came before: || and |] then start a fresh repeat (pick 0)
    fin: bool = False  # (strict) a short bar closed by || or |]: only the end may follow
    started: bool = False  # a bar line has been written: (strict) no pickup any more


_START = _S("H", (0, "", ""))
_MAX_STATES = 100_000  # memo size at which it starts afresh (~100 MB at worst)


class _Node:
    """A memoized state: its mask and the nodes reached by each character fed so far."""

    __slots__ = ("state", "mask", "next")

    def __init__(self, state: _S):
        self.state = state
        self.mask: np.ndarray | None = None
        self.next: dict[str, _Node | bool] = {}  # False: the character is refused


class _Reject(Exception):
    """Raised inside the state machine; becomes a GrammarError with position."""


class GrammarTables:
    """Everything precomputed for one vocabulary, and the memo of states seen so far.

    Build it once per vocabulary (`GrammarTables.get` caches them) and pass it to many
    `AbcGrammar`s: they share the memo, so each new tune starts warm.  ``lenient=True``
    also accepts what abc2midi silently tolerates but the sampler should never write:
    text after the meter of a body ``M:`` line, and the non-standard ``s`` mark.
    """

    def __init__(self, chars: Sequence[str], lenient: bool = False):
        self.chars = tuple(chars)
        self.lenient = lenient
        alpha = self.alphabet = frozenset(c for c in self.chars if len(c) == 1)
        ok = alpha.issuperset
        self._suffix = {s: v for s, v in _length_suffixes().items() if ok(s)}
        self._reach: dict[str, int] = {}  # suffix prefix -> bitmask of reachable values
        for suffix, value in self._suffix.items():
            for i in range(len(suffix) + 1):
                self._reach[suffix[:i]] = self._reach.get(suffix[:i], 0) | 1 << value
        self._meters = {m for m in _METERS if ok(m)}
        self._meter_pre = _prefixes(self._meters)
        self._units = {u for u in _UNITS if ok(u)}
        self._keys = {k for k in _KEYS if ok(k)}
        self._key_pre = _prefixes(self._keys)
        self._unit_pre = _prefixes(self._units)
        self._bar_pre = _prefixes(b for b in _BARS if ok(b))
        self._decorations = set("~.HTuv" + "s" * lenient) & alpha
        self._openers = [c for c in _ENDINGS + "|KM" + "".join(_TUPLETS) if c in alpha]
        self._openers += sorted(_NOTES & alpha)[:1]
        missing = set("MLK:/|\n" + EOS) - alpha
        if missing or not (self._meters and self._units and _NOTES & alpha):
            raise GrammarError(f"vocabulary cannot write a tune (missing {sorted(missing)!r})")
        modes = "H B BAR LBR PAR BRK ACC LEN CH GCH BANG FLD DONE".split()
        self._modes = {m: getattr(self, "_" + m.lower()) for m in modes}
        self._nodes: dict[_S, _Node] = {}
        self._by_key: dict[tuple, np.ndarray] = {}
        index = list(enumerate(self.chars))
        # suffix so far -> (vocabulary id, reachable values) of each character extending it
        self._extend = {
            n: [(i, self._reach[n + c]) for i, c in index if n + c in self._reach]
            for n in self._reach
        }
        self._ids = {c: [i for i, d in index if d == c] for c in ",'"}

    @staticmethod
    @lru_cache(maxsize=8)
    def get(chars: tuple[str, ...], lenient: bool = False) -> GrammarTables:
        """The shared tables for a vocabulary (a tuple, so it can be cached)."""
        return GrammarTables(chars, lenient)

    # -- memo ---------------------------------------------------------------------
    def node(self, state: _S | None = None) -> _Node:
        """The memo node of `state` (default: the start of a tune)."""
        state = state or _START
        node = self._nodes.get(state)
        if node is None:
            if len(self._nodes) >= _MAX_STATES:
                # Bound memory (a wild sampler can wander far); live grammars keep their
                # own nodes, which are freed when they finish.
                self._nodes, self._by_key = {}, {}
            node = self._nodes[state] = _Node(state)
        return node

    def advance(self, node: _Node, ch: str) -> _Node | None:
        """The node after `ch`, or None if `ch` is not allowed (memoized)."""
        nxt = node.next.get(ch)
        if nxt is None:
            try:
                nxt = self.node(self._step(node.state, ch))
            except _Reject:
                nxt = False
            node.next[ch] = nxt
        return nxt or None

    def mask(self, node: _Node) -> np.ndarray:
        """Which vocabulary ids may come next (read-only, shared: do not modify)."""
        if node.mask is None:
            node.mask = self._mask_of(node.state)
        return node.mask

    def _mask_of(self, s: _S) -> np.ndarray:
        if s.mode == "LEN":
            return self._len_mask(s)
        # States differing only in how far the bar has got mostly allow the same
        # characters: the key keeps just what the rules look at (LEN aside): every field
        # from `sect` on (s[5:]), and of the bar only whether it is empty, full or has
        # room for a note, a tuplet, or the partner of a broken rhythm.
        room = s.bar - s.cur
        p = s.arg
        if type(p) is tuple and p[0] == "el":  # may a broken-rhythm partner still fit?
            p = (s.bar == 0 or room >= p[1]) and p[1] > 0
        key = (
            s.mode,
            p,
            s[5:],
            s.bar == 0,
            s.cur == s.cin,
            min(room, 4) if s.bar else 4,
            room == s.pick,
            2 * s.cur <= s.bar,  # (strict) a pickup is at most half a bar
        )
        mask = self._by_key.get(key)
        if mask is None:
            if s.mode == "BAR":  # a character that does not extend the bar line is read next
                mask = self._after(self._bar_end, s)
                for i, c in enumerate(self.chars):
                    try:
                        if c in self.alphabet and self._bar_more(s, c) is not None:
                            mask[i] = True
                    except _Reject:
                        mask[i] = False
            else:
                mask = np.array([self._ok(s, c) for c in self.chars], dtype=bool)
            mask.flags.writeable = False
            self._by_key[key] = mask
        return mask

    def _len_mask(self, s: _S) -> np.ndarray:
        node, octave, marks = s.arg
        mask = self._after(self._len_end, s)
        values = self._values(s)
        for i, reach in self._extend[node]:  # the characters that lengthen the suffix
            mask[i] = reach & values != 0
        for i in self._ids.get(octave, ()):
            mask[i] = marks < 4
        mask.flags.writeable = False
        return mask

    def _after(self, end, s: _S) -> np.ndarray:
        """A writable copy of the mask once the token in `s` ends (all False if it can't)."""
        try:
            return self._mask_of(end(s)).copy()
        except _Reject:
            return np.zeros(len(self.chars), dtype=bool)

    def _ok(self, state: _S, ch: str) -> bool:
        try:
            self._step(state, ch)
        except _Reject:
            return False
        return True

    def why(self, node: _Node, ch: str) -> str:
        """Why `ch` is refused at `node`, and what would have been allowed."""
        try:
            self._step(node.state, ch)
            reason = "not allowed here"
        except _Reject as exc:
            reason = str(exc)
        allowed = "".join(c for c in sorted(self.alphabet) if self._ok(node.state, c))
        return f"{ch!r}: {reason}; expected one of {allowed!r}"

    # -- the state machine ----------------------------------------------------------
    def _step(self, s: _S, ch: str) -> _S:
        if ch not in self.alphabet:
            raise _Reject("not in the vocabulary")
        return self._modes[s.mode](s, ch)

    def _alive(self, s: _S) -> bool:
        # For '[' and '(', which open several constructs: can any of them go on?  One
        # note letter stands for all (they behave alike there), which keeps this cheap.
        return any(self._ok(s, c) for c in self._openers)

    def _h(self, s: _S, ch: str) -> _S:
        idx, text, meter = s.arg
        name = "MLK"[idx]
        if len(text) < 2:
            if ch != (name + ":")[len(text)]:
                raise _Reject(f"the header is M:, L:, K: in that order; expected {name}:")
            return s._replace(arg=(idx, text + ch, meter))
        value = text[2:]
        if ch == "\n":
            if idx == 0 and value in self._meters:
                return s._replace(arg=(1, "", value))
            if idx == 1 and value in self._units:
                ld = int(value[2:])
                return s._replace(arg=(2, "", ""), bar=_ticks(meter, ld), ld=ld)
            if idx == 2 and value in self._keys:
                return s._replace(mode="B", arg="ls")
            raise _Reject(f"{name}:{value} is not a valid {name}: value")
        if value + ch in (self._meter_pre, self._unit_pre, self._key_pre)[idx]:
            return s._replace(arg=(idx, text + ch, meter))
        raise _Reject(f"cannot continue the {name}: value {value!r}")

    def _b(self, s: _S, ch: str) -> _S:
        """Between tokens of the body; ``s.arg`` says what came before."""
        p = s.arg
        if s.fin and (ch not in ("\n", EOS) or p == "ls" and ch == "\n"):
            raise _Reject("a short bar before || or |] ends the tune")
        if ch == " ":
            if p == "gch":
                return s._replace(arg="gsp")
            if p in ("ls", "sp") or p in _NEED_NOTE:
                raise _Reject("no leading, double or dangling space")
            return s._replace(arg="sp")
        if s.e1 and s.after == 2 and p == "bar" and ch not in "2[" and not self.lenient:
            raise _Reject("the first ending's :| must be followed by the second ending, 2")
        if ch in _ENDINGS and p == "bar" and s.closed and self._ending_ok(s, ch):  # |1, :|2
            return s._replace(
                arg="endm", sect=False, closed=False, cur=0, cin=0, after=0, e1=ch == "1"
            )
        if isinstance(p, tuple):  # right after a note, rest or chord
            if ch == "-" and self.lenient:  # strict: abc2midi fails on a tie to another
                return s._replace(arg="tie")  # pitch, and the corpus hardly ties at all
            if ch in "<>":
                w = p[1]
                if w and s.tup is None and (s.bar == 0 or s.cur + w <= s.bar):
                    return s._replace(mode="BRK", arg=(ch, 1), force=w)
                raise _Reject("broken rhythm needs two plain notes, both inside the bar")
            if ch == ")" and s.slur:
                return s._replace(arg=("el", 0), slur=s.slur - 1)
        if ch == "\n":
            if p in ("ls", "sp", "endm") or p in _NEED_NOTE or s.tup:
                raise _Reject("a line cannot end here (empty line, open tuplet, dangling mark)")
            return s._replace(arg="ls")
        if ch == EOS:
            if s.closed and p in ("bar", "ls") and not (s.slur or s.rep or s.e1):
                return s._replace(mode="DONE", arg=None)
            raise _Reject("the tune may end only after a complete final bar")
        if ch == "[" or (ch == "(" and p != "tup"):
            nxt = s._replace(mode="LBR" if ch == "[" else "PAR", arg=p)
            if self._alive(nxt):
                return nxt
            raise _Reject("nothing can follow it here")
        if p not in _NEED_NOTE and p != "endm" and not s.tup:
            if ch in "|:":
                return self._bar(s._replace(mode="BAR", arg=("", p == "ls")), ch)
            if p == "ls" and s.cur == s.cin and ch in "MK":
                return s._replace(mode="FLD", arg=(ch, None, None))
        return self._start(s, ch)

    def _start(self, s: _S, ch: str) -> _S:
        """Begin a note, rest, decoration or guitar chord (which must carry a note)."""
        k = s.tup[1] if s.tup else 1
        if not (s.force or s.bar == 0 or s.bar - s.cur >= k):
            raise _Reject("the bar is full: a bar line must come next")
        s = s._replace(closed=False)
        if ch in _NOTES or ch in _ACCIDENTALS:
            return _note(s, ch)
        if ch in _RESTS:
            return s._replace(mode="LEN", arg=("", "", 0))
        if ch in self._decorations:
            return s._replace(mode="B", arg="dec")
        if ch == "!":
            return s._replace(mode="BANG", arg=0)
        if ch == '"' and self.lenient:  # strict: the corpus quotes only 4 annotations
            return s._replace(mode="GCH", arg=0)
        raise _Reject("expected a note, rest, bar line or other ABC symbol")

    # LEN and BAR read a token of several characters.  `_x_more` takes a character that
    # extends the token (None: it ends it); `_x_end` is the state once the token ends,
    # where that character is read again.  The split lets masks reuse the next state's.
    def _bar(self, s: _S, ch: str) -> _S:
        nxt = self._bar_more(s, ch)
        return nxt if nxt is not None else self._step(self._bar_end(s), ch)

    def _bar_more(self, s: _S, ch: str) -> _S | None:
        """Inside a bar-line token; ``arg`` is (text so far, bar began at a line start)."""
        text, at_ls = s.arg
        tokens = self._bar_pre.get(text + ch)
        if tokens is None:
            return None
        if any(self._bar_ok(s, tok, at_ls) for tok in tokens):
            return s._replace(arg=(text + ch, at_ls))
        raise _Reject(_bar_problem(s))

    def _bar_end(self, s: _S) -> _S:
        text, at_ls = s.arg
        if text not in _BARS or not self._bar_ok(s, text, at_ls):
            raise _Reject(_bar_problem(s))
        opens = text in _CLOSERS or text[-1] == ":" or text[0] == "["
        written = s.cur > s.cin
        closed = (written or s.closed) and text[-1] != ":" and text[0] != "["
        sect = opens or (s.sect and not written)
        pick = s.pick
        if s.sect and written and (s.cin or not s.loose):  # a repeat's first bar: its pickup
            full = s.bar == 0 or s.cur == s.bar
            pick = s.cur - s.cin if (s.cin or not full) else 0
        # A short bar before a section break runs on into the next bar, as abc2midi counts.
        carry = s.cur if written and s.bar and s.cur < s.bar and text in _CLOSERS else 0
        loose = text in ("||", "|]") or (s.loose and ":" not in text)
        if text in ("||", "|]") and s.seen:
            pick = 0  # abc2midi repeats from here, not from the tune's pickup
        rep = text[-1] == ":" or (s.rep and text[0] != ":")
        if text == ":|":
            after = 2  # an ending digit may follow; otherwise a section without |:
        elif text[0] == ":" and text[-1] != ":":
            after = 1  # :|| :|] - a section without |: follows
        elif text in _CLOSERS or text[-1] == ":":
            after = 0
        else:
            after = 1 if s.after else 0
        return s._replace(
            mode="B",
            arg="bar",
            cur=carry,
            cin=carry,
            sect=sect,
            closed=closed,
            pick=pick,
            loose=loose,
            rep=rep,
            after=after,
            seen=s.seen or text[0] == ":",
            fin=bool(carry) and text in ("||", "|]") and not self.lenient,
            started=True,
        )

    def _ending_ok(self, s: _S, ch: str) -> bool:
        """May ending `ch` start here?  Strict mode (the sampler's) keeps to the form
        abc2midi reads without error: ``|1 ... :|2``, and no first ending in a part begun
        by a bare ``:|`` (no ``|:``)."""
        if self.lenient:
            return True
        if ch == "1":  # after an earlier :|, abc2midi wants a |: before a first ending
            return s.after != 1 and (s.rep or not s.seen) and not s.e1
        return s.after == 2 and s.e1

    def _bar_ok(self, s: _S, tok: str, at_ls: bool) -> bool:
        """May bar line `tok` end the bar here?  Bar lengths follow abc2midi's checks.

        A full bar may always end.  A short one may be: a pickup opening a section; the
        closing bar of a repeat (``:|``), which must make a full bar with the section's
        pickup; or a bar before ``||`` or ``|]``, which the next bar must complete.
        """
        if s.cur == s.cin:  # an empty bar: only a line-initial | continuing the last one
            return at_ls and not s.cin
        if s.e1 and tok in _CLOSERS and tok != ":|" and not self.lenient:
            return False  # the first ending closes with a plain :| and the second follows
        if tok[0] == ":" and s.pick and s.bar:
            # :| :|| :|] :: - the closing bar is the other half of the section's pickup
            return s.cur == s.bar - s.pick and not s.cin
        if s.bar == 0 or s.cur == s.bar:
            return True
        if tok[0] == ":":
            return s.loose and self.lenient and not s.cin
        pickup_ok = self.lenient or (not s.started and 2 * s.cur <= s.bar)
        if s.sect and not s.cin and tok not in _CLOSERS and pickup_ok:
            # A pickup.  abc2midi only forgives one at the start of the tune; later parts
            # begin by completing the short closing bar of the part before.
            return True
        # A short bar before || or |]: in strict mode the tune must then end, so only
        # where it may end (no open slur, repeat or first ending).
        may_end = self.lenient or not (s.slur or s.rep or s.e1)
        return tok in ("||", "|]") and not s.cin and may_end

    def _lbr(self, s: _S, ch: str) -> _S:
        """After ``[``: an ending ``[1``, a bar ``[|``, a field ``[K:..]`` or a chord."""
        p = s.arg
        s = s._replace(mode="B")
        if s.e1 and s.after == 2 and p == "bar" and ch != "2" and not self.lenient:
            raise _Reject("the first ending's :| must be followed by the second ending, [2")
        ok = ch in _ENDINGS and self._ending_ok(s, ch)
        if ok and s.cur == s.cin and s.closed and p in ("bar", "ls"):
            return s._replace(
                arg="endm", sect=False, closed=False, cur=0, cin=0, after=0, e1=ch == "1"
            )
        if p not in _NEED_NOTE and p != "endm" and not s.tup:
            # [| : none in the corpus, and abc2midi misreads a pickup's repeat after it.
            if ch == "|" and self.lenient:
                return self._bar(s._replace(mode="BAR", arg=("[", p == "ls")), ch)
            # Inline [K:] [M:] fields: none in the corpus, so strict mode writes none.
            if ch in "KM" and "]" in self.alphabet and (ch == "K" or s.cur == 0) and self.lenient:
                return s._replace(mode="FLD", arg=(ch, None, p))
        # Chords: the bundled corpus has none, so strict mode (the sampler's) writes none.
        if (ch in _NOTES or ch in _ACCIDENTALS) and "]" in self.alphabet and self.lenient:
            return self._start(s._replace(chord=(0, 0)), ch)
        raise _Reject("expected an ending number, a chord, | or an inline field after [")

    def _par(self, s: _S, ch: str) -> _S:
        """After ``(``: a tuplet ``(3`` or the start of a slur."""
        q = _TUPLETS.get(ch)
        if q:
            if s.tup or s.force or not (s.bar == 0 or s.bar - s.cur >= q):
                raise _Reject("no room for a tuplet here")
            return s._replace(mode="B", arg="tup", tup=(int(ch), q), closed=False)
        if s.slur or ch in "()":  # abc2midi warns about a slur within a slur
            raise _Reject("slurs do not nest")
        if not self.lenient:  # the corpus has no slurs; an unclosed one would block the end
            raise _Reject("strict mode writes no slurs")
        return self._b(s._replace(mode="B", arg="slur", slur=s.slur + 1), ch)

    def _brk(self, s: _S, ch: str) -> _S:
        sym, n = s.arg
        if ch == sym and n < 2:
            return s._replace(arg=(sym, n + 1))
        if ch in _NOTES or ch in _ACCIDENTALS:
            return _note(s._replace(closed=False), ch)
        if ch in _RESTS:
            return s._replace(mode="LEN", arg=("", "", 0))
        raise _Reject("broken rhythm must be followed by a note")

    def _acc(self, s: _S, ch: str) -> _S:
        if ch == s.arg and ch in "^_":  # ^^ and __ (arg is still one character)
            return s._replace(arg=ch * 2)
        if ch in _NOTES:
            return _note(s, ch)
        raise _Reject("an accidental must be followed by a note letter")

    def _len(self, s: _S, ch: str) -> _S:
        nxt = self._len_more(s, ch)
        return nxt if nxt is not None else self._step(self._len_end(s), ch)

    def _len_more(self, s: _S, ch: str) -> _S | None:
        """After a note or rest; ``arg`` is (length suffix so far, octave mark, marks)."""
        node, octave, marks = s.arg
        if ch == octave and marks < 4:
            return s._replace(arg=(node, octave, marks + 1))
        reach = self._reach.get(node + ch)
        if reach is None:
            return None
        if reach & self._values(s):
            return s._replace(arg=(node + ch, "", 0))
        raise _Reject(_bar_problem(s) if not s.force else "length must match its partner")

    def _len_end(self, s: _S) -> _S:
        value = self._suffix[s.arg[0]]
        if not self._values(s) >> value & 1:
            raise _Reject(_bar_problem(s) if not s.force else "length must match its partner")
        return _finish(s, value)

    @staticmethod
    def _values(s: _S) -> int:
        """Bitmask of the written lengths (ticks) the current note may have."""
        if s.force:
            fit = 1 << s.force
        elif s.bar == 0:
            fit = -1
        else:  # a tuplet's first note pays for the whole tuplet: q times its length
            fit = (1 << (s.bar - s.cur) // (s.tup[1] if s.tup else 1) + 1) - 1
        if s.chord is None:
            return fit
        if s.chord[1]:  # later chord notes match the first
            return 1 << s.chord[1]
        return fit | 1 << TICKS  # a plain first note defers the length to after ']'

    def _ch(self, s: _S, ch: str) -> _S:
        n, w = s.chord
        if ch == "]" and n:
            s = s._replace(chord=None)
            return s._replace(mode="LEN", arg=("", "", 0)) if w == TICKS else _finish(s, w)
        if (ch in _NOTES or ch in _ACCIDENTALS) and n < _MAX_CHORD:
            return _note(s, ch)
        raise _Reject(f"expected a note or ] inside a chord (at most {_MAX_CHORD} notes)")

    def _gch(self, s: _S, ch: str) -> _S:
        if ch == '"' and s.arg:
            return s._replace(mode="B", arg="gch")
        if ch != '"' and ch.isprintable() and s.arg < _MAX_TEXT:
            return s._replace(arg=s.arg + 1)
        raise _Reject("a guitar chord is one line of text in double quotes")

    def _bang(self, s: _S, ch: str) -> _S:
        if ch == "!" and s.arg:
            return s._replace(mode="B", arg="dec")
        if (ch.isalnum() or ch in "+-<>().") and s.arg < _MAX_TEXT:
            return s._replace(arg=s.arg + 1)
        raise _Reject("a !decoration! is a short name between ! marks")

    def _fld(self, s: _S, ch: str) -> _S:
        """A body field line ``M:3/4`` / ``K:G`` or an inline ``[M:3/4]`` (p not None)."""
        name, text, p = s.arg
        if text is None:
            if ch == ":":
                return s._replace(arg=(name, "", p))
            raise _Reject(f"expected ':' after {name}")
        meter = text.split(" ")[0]
        if ch == ("\n" if p is None else "]"):
            back = s._replace(mode="B", arg="ls" if p is None else p)
            if name == "K" and text in self._keys:
                return back
            if name == "M" and meter in self._meters:
                return back._replace(bar=_ticks(meter, s.ld))
        elif name == "K":
            if text + ch in self._key_pre:
                return s._replace(arg=(name, text + ch, p))
        elif " " in text:  # (lenient) free text after the meter
            if ch.isprintable() and ch != "]" and len(text) < 5 * _MAX_TEXT:
                return s._replace(arg=(name, text + ".", p))
        elif text + ch in self._meter_pre:
            return s._replace(arg=(name, text + ch, p))
        elif ch == " " and self.lenient and p is None and text in self._meters:
            return s._replace(arg=(name, text + ch, p))
        raise _Reject(f"not a valid {name}: field")

    def _done(self, s: _S, ch: str) -> _S:
        raise _Reject("the tune has already ended")


def _note(s: _S, ch: str) -> _S:
    if ch in _ACCIDENTALS:
        return s._replace(mode="ACC", arg=ch)
    # Octave marks: "," lowers an upper-case note, "'" raises a lower-case one.
    return s._replace(mode="LEN", arg=("", "," if ch.isupper() else "'", 0))


def _finish(s: _S, w: int) -> _S:
    """Account for a complete note, rest or chord of written length `w` ticks."""
    if s.chord is not None:
        n, first = s.chord
        return s._replace(mode="CH", arg=None, chord=(n + 1, first or w))
    if s.tup:  # the first note paid for the whole tuplet; the others must match it
        left, q = s.tup
        cur = s.cur if s.force else s.cur + q * w
        if left > 1:
            return s._replace(mode="B", arg=("el", 0), cur=cur, tup=(left - 1, q), force=w)
        return s._replace(mode="B", arg=("el", 0), cur=cur, tup=None, force=0)
    # After a broken pair's second note (force set) no further broken rhythm may follow.
    return s._replace(mode="B", arg=("el", 0 if s.force else w), cur=s.cur + w, force=0)


def _ticks(meter: str, ld: int) -> int:
    """Ticks in a bar of `meter` when L: is 1/ld; 0 for free meter."""
    value = meter_fraction(meter)
    return 0 if value is None else int(value * ld * TICKS)


def _bar_problem(s: _S) -> str:
    return f"bar holds {s.cur}/{s.bar} ticks (1 tick = L/{TICKS})"


class AbcGrammar:
    """One tune's incremental ABC state: which characters may come next.

    ``AbcGrammar(chars)`` takes the model's vocabulary in id order (BOS, EOS and any
    other characters); the precomputed tables and memo are shared by every grammar over
    the same vocabulary, so building one per tune is cheap (a tuple hash).  Pass a
    `GrammarTables` instead of `chars` to skip even that.
    """

    __slots__ = ("_t", "_node", "_line", "_col")

    def __init__(self, chars: Sequence[str] | GrammarTables, *, lenient: bool = False):
        if isinstance(chars, GrammarTables):
            self._t = chars
        else:
            self._t = GrammarTables.get(tuple(chars), lenient)
        self._node = self._t.node()
        self._line, self._col = 1, 0

    def allowed_mask(self) -> np.ndarray:
        """Bool array over the vocabulary: the characters that keep the tune well-formed.

        The array is shared and read-only; it is never all-False before `done`.
        """
        node = self._node
        return node.mask if node.mask is not None else self._t.mask(node)

    def feed(self, ch: str) -> None:
        """Advance by one character; `GrammarError` if `ch` is not allowed here."""
        nxt = self._node.next.get(ch) or self._t.advance(self._node, ch)
        if nxt is None:
            where = f"line {self._line}, column {self._col + 1}"
            raise GrammarError(f"{where}: {self._t.why(self._node, ch)}")
        self._node = nxt
        if ch == "\n":
            self._line, self._col = self._line + 1, 0
        else:
            self._col += 1

    def feed_text(self, text: str) -> None:
        """Feed every character of `text` in turn."""
        for ch in text:
            self.feed(ch)

    @property
    def done(self) -> bool:
        """True once EOS has been fed."""
        return self._node.state.mode == "DONE"

    def copy(self) -> AbcGrammar:
        """An independent grammar in the same state (e.g. after a shared primer)."""
        other = AbcGrammar(self._t)
        other._node, other._line, other._col = self._node, self._line, self._col
        return other


def first_error(text: str, *, lenient: bool = False) -> str | None:
    """The first grammar error of a canonical tune text (EOS appended if missing)."""
    if not text.endswith(EOS):
        text += EOS
    grammar = AbcGrammar(GrammarTables.get(tuple(sorted(_ASCII | set(text))), lenient))
    try:
        grammar.feed_text(text)
    except GrammarError as exc:
        return str(exc)
    return None


def accepts(text: str, *, lenient: bool = False) -> bool:
    """True if a canonical tune text (``Tune.text()``, EOS optional) is well-formed."""
    return first_error(text, lenient=lenient) is None
