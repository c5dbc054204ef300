"""Figures: the device panels are written as PNG files."""

import compact_model
from compact_model import figures


def test_gain_panel_written(tmp_path):
    path = figures.fig2f_gains(compact_model.load("paper"), tmp_path / "f.png")
    assert path.stat().st_size > 5000  # a real image, not an empty file
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
