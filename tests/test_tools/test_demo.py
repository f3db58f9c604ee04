"""tools/demo.py is a shell: its flags become the DemoSettings mmdigit.demo runs with (the stages: tests/test_demo)."""
import sys
from pathlib import Path

import pytest

from mmdigit.demo import DEFAULTS, DemoSettings
from tests.helpers import REPO

sys.path.insert(0, str(REPO / 'tools'))
import demo as demo_tool  # noqa: E402


def test_flags_become_the_settings_and_the_work_dir_is_absolute(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(demo_tool, 'run_demo', lambda work, s: calls.append((work, s)) or 'summary')
    monkeypatch.chdir(tmp_path)
    assert demo_tool.main([]) == 'summary'
    assert calls[-1] == (tmp_path / 'work_dirs' / 'demo', DEFAULTS)
    assert (DEFAULTS.minutes_a, DEFAULTS.minutes_crop, DEFAULTS.minutes_b, DEFAULTS.train_images,
            DEFAULTS.test_images, DEFAULTS.calibration_images) == (15.0, 3.0, 0.0, 60000, 2000, 3000)
    assert DEFAULTS.views == ('stretched', 'inverted', 'smaller', 'widecrop', 'tightcrop', 'equalized')
    assert not DEFAULTS.snapshot_member and DEFAULTS.budget_minutes == 30.0 and DEFAULTS.wider_factor == 1.5
    assert DEFAULTS.geometry == 'mix'
    demo_tool.main(['--work-dir', 'w', '--force', '--train-images', '10', '--test-images', '4',
                    '--calibration-images', '0', '--geometry', 'test', '--minutes-a', '0.5',
                    '--minutes-crop', '0', '--minutes-b', '0.2', '--views', '--snapshot-member', '--budget-minutes',
                    '0', '--real-dir', 'photos', '--no-real', '--wider-factor', '2'])
    assert calls[-1] == (tmp_path / 'w', DemoSettings(train_images=10, test_images=4, calibration_images=0,
                                                      geometry='test',
                                                      minutes_a=0.5, minutes_crop=0.0,
                                                      minutes_b=0.2,
                                                      views=(), snapshot_member=True, budget_minutes=0.0,
                                                      real_dir='photos', no_real=True, wider_factor=2.0,
                                                      force=True))
    assert isinstance(calls[-1][0], Path)
    demo_tool.main(['--views', 'inverted'])
    assert calls[-1][1] == DemoSettings(views=('inverted',))


def test_a_negative_budget_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as e:
        demo_tool.main(['--budget-minutes', '-5'])
    assert e.value.code == 2 and 'argument --budget-minutes: -5 must be a number, 0 or more' in capsys.readouterr().err


def test_a_negative_calibration_set_is_a_one_line_error(capsys):
    with pytest.raises(SystemExit) as e:
        demo_tool.main(['--calibration-images', '-1'])
    assert e.value.code == 2 and 'argument --calibration-images: -1 must be 0 or more' in capsys.readouterr().err


@pytest.mark.parametrize('factor', ['0.5', '-1', 'nan'])
def test_a_canvas_smaller_than_the_photo_is_a_one_line_error(capsys, factor):
    with pytest.raises(SystemExit) as e:
        demo_tool.main(['--wider-factor', factor])
    assert e.value.code == 2 and f'--wider-factor {factor}: a canvas at least the photo' in capsys.readouterr().err


def test_no_wider_scene_is_a_setting(monkeypatch):
    calls = []
    monkeypatch.setattr(demo_tool, 'run_demo', lambda work, s: calls.append(s))
    demo_tool.main(['--wider-factor', '0'])
    assert calls[-1].wider_factor == 0


@pytest.mark.parametrize('argv, says', [
    (['--minutes-a', 'nan'], 'argument --minutes-a: nan must be a positive number'),
    (['--minutes-a', '0'], 'argument --minutes-a: 0 must be a positive number'),
    (['--minutes-crop', '-1'], 'argument --minutes-crop: -1 must be a number, 0 or more'),
    (['--minutes-b', 'inf'], 'argument --minutes-b: inf must be a number, 0 or more'),
    (['--train-images', '-5'], 'argument --train-images: -5 must be at least 1'),
    (['--test-images', '0'], 'argument --test-images: 0 must be at least 1'),
    (['--budget-minutes', 'nan'], 'argument --budget-minutes: nan must be a number, 0 or more'),
    (['--wider-factor', 'inf'], '--wider-factor inf: a canvas at least the photo'),
    (['--real-dir', 'no/such/photos'], '--real-dir no/such/photos: no labelled photos there'),
    (['--geometry', 'wide'], "argument --geometry: invalid choice: 'wide'"),
])
def test_every_bad_flag_is_refused_before_the_first_stage(monkeypatch, capsys, argv, says):
    """Each of these used to start the step-time probe and fail (or be ignored) minutes later."""
    monkeypatch.setattr(demo_tool, 'run_demo', lambda *a: pytest.fail('the demo started'))
    with pytest.raises(SystemExit) as e:
        demo_tool.main(argv)
    assert e.value.code == 2 and says in capsys.readouterr().err


def test_a_work_dir_that_is_a_file_and_ctrl_c_are_one_line(monkeypatch, tmp_path, capsys):
    from mmdigit.utils.cli import run_main
    (tmp_path / 'afile').write_text('')
    monkeypatch.setattr(demo_tool, 'run_demo', lambda *a: pytest.fail('the demo started'))
    assert run_main(demo_tool.main, 'demo', ['--work-dir', str(tmp_path / 'afile')]) == 2
    assert capsys.readouterr().err == f'demo: --work-dir {tmp_path / "afile"}: exists and is not a folder\n'

    def interrupted(*a):
        raise KeyboardInterrupt
    monkeypatch.setattr(demo_tool, 'run_demo', interrupted)
    assert run_main(demo_tool.main, 'demo', ['--work-dir', str(tmp_path / 'w')]) == 130
    assert capsys.readouterr().err == 'demo: interrupted\n'
