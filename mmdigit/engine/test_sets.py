"""Reading several labelled sets with one loaded model: ``tools/test.py --also-read IMG_DIR ANN_FILE PRED_DIR``.

Why: on 2 CPU cores a ``tools/test.py`` process spends ~11 s importing mmdet and building its Runner before the
first batch, as long as reading 600 images. The demo reads every ensemble member on three sets (its test and
validation splits and the real photos): one process per member instead of one per set. Each further set runs
mmengine's own ``TestLoop`` (the config's loop type and settings) on the Runner of the first, so its hooks and
metrics are the ones a run of its own would have, and its numbers are equal (tested).
"""
from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path

from mmengine.config import Config
from mmengine.dist import is_main_process
from mmengine.hooks import LoggerHook

from mmdigit.utils import atomic_write_text
from mmdigit.utils.run_files import METRICS_FILE

from .run_setup import evaluator_list, point_test_split_at

WRITER = 'DigitPredictionWriter'


def also_read_set(cfg: Config, img_dir, ann_file, pred_dir) -> tuple[dict, list]:
    """The test dataloader and evaluator of ``cfg`` (set up for its first set, a prediction writer among them or
    not) pointed at another labelled image folder, its predictions written to ``pred_dir``. Missing folders
    and files fail here, by name, before any reading."""
    other = Config(copy.deepcopy(cfg.to_dict()))
    point_test_split_at(other, img_dir, ann_file)
    metrics = evaluator_list(other, 'test_evaluator')
    writers = [m for m in metrics if m.get('type') == WRITER]
    if not writers:
        raise ValueError(f'{WRITER} missing from the test evaluator: --also-read needs --pred-dir\'s writer')
    metrics = [m for m in metrics if m.get('type') != WRITER] + [dict(writers[0], pred_dir=str(pred_dir))]
    return other.test_dataloader, metrics


def test_sets(runner, more: list[tuple[dict, list]]) -> list[dict]:
    """``runner.test()``, then one test loop for each (dataloader, evaluator) of ``more`` with the model already
    loaded (and, on CPU, already folded): the metrics of every set, the first first. mmengine's ``before_run`` /
    ``after_run`` hooks run once around all sets; each loop calls the test hooks as a run of its own would. The
    Runner's ``<timestamp>.json`` keeps the first set's metrics, ``also_read_<k>.json`` beside it the k-th further
    set's, written by the main process only: mmengine's ``LoggerHook`` dumps them from every rank into the same
    file, and two ranks' writes can interleave into one unreadable file (a 2-process CPU run did)."""
    if not isinstance(runner._test_loop, dict):
        raise RuntimeError('test_sets: the Runner has run its test loop already')
    loop_cfg = copy.deepcopy(runner._test_loop)  # the config's test loop (type, fp16), built again for each set
    runner._test_loop = runner.build_test_loop(runner._test_loop)
    runner.call_hook('before_run')  # (LoggerHook names its json file here)
    loggers = [h for h in runner.hooks if isinstance(h, LoggerHook)]
    with tempfile.TemporaryDirectory() as elsewhere:
        # other ranks dump theirs where nothing reads them (absolute: os.path.join(log_dir, path) is that path)
        json_dir = '' if is_main_process() else elsewhere
        for h in loggers:
            h.json_log_path = os.path.join(json_dir, h.json_log_path)
        runner.load_or_resume()
        results = [runner.test_loop.run()]
        first_json = [h.json_log_path for h in loggers]
        try:
            for k, (dataloader, evaluator) in enumerate(more, 1):
                for h in loggers:  # LoggerHook dumps each test epoch's metrics here: not over the first set's
                    h.json_log_path = os.path.join(json_dir, f'also_read_{k}.json')
                scalars = runner.message_hub.log_scalars  # the last set's metrics, else logged with this set's
                for key in [key for key in scalars if key.startswith('test/')]:
                    del scalars[key]
                runner._test_dataloader, runner._test_evaluator = dataloader, evaluator
                runner._test_loop = runner.build_test_loop(copy.deepcopy(loop_cfg))
                results.append(runner.test_loop.run())
        finally:
            for h, path in zip(loggers, first_json):
                h.json_log_path = path
        runner.call_hook('after_run')
    return results


def write_metrics(pred_dir, metrics: dict) -> None:
    """``<pred_dir>/metrics.json``: the set's metrics beside its predictions (main process only; nothing for an
    unlabelled set, which has none)."""
    if pred_dir and metrics and is_main_process():
        atomic_write_text(Path(pred_dir) / METRICS_FILE, json.dumps(
            {k: v for k, v in metrics.items() if isinstance(v, (int, float, str))}, indent=1))
