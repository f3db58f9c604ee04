"""by_value_collate: a worker's batch crosses to the training process as bytes and comes back equal."""
import pickle
import warnings
from multiprocessing.reduction import ForkingPickler

import numpy as np
import torch
from mmdet.structures import DetDataSample
from mmdet.structures.bbox import HorizontalBoxes
from mmengine.dataset import pseudo_collate
from mmengine.registry import FUNCTIONS
from mmengine.structures import InstanceData
from torch.utils.data import DataLoader, Dataset

from mmdigit.datasets.by_value_collate import ByValue, by_value_collate


class Samples(Dataset):
    """What PackDetInputs makes: a uint8 CHW image (a permuted view, as mmdet packs a contiguous HWC image)
    and a DetDataSample with boxes, labels and an empty ignored set."""

    def __len__(self):
        return 6

    def __getitem__(self, i):
        rng = np.random.default_rng(i)
        image = torch.from_numpy(rng.integers(0, 256, (20, 30 + i, 3), dtype=np.uint8)).permute(2, 0, 1)
        sample = DetDataSample(metainfo=dict(img_id=i, img_path=f'{i}.png', img_shape=(20, 30 + i)))
        boxes = torch.tensor(rng.random((i % 3, 4)), dtype=torch.float32)
        sample.gt_instances = InstanceData(bboxes=HorizontalBoxes(boxes), labels=torch.arange(i % 3))
        sample.ignored_instances = InstanceData(bboxes=HorizontalBoxes(torch.zeros(0, 4)),
                                                labels=torch.zeros(0, dtype=torch.long))
        return dict(inputs=image, data_samples=sample)


def assert_batches_equal(a, b):
    assert len(a['inputs']) == len(b['inputs'])
    for x, y in zip(a['inputs'], b['inputs']):
        assert x.dtype == y.dtype and torch.equal(x, y)
    for s, t in zip(a['data_samples'], b['data_samples']):
        assert s.metainfo == t.metainfo
        for field in ('gt_instances', 'ignored_instances'):
            u, v = getattr(s, field), getattr(t, field)
            assert isinstance(v.bboxes, HorizontalBoxes)
            assert torch.equal(u.bboxes.tensor, v.bboxes.tensor) and torch.equal(u.labels, v.labels)
            assert u.labels.dtype == v.labels.dtype


def test_the_pickled_batch_unpickles_as_the_batch_itself_with_writable_tensors():
    data = Samples()
    batch = pseudo_collate([data[i] for i in range(4)])
    back = pickle.loads(ForkingPickler.dumps(ByValue(batch)))  # as a worker's result queue pickles it
    assert type(back) is dict
    assert_batches_equal(batch, back)
    with warnings.catch_warnings():
        warnings.simplefilter('error')  # torch warns on a tensor over a read-only numpy array
        back['inputs'][0].add_(1)


def test_tensors_numpy_cannot_hold_keep_their_type_and_gradient_flag():
    values = dict(bf16=torch.arange(5, dtype=torch.bfloat16), grad=torch.ones(3, requires_grad=True),
                  empty=torch.zeros(0, 4))
    back = pickle.loads(pickle.dumps(ByValue(values)))
    assert back['bf16'].dtype == torch.bfloat16 and torch.equal(back['bf16'], values['bf16'])
    assert back['grad'].requires_grad and back['empty'].shape == (0, 4)


def test_outside_a_worker_it_is_pseudo_collate():
    data = Samples()
    batch = FUNCTIONS.get('by_value_collate')([data[0], data[1]])
    assert type(batch) is dict
    assert_batches_equal(batch, pseudo_collate([data[0], data[1]]))


def test_worker_batches_equal_in_process_ones():
    plain = list(DataLoader(Samples(), batch_size=4, collate_fn=pseudo_collate, num_workers=0))
    workers = list(DataLoader(Samples(), batch_size=4, collate_fn=by_value_collate, num_workers=2))
    assert len(plain) == len(workers) == 2
    for a, b in zip(plain, workers):
        assert_batches_equal(a, b)
