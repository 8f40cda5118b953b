import math

from musicgen.plot import write_loss_plot


def test_loss_plot_is_a_png_with_or_without_validation(tmp_path):
    rows = [{"epoch": e, "loss": 3.0 / e, "val_loss": 3.2 / e} for e in (1, 2, 3)]
    path = write_loss_plot(tmp_path, rows)
    assert path == tmp_path / "loss.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    rows = [{"epoch": 1, "loss": 2.0, "val_loss": math.nan}]
    assert write_loss_plot(tmp_path, rows).stat().st_size > 1000
    assert [p.name for p in tmp_path.iterdir()] == ["loss.png"]  # no temp file left
