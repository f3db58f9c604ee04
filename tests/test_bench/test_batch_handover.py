"""bench/batch_handover.py: both arms load the same batches through real worker processes, each timed."""
import sys

from tests.helpers import REPO

sys.path.insert(0, str(REPO / 'bench'))

import batch_handover  # noqa: E402


def test_both_collates_hand_over_the_same_batches_and_each_is_timed(tiny_digits, tmp_path):
    its = batch_handover.loaders(str(tiny_digits), str(tmp_path))  # 8 images: one batch per epoch
    per_round, same = batch_handover.measure(its, rounds=1, batches=1, ahead_s=0.0)
    assert same
    assert list(per_round) == list(batch_handover.ARMS) and all(len(v) == 1 and v[0] > 0 for v in per_round.values())


def test_same_batch_notices_a_different_box(tiny_digits, tmp_path):
    its = batch_handover.loaders(str(tiny_digits), str(tmp_path))
    a, b = (next(it) for it in its.values())
    assert batch_handover.same_batch(a, b)
    b['data_samples'][0].gt_instances.bboxes.tensor[0, 0] += 1
    assert not batch_handover.same_batch(a, b)
