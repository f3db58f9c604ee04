"""Few-shot splits of one labelled set: a fixed held-out part and nested training subsets, written in the
course layout the configs read (images linked, not copied)."""
import pytest

from mmdigit.datasets.coco_io import load_coco
from mmdigit.datasets.few_shot import (
    few_shot_folds,
    few_shot_splits,
    sizes_that_fit,
    training_pool,
    write_course_layout,
)


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


def test_few_shot_folds_hold_every_photo_out_once_and_never_train_on_it(tiny_digits):
    coco = load_coco(tiny_digits / 'train.json')
    ids = {im['id'] for im in coco['images']}
    folds = few_shot_folds(coco, [0, 2, 4], folds=3, seed=1)
    held = [{im['id'] for im in h['images']} for h, _ in folds]
    assert set().union(*held) == ids and sum(map(len, held)) == len(ids)  # disjoint, all photos
    assert max(map(len, held)) - min(map(len, held)) <= 1
    for h, (held_coco, subsets) in zip(held, folds):
        trained = {n: {im['id'] for im in s['images']} for n, s in subsets.items()}
        assert trained[0] == set() and trained[2] < trained[4] and not trained[4] & h
        assert all(a['image_id'] in h for a in held_coco['annotations'])
    assert few_shot_folds(coco, [2], folds=3, seed=1)[0][0] == folds[0][0]  # fixed by the seed
    with pytest.raises(ValueError, match='exceed'):
        few_shot_folds(coco, [len(ids)], folds=3)
    with pytest.raises(ValueError, match='folds=1'):
        few_shot_folds(coco, [2], folds=1)


def test_the_default_curve_fits_the_photos_outside_the_held_out_ones(tiny_digits):
    # real-dev's 259 photos in four folds: the largest fold holds 65 out, so 194 remain and 200 becomes 190
    assert training_pool(259, held_out=59) == 200 and training_pool(259, 59, folds=4) == 194
    assert sizes_that_fit((0, 25, 50, 100, 200), 200) == [0, 25, 50, 100, 200]
    assert sizes_that_fit((0, 25, 50, 100, 200), 194) == [0, 25, 50, 100, 190]
    assert sizes_that_fit((0, 25, 50, 100, 200), 60) == [0, 25, 50, 60]
    assert sizes_that_fit((0, 25), 7) == [0]  # too few photos to round to tens: the curve is the model itself
    coco = load_coco(tiny_digits / 'train.json')  # 8 photos
    for folds in (2, 3):
        pool = training_pool(len(coco['images']), 0, folds)
        assert min(len(s[max(s)]['images']) for _, s in few_shot_folds(coco, [pool], folds)) == pool
        with pytest.raises(ValueError, match='exceed'):
            few_shot_folds(coco, [pool + 1], folds)
