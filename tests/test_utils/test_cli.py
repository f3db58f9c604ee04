"""The CLI wrapper (mmdigit.utils.cli): one line on stderr and exit code 2 for a user's error, tracebacks for bugs
and --debug, and the argument checks the tools share."""
import os

import pytest

from mmdigit.utils.cli import UserError, check_cfg_options, probability, run_main


def test_wrapper_user_error_debug_interrupt_and_bugs(capsys, monkeypatch, tmp_path):
    def missing(argv):
        raise FileNotFoundError('cfg.py: config file does not exist')
    assert run_main(missing, 'tool', []) == 2
    assert capsys.readouterr().err == 'tool: cfg.py: config file does not exist\n'

    def no_folder(argv):
        open(tmp_path / 'nope' / 'out.txt', 'w')  # an OSError with errno and file name
    assert run_main(no_folder, 'tool', []) == 2
    assert capsys.readouterr().err == f'tool: {tmp_path}/nope/out.txt: No such file or directory\n'

    def interrupted(argv):
        raise KeyboardInterrupt
    assert run_main(interrupted, 'tool', []) == 130
    assert capsys.readouterr().err == 'tool: interrupted\n'

    with pytest.raises(FileNotFoundError):  # --debug: the traceback (the exception) instead of one line
        run_main(missing, 'tool', ['--debug'])
    monkeypatch.setenv('MMDIGIT_DEBUG', '1')
    with pytest.raises(FileNotFoundError):
        run_main(missing, 'tool', [])
    monkeypatch.delenv('MMDIGIT_DEBUG')

    def bug(argv):
        return [][0]
    with pytest.raises(IndexError):  # not a user error: keeps its traceback
        run_main(bug, 'tool', [])
    seen = []
    assert run_main(lambda argv: seen.append(argv), 'tool', ['a', '--debug', 'b']) == 0
    assert seen == [['a', 'b']]  # --debug is the wrapper's, not the tool's


def test_dataloader_worker_errors_keep_only_the_workers_message():
    from mmdigit.datasets.coco_io import DataError
    from mmdigit.utils.cli import one_line
    wrapped = DataError('Caught DataError in DataLoader worker process 0.\nOriginal Traceback (most recent call '
                        'last):\n  File "x.py", line 1, in f\nmmdigit.datasets.coco_io.DataError: /d/3.png: cannot '
                        'load image (cannot decode image: truncated)\n')
    assert one_line(wrapped) == '/d/3.png: cannot load image (cannot decode image: truncated)'


@pytest.mark.parametrize('text', ['1.5', '-1', 'nan', 'inf', 'x'])
def test_thresholds_outside_0_1_are_refused(text):
    import argparse
    with pytest.raises(argparse.ArgumentTypeError):
        probability(text)
    assert probability('0') == 0.0 and probability('1') == 1.0


def test_cfg_options_typos_are_refused_new_arguments_allowed():
    from mmengine.config import Config
    cfg = Config(dict(model=dict(test_cfg=dict(rcnn=dict(score_thr=0.05, nms=dict(iou_threshold=0.5)))),
                      train_cfg=dict(max_iters=10), param_scheduler=[dict(type='A', end=5)],
                      default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1))))
    with pytest.raises(UserError, match=r"--cfg-options foo: the config has no key 'foo'"):
        check_cfg_options(cfg, {'foo': 1})
    with pytest.raises(UserError, match=r'score_thrx.*did you mean model.test_cfg.rcnn.score_thr\?'):
        check_cfg_options(cfg, {'model.test_cfg.rcnn.score_thrx': 0.3})
    with pytest.raises(UserError, match='is a list of 1, no index 3'):
        check_cfg_options(cfg, {'param_scheduler.3.end': 2})
    check_cfg_options(cfg, {'train_cfg.max_iters': 2, 'param_scheduler.0.end': 2, 'randomness.seed': 0,
                            'default_hooks.checkpoint.max_keep_ckpts': 2, 'model.backbone': None,
                            'work_dir': 'x'})  # existing keys, Runner settings, new hook arguments


def test_cfg_options_type_naming_a_python_module_is_refused():
    """mmengine imports an unregistered type by name: ``abc`` (a module) failed with "'module' object is not
    callable" and a traceback once the model was built."""
    from mmengine.config import Config
    cfg = Config(dict(model=dict(type='FasterRCNN'), tta_model=dict(type='DetTTAModel')))
    with pytest.raises(UserError, match=r"--cfg-options model.type=abc: no registered type.*'abc' is a Python module"):
        check_cfg_options(cfg, {'model.type': 'abc'})
    with pytest.raises(UserError, match=r"tta_model.type=os.path: no registered type"):
        check_cfg_options(cfg, {'tta_model.type': 'os.path'})
    # registered names, scoped names, dotted paths to classes and typos (the registry's own one-line error) pass
    check_cfg_options(cfg, {'model.type': 'RetinaNet', 'tta_model.type': 'mmdet.DetTTAModel'})
    check_cfg_options(cfg, {'model.type': 'mmdet.models.FasterRCNN'})
    check_cfg_options(cfg, {'model.type': 'FasterRCN'})


def test_runner_args_load_the_config_with_its_options_work_dir_and_data_root(tmp_path, monkeypatch):
    import argparse

    from mmdigit.utils.cli import add_runner_args, runner_config
    from tests.helpers import REPO
    monkeypatch.delenv('LOCAL_RANK', raising=False)
    (tmp_path / 'd').mkdir()
    parser = argparse.ArgumentParser()
    parser.add_argument('config')
    add_runner_args(parser, 'where the run writes')
    args = parser.parse_args([str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py'), '--data-root', str(tmp_path / 'd'),
                              '--work-dir', str(tmp_path / 'w'), '--cfg-options', 'train_cfg.max_iters=7',
                              '--local-rank', '3'])
    cfg = runner_config(args)
    assert cfg.work_dir == str(tmp_path / 'w') and cfg.train_cfg.max_iters == 7
    assert cfg.train_dataloader.dataset.data_root == f"{tmp_path / 'd'}/"
    assert cfg.test_evaluator[0].ann_file == str(tmp_path / 'd' / 'test.json')
    assert os.environ['LOCAL_RANK'] == '3'
    typo = parser.parse_args([args.config, '--cfg-options', 'train_cfg.max_iter=7'])
    with pytest.raises(UserError, match='max_iter'):
        runner_config(typo)
