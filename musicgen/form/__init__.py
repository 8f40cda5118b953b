"""A tune's form: its parts and bars, the form a sampler plans, and the corpus's forms.

- `parts`: a tune's parts and bars read off its tokens;
- `analysis`: `Form`, parts, letters, bars per part, cadence and range (``musicgen check``);
- `plan`: `FormPlan`, the form a sampled tune is planned to have (``--form``);
- `stats`: the corpus's forms per meter, kept as ``form.json`` for ``--form auto``.

May import `musicgen.abc`, `musicgen.playback`, `files` and `errors`; no TensorFlow.
"""
