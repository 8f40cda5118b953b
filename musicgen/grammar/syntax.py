"""The character-level automaton between tokens: which token may start, and `step`.

`step(rules, state, ch)` is the only transition: it returns the next `State`, or a
`Refusal` saying why `ch` cannot come next.  Between tokens (`Between`) the character picks
the token it starts, and the space, line and end-of-tune rules apply; inside a token the
functions of `musicgen.grammar.tokens` read on.  After ``[`` and ``(``, which open several
constructs, one look-ahead (`_alive`) keeps a state from being a dead end.
"""

from __future__ import annotations

from dataclasses import replace

from musicgen.abc.vocab import EOS
from musicgen.grammar import checker, formrules, tokens
from musicgen.grammar.formrules import GAP
from musicgen.grammar.state import (
    BAR,
    CHORD_SYMBOL,
    CHORD_SYMBOL_SPACE,
    ENDING,
    GRACE,
    LETTER_DECORATION,
    LINE_START,
    NEEDS_NOTE,
    NOTE,
    SLUR,
    SPACE,
    TIE,
    TUPLET,
    Accidental,
    Bang,
    BarLine,
    Between,
    Bracket,
    Broken,
    Ended,
    FieldLine,
    Grace,
    Header,
    InChord,
    Length,
    Music,
    Paren,
    Quoted,
    State,
)
from musicgen.grammar.tokens import Refusal, Rules, note_start
from musicgen.grammar.words import ACCIDENTALS, ENDINGS, NOTES, RESTS, TUPLETS

__all__ = ["Refusal", "Rules", "step"]


def step(rules: Rules, state: State, ch: str) -> State | Refusal:
    """The state after `ch`, or why `ch` is refused."""
    if ch not in rules.words.alphabet:
        return Refusal("not in the vocabulary")
    return _HANDLERS[type(state.lexeme)](rules, state.lexeme, state.music, ch)


def _between(rules: Rules, lex: Between, music: Music, ch: str) -> State | Refusal:
    """Between tokens of the body; `lex.after` says what came before."""
    policy, after, section = rules.policy, lex.after, music.section
    if section.must_end and (ch not in ("\n", EOS) or after == LINE_START and ch == "\n"):
        return Refusal("a short bar before || or |] ends the tune")
    if formrules.done(music) and (ch not in ("\n", EOS) or after == LINE_START and ch == "\n"):
        return Refusal("the planned form is complete: the tune ends here")
    letter_rule = after == LETTER_DECORATION and policy.abc2midi_decorations
    if letter_rule and not _note_or_letter(rules, ch):
        return Refusal("a one-letter decoration goes right before its note: ~A, uHc, T[ce]")
    if ch == " ":
        if after == CHORD_SYMBOL:
            return State(Between(CHORD_SYMBOL_SPACE), music)
        if after in (LINE_START, SPACE) or after in NEEDS_NOTE:
            return Refusal("no leading, double or dangling space")
        return State(Between(SPACE), music)
    if after == BAR and ch not in "2[" and checker.second_ending_due(music, policy):
        return Refusal("the first ending's :| must be followed by the second ending, 2")
    if ch in ENDINGS and after == BAR and section.closed:  # |1, :|2
        if checker.ending_allowed(music, ch, policy):
            return State(Between(ENDING), checker.start_ending(music, ch))
    if after == NOTE:
        if ch == "-" and policy.ties:
            return State(Between(TIE), music)
        if ch in "<>":
            if checker.broken_rhythm_fits(music, lex.partner):
                rhythm = replace(music.rhythm, length=lex.partner)
                return State(Broken(ch, 1), replace(music, rhythm=rhythm))
            return Refusal("broken rhythm needs two plain notes, both inside the bar")
        if ch == ")" and music.rhythm.slur:
            return State(Between(NOTE), replace(music, rhythm=replace(music.rhythm, slur=False)))
    if ch == "\n":
        if after in (LINE_START, SPACE, ENDING) or after in NEEDS_NOTE or music.rhythm.tuplet:
            return Refusal("a line cannot end here (empty line, open tuplet, dangling mark)")
        return State(Between(LINE_START), music)
    if ch == EOS:
        if after in (BAR, LINE_START) and checker.may_end(music):
            return State(Ended(), music)
        return Refusal("the tune may end only after a complete final bar")
    if ch == "[" or (ch == "(" and after != TUPLET):
        nxt = State(Bracket(lex) if ch == "[" else Paren(lex), music)
        if _alive(rules, nxt):
            return nxt
        return Refusal("nothing can follow it here")
    if after not in NEEDS_NOTE and after != ENDING and not music.rhythm.tuplet:
        if ch in "|:":
            return _bar(rules, State(BarLine("", after == LINE_START), music), ch)
        if after == LINE_START and music.bar.empty and ch in "MK" and not music.form.target:
            return State(FieldLine(ch), music)
    if ch == "{" and policy.grace_notes and after != GRACE:
        return State(Grace(), music)
    nxt = _start(rules, music, ch)
    if after == LINE_START and type(nxt) is State and type(nxt.lexeme) is Length:
        return State(replace(nxt.lexeme, field_like=True), nxt.music)
    return nxt


