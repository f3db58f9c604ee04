"""Where data lives: one --data-root for every split, labelled image folders (--img-dir + --ann-file) scored
like a test split, and the few-shot splits the fine-tuning curve trains on."""
import json
import sys

import pytest

from mmdigit.datasets.coco_io import load_coco
from mmdigit.datasets.few_shot import few_shot_splits, write_course_layout
from tests.helpers import REPO

sys.path.insert(0, str(REPO / 'tools'))
import test as test_tool  # noqa: E402


def test_labelled_image_folder_is_scored_like_a_test_split(trained, tiny_digits, tmp_path):
    cfg_path, work = trained
    metrics = test_tool.main([cfg_path, str(work / 'iter_4.pth'), '--img-dir', str(tiny_digits / 'valid'),
                              '--ann-file', str(tiny_digits / 'valid.json'), '--work-dir', str(tmp_path / 'w'),
                              '--pred-dir', str(tmp_path / 'pred')])
    assert {'coco/bbox_mAP', 'digit/accuracy', 'digit/digit_recall'} <= set(metrics)
    ids = sorted(im['id'] for im in json.loads((tiny_digits / 'valid.json').read_text())['images'])
    rows = (tmp_path / 'pred' / 'pred.csv').read_text().splitlines()[1:]
    assert sorted(int(r.split(',')[0]) for r in rows) == ids


def test_few_shot_splits_are_nested_and_never_touch_the_held_out_photos(tiny_digits, tmp_path):
    coco = load_coco(tiny_digits / 'train.json')
    held, subsets = few_shot_splits(coco, [0, 2, 5], held_out=3, seed=1)
    held_ids = {im['id'] for im in held['images']}
    assert len(held_ids) == 3
    ids = {n: [im['id'] for im in s['images']] for n, s in subsets.items()}
    assert [len(v) for v in ids.values()] == [0, 2, 5]
    assert set(ids[2]) <= set(ids[5]) and not held_ids & set(ids[5])
    assert all(a['image_id'] in ids[5] for a in subsets[5]['annotations'])
    assert few_shot_splits(coco, [5], 3, seed=1)[0] == held  # fixed by the seed
    with pytest.raises(ValueError, match='exceed'):
        few_shot_splits(coco, [6], held_out=3)
    root = write_course_layout(tmp_path / 'd', tiny_digits / 'train', {'train': subsets[5], 'valid': subsets[2]})
    assert (root / 'train' / '1.png').is_file() and load_coco(root / 'valid.json')['images'] == subsets[2]['images']
    write_course_layout(tmp_path / 'd', tiny_digits / 'train', {'train': subsets[2]})  # re-run: links are reused


@pytest.mark.slow
def test_finetune_curve_trains_on_nested_subsets_and_scores_the_held_out_photos(trained, tiny_digits, tmp_path):
    """tools/analysis/finetune_curve.py end to end on the tiny set (2 iterations per fine-tune)."""
    import subprocess
    cfg_path, work = trained
    real = tmp_path / 'real'
    real.mkdir()
    (real / 'photos.json').write_text((tiny_digits / 'train.json').read_text())
    (real / 'images').symlink_to(tiny_digits / 'train')
    opts = ['train_cfg.max_iters=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2',
            'param_scheduler.1.end=2', 'param_scheduler.1.begin=1', 'param_scheduler.0.end=1',
            'train_dataloader.batch_size=2', 'train_dataloader.num_workers=0',
            'train_dataloader.persistent_workers=False',
            'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False']
    tool = REPO / 'tools' / 'analysis' / 'finetune_curve.py'
    r = subprocess.run([sys.executable, str(tool), str(work / 'iter_4.pth'),
                        '--real-dir', str(real), '--sizes', '0', '3', '--held-out', '4', '--base-config', cfg_path,
                        '--work-dir', str(tmp_path / 'curve'), '--cfg-options', *opts],
                       capture_output=True, text=True, cwd=REPO, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    curve = json.loads((tmp_path / 'curve' / 'curve.json').read_text())
    assert [row['photos'] for row in curve['rows']] == [0, 3] and curve['held_out'] == 4
    assert all(0 <= row['accuracy'] <= 1 and 0 <= row['bbox_mAP'] <= 1 for row in curve['rows'])
    trained_on = {im['id'] for im in json.loads((tmp_path / 'curve' / 'data_3' / 'train.json').read_text())['images']}
    assert not trained_on & set(curve['held_out_ids'])
