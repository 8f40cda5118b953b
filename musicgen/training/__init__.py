"""Training: datasets, the fit loop, callbacks, optimizers and distribution.

- `presets`: an architecture's defaults (or fine-tuning's), then what was asked -> the configs;
- `dataset`: tunes -> id streams -> ``tf.data`` windows (or rows of packed tunes);
- `checks`: what `train` checks (beyond each config's own checks) before it writes;
- `fit`: `train`, a resumable training run into a run dir;
- `finetune`: a run that starts from another run's model (``--init``), its vocabulary grown;
- `callbacks`: progress, checkpoints, time budget, early stopping, exact resume;
- `optim`: optimizers and the warm-up; `distribute`: where training runs;
- `towers`: a CPU step's batch split over the cores, one op per core.

May import `musicgen.abc`, `musicgen.form`, `musicgen.models`, `musicgen.run`, `files`
and `errors`.
"""
