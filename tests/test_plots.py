"""Curves from a real run's scalars."""
import sys

import pytest

from tests.conftest import REPO

sys.path.insert(0, str(REPO / 'tools' / 'analysis'))
import plot_curves  # noqa: E402


def test_plot_curves_from_a_run(trained, tmp_path):
    _, work = trained
    out = plot_curves.main([str(work), str(work), '--names', 'a', 'b', '--out', str(tmp_path / 'c.png')])
    assert out.stat().st_size > 5000
    from PIL import Image
    assert Image.open(out).size[0] > 800


def test_plot_curves_on_a_folder_without_scalars(tmp_path):
    with pytest.raises(FileNotFoundError, match='no \\*/vis_data/scalars.json'):
        plot_curves.main([str(tmp_path)])


def test_series_keeps_the_resumed_value_of_a_repeated_step():
    from mmdigit.visualization.curves import series
    recs = [dict(step=1, loss=3.0), dict(step=2, loss=2.0), dict(step=2, loss=1.5), dict(step=3, lr=0.1)]
    assert series(recs, 'loss') == ([1, 2], [3.0, 1.5])
