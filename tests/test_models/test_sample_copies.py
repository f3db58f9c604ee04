"""Training without copying the batch's data samples (NoCopyDetDataPreprocessor, ZoomInFasterRCNN's RPN
samples) gives mmdet's losses and gradients exactly, and leaves the caller's samples as they were."""
import copy

import pytest
import torch

from tests.helpers import make_batch


def build_model(**model):
    from mmdet.registry import MODELS

    from mmdigit.engine import load_config
    cfg = load_config('configs/digit_frcnn_r18_cpu.py')
    cfg.model.update(model)
    torch.manual_seed(0)
    return MODELS.build(cfg.model)


def losses_and_grads(model, batch, seed=0):
    model.train()
    model.zero_grad()
    torch.manual_seed(seed)  # the samplers' random draws
    data = model.data_preprocessor(batch, True)
    losses = model(**data, mode='loss')
    loss, _ = model.parse_losses(losses)
    loss.backward()
    grads = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    return {k: v.detach() for k, v in losses.items() if torch.is_tensor(v)}, grads


@pytest.mark.parametrize('seed', [0, 1])
def test_no_copies_give_mmdets_losses_and_gradients(seed):
    mmdet = build_model(copy_rpn_samples=True, data_preprocessor=dict(type='DetDataPreprocessor'))
    ours = build_model()
    assert type(ours.data_preprocessor).__name__ == 'NoCopyDetDataPreprocessor' and not ours.copy_rpn_samples
    ours.load_state_dict(mmdet.state_dict())
    want_losses, want_grads = losses_and_grads(mmdet, make_batch(n=3, seed=seed), seed)
    got_losses, got_grads = losses_and_grads(ours, make_batch(n=3, seed=seed), seed)
    assert list(got_losses) == list(want_losses)
    for k in want_losses:
        assert torch.equal(got_losses[k], want_losses[k]), k
    assert got_grads.keys() == want_grads.keys()
    for k in want_grads:
        assert torch.equal(got_grads[k], want_grads[k]), k


def test_rpn_samples_share_tensors_but_leave_the_batch_unchanged():
    from mmdigit.models.rpn_samples import rpn_training_samples
    samples = make_batch(n=2)['data_samples']
    samples[0].ignored_instances = copy.deepcopy(samples[0].gt_instances)
    labels_before = [s.gt_instances.labels.clone() for s in samples]
    rpn = rpn_training_samples(samples)
    for s, r, before in zip(samples, rpn, labels_before):
        assert type(r) is type(s) and r is not s
        assert torch.equal(s.gt_instances.labels, before) and before.any()  # the caller's labels kept
        assert torch.equal(r.gt_instances.labels, torch.zeros_like(before))
        assert r.gt_instances.bboxes is s.gt_instances.bboxes  # shared, not copied
        assert dict(r.metainfo_items()) == dict(s.metainfo_items())
    assert rpn[0].ignored_instances is samples[0].ignored_instances and 'ignored_instances' not in rpn[1]


def test_preprocessor_keeps_training_samples_and_copies_otherwise():
    model = build_model()
    pre = model.data_preprocessor
    batch = make_batch(n=2)
    out = pre(batch, True)
    assert all(a is b for a, b in zip(out['data_samples'], batch['data_samples']))
    assert out['data_samples'][0].batch_input_shape == tuple(out['inputs'].shape[-2:])
    batch = make_batch(n=2)
    out = pre(batch, False)  # evaluation and reading: mmdet's path, new samples
    assert not any(a is b for a, b in zip(out['data_samples'], batch['data_samples']))
    assert 'batch_input_shape' in out['data_samples'][0]
