"""Few-shot splits of one labelled set: a fixed held-out part and nested training subsets, written in the
course layout the configs read (images linked, not copied)."""
import pytest

from mmdigit.datasets.coco_io import load_coco
from mmdigit.datasets.few_shot import few_shot_splits, write_course_layout


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
