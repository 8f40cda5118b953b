"""Sampling: complete tunes from a run dir, many at once, under the ABC grammar.

- `sampler`: `SampleConfig`, `Sampler`, `Sampled`.

May import everything below it (`abc`, `form`, `grammar`, `models`, `run`, `training`),
never `evaluation`, `cli` or `studio`.
"""
