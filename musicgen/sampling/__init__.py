"""Sampling: complete tunes from a run dir, many at once, under the ABC grammar.

- `sampler`: `SampleConfig`, `Sampler`, `Sampled`;
- `request`, `header`: what the CLI and the studio ask for, turned into a `SampleConfig`;
- `gap`, `vary`: new music for some bars of a tune, every other character kept
  (``musicgen vary``).

May import everything below it (`abc`, `form`, `grammar`, `models`, `run`, `training`),
never `evaluation`, `cli` or `studio`.
"""
