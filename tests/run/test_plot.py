import math

from musicgen.run.plot import write_loss_plot


def test_loss_plot_is_a_png_with_or_without_validation(tmp_path):
    rows = [{"epoch": e, "loss": 3.0 / e, "val_loss": 3.2 / e} for e in (1, 2, 3)]
    path = write_loss_plot(tmp_path, rows)
    assert path == tmp_path / "loss.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = [{"epoch": 1, "loss": 2.0, "val_loss": math.nan}]
    assert write_loss_plot(tmp_path, rows).stat().st_size > 1000
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]  # no temp file left


def test_comparison_plot_puts_runs_of_different_budgets_on_one_time_axis(tmp_path):
    from musicgen.run.history import write_history
    from musicgen.run.plot import write_comparison_plot

    for name, epochs in (("short", 2), ("long", 5)):
        (tmp_path / name).mkdir()
        rows = [
            {"epoch": e, "loss": 3.0 / e, "val_loss": 3.2 / e, "seconds": 60.0, "chars_per_s": 1}
            for e in range(1, epochs + 1)
        ]
        write_history(tmp_path / name, rows)
    runs = {"LSTM 2 min": tmp_path / "short", "Transformer 5 min": tmp_path / "long"}
    path = write_comparison_plot(tmp_path / "compare.png", runs, "test")
    from matplotlib import image as mpimg

    image = mpimg.imread(path)
    assert image.shape[0] > 200 and image.shape[1] > 300
    points = {"LSTM": [(5, 2.0), (15, 1.5)], "Transformer": [(15, 1.3), (5, 2.5)]}
    wide = mpimg.imread(write_comparison_plot(tmp_path / "c2.png", runs, "t", points))
    assert wide.shape[1] == 2 * image.shape[1]  # a second panel for the held-out points
