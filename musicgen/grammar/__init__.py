"""ABC-constrained decoding: an incremental automaton over canonical tune text.

The sampler writes a tune one character at a time.  Before each step it asks an
`AbcGrammar` which characters keep the tune well-formed (`allowed_mask`) and masks the
others' logits; after sampling it `feed`s the chosen one.  So every sampled tune parses,
and every bar has the length its meter asks for.  The text followed is what the model
learns after its start marker: ``Tune.text()`` (exactly an ``M:``, an ``L:`` and a ``K:``
line, then the body) and then `EOS`.

The package, in reading order:

- `policy`: `Policy`, what a mode allows.  `STRICT` is the sampler's (what the corpus
  writes and abc2midi reads without a warning), `LENIENT` the checker's (``musicgen check``
  without abc2midi).  ``AbcGrammar(chars, lenient=True)`` picks `LENIENT`.
- `words`: the words a tune may use (meters, units, keys, bar lines, length suffixes),
  from `musicgen.abc.theory`'s tables and the lexer's ``bar`` tokens, cut to one vocabulary.
- `state`: the typed, frozen, hashable state: a `Lexeme` (which token is being read, how
  far) and `Music` (`Bar`, `Rhythm`, `Section`, `Form`).
- `syntax` and `tokens`: the character-level automaton, ``step(rules, state, ch) -> State
  | Refusal``; a refusal is a value, so masks try every character without exceptions.
- `checker`: the token-level rules a finished token obeys (bar lengths, pickups, repeats,
  endings, tuplets, broken rhythm, the end of the tune), as abc2midi's bar check counts.
- `tables`: `GrammarTables`, one per vocabulary and policy, memoizing each state's mask
  and transitions, so after warm-up `feed` + `allowed_mask` are two dictionary look-ups.
- `automaton`: `AbcGrammar`, `first_error` (and `first_error_at`, its position), `accepts`.

It imports `musicgen.abc` (tokens, theory, vocabulary) and `musicgen.form` (the plan),
never TensorFlow or anything above it.

The form of issue 13 (parts, bars per part, a cadence on the tonic):

- `musicgen.form.plan`'s `FormPlan` (``--form auto|AABB|ABAC...``, ``--bars-per-part``,
  ``--no-cadence``) is a ``Policy.plan`` field; `AbcGrammar` resolves it into a `Target`
  when the header's ``K:`` line ends (``auto`` draws per meter from the run dir's
  ``form.json`` with the tune's own generator) and puts it in the state's `Form`.
- `formrules`: what the `checker` asks under a plan: bars counted as `musicgen.form.analysis`
  counts them, a part closes exactly at its last bar (``:|`` if repeated, ``||`` if
  not; no endings), the end comes only after the last part, and the last note is the
  tonic.  Random walks of the planned grammar never meet an empty mask
  (``tests/grammar/test_form_decoding.py``).  ``Policy(count_form=True)`` alone only counts.
- issue 14: every part's last bar ends on its `Target.end` letter (`formrules`), and
  `motifs`' per-tune `Motifs` writes the rhyme (B's last bar is A's) and the echo (bar 5
  opens as bar 1) when the plan asks, narrowing `AbcGrammar.allowed_mask` only.
"""

from musicgen.grammar.automaton import AbcGrammar, accepts, first_error, first_error_at
from musicgen.grammar.policy import LENIENT, STRICT, Policy
from musicgen.grammar.tables import GrammarTables

__all__ = [
    "LENIENT",
    "STRICT",
    "AbcGrammar",
    "GrammarTables",
    "Policy",
    "accepts",
    "first_error",
    "first_error_at",
]
