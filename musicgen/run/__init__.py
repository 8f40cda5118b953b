"""The run directory: everything needed to use, resume and report a trained model.

- `rundir`: load and save a run dir (model, ``config.json``, ``vocab.json``);
- `config`: `TrainConfig` and the records a run keeps (epochs, outcome, parent);
- `split`: which tunes a run trained, chose and is judged on (``split.json``);
- `resume`: the resume point, and cleaning up after a kill;
- `history`: ``history.csv``; `plot`: ``loss.png``.

May import `musicgen.abc`, `musicgen.form` (the name of ``form.json``), `musicgen.models`,
`files` and `errors`.
"""