def _note_or_letter(rules: Rules, ch: str) -> bool:
    # What abc2midi reads after ~ . H T u v: a note, rest or [chord], or another letter.
    note = ch in NOTES or ch in ACCIDENTALS or ch in RESTS or ch == "["
    return note or ch in rules.words.decorations


def _alive(rules: Rules, state: State) -> bool:
    # For '[' and '(', which open several constructs: can any of them go on?
    return any(type(step(rules, state, c)) is State for c in rules.openers)


def _start(rules: Rules, music: Music, ch: str) -> State | Refusal:
    """Begin a note, rest, decoration or chord symbol (which must carry a note)."""
    if not checker.has_room(music, music.rhythm.tuplet[1] if music.rhythm.tuplet else 1):
        return Refusal("the bar is full: a bar line must come next")
    if ch in NOTES or ch in ACCIDENTALS or ch in RESTS:
        music = tokens.strike(rules, music, ch)
        if music is None:
            return Refusal("the tune's last note must be the tonic")
    if ch in NOTES or ch in ACCIDENTALS:
        return note_start(checker.unclose(music), ch)
    if ch in RESTS:
        return State(Length(), checker.unclose(music))
    if ch in rules.words.decorations:
        return State(Between(LETTER_DECORATION), checker.unclose(music))
    if ch == "!":
        return State(Bang(), checker.unclose(music))
    if ch == '"' and rules.policy.quoted_text:
        return State(Quoted(), checker.unclose(music))
    return Refusal("expected a note, rest, bar line or other ABC symbol")


def _bar(rules: Rules, state: State, ch: str) -> State | Refusal:
    nxt = tokens.extend_bar(rules, state, ch)
    if nxt is not None:
        return nxt
    end = tokens.end_bar(rules, state)
    return end if type(end) is Refusal else step(rules, end, ch)


def _bracket(rules: Rules, lex: Bracket, music: Music, ch: str) -> State | Refusal:
    """After ``[``: an ending ``[1``, a bar ``[|``, a field ``[K:..]`` or a chord."""
    policy, after, alpha = rules.policy, lex.before.after, rules.words.alphabet
    if after == BAR and ch != "2" and checker.second_ending_due(music, policy):
        return Refusal("the first ending's :| must be followed by the second ending, [2")
    ending_ok = ch in ENDINGS and checker.ending_allowed(music, ch, policy)
    if ending_ok and music.bar.empty and music.section.closed and after in (BAR, LINE_START):
        return State(Between(ENDING), checker.start_ending(music, ch))
    if after not in NEEDS_NOTE and after != ENDING and not music.rhythm.tuplet:
        if ch == "|" and policy.thick_thin_bar:
            return _bar(rules, State(BarLine("[", after == LINE_START), music), ch)
        first_in_bar = ch == "K" or music.bar.ticks == 0
        if ch in "KM" and "]" in alpha and first_in_bar and policy.inline_fields:
            return State(FieldLine(ch, None, lex.before), music)
    if (ch in NOTES or ch in ACCIDENTALS) and "]" in alpha and policy.chords:
        return _start(rules, replace(music, rhythm=replace(music.rhythm, chord=(0, 0))), ch)
    return Refusal("expected an ending number, a chord, | or an inline field after [")


def _paren(rules: Rules, lex: Paren, music: Music, ch: str) -> State | Refusal:
    """After ``(``: a tuplet ``(3`` or the start of a slur."""
    rhythm = music.rhythm
    q = TUPLETS.get(ch)
    if q:
        final = music.form.target is not None and formrules.final_bar(music)
        if rhythm.tuplet or rhythm.length or not checker.has_room(music, q + final * GAP):
            return Refusal("no room for a tuplet here")
        music = checker.unclose(music)
        return State(Between(TUPLET), replace(music, rhythm=replace(rhythm, tuplet=(int(ch), q))))
    if rhythm.slur or ch in "()":  # abc2midi warns about a slur within a slur
        return Refusal("slurs do not nest")
    if not rules.policy.slurs:
        return Refusal("strict mode writes no slurs")
    music = replace(music, rhythm=replace(rhythm, slur=True))
    return _between(rules, Between(SLUR), music, ch)


def _length(rules: Rules, lex: Length, music: Music, ch: str) -> State | Refusal:
    if lex.field_like:
        if ch == ":":  # abc2midi (and the lexer) would read a field line, A:|
            return Refusal("a line may not start with a letter and ':' (a field line)")
        lex = replace(lex, field_like=False)
    state = State(lex, music)
    nxt = tokens.extend_length(rules, state, ch)
    if nxt is not None:
        return nxt
    end = tokens.end_length(rules, state)
    return end if type(end) is Refusal else step(rules, end, ch)


def _bar_line(rules: Rules, lex: BarLine, music: Music, ch: str) -> State | Refusal:
    return _bar(rules, State(lex, music), ch)


_HANDLERS = {
    Header: tokens.header,
    Between: _between,
    BarLine: _bar_line,
    Bracket: _bracket,
    Paren: _paren,
    Broken: tokens.broken,
    Accidental: tokens.accidental,
    Length: _length,
    InChord: tokens.in_chord,
    Grace: tokens.grace,
    Quoted: tokens.quoted,
    Bang: tokens.bang,
    FieldLine: tokens.field_line,
    Ended: tokens.ended,
}
