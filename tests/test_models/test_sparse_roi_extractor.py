"""SparseRoIExtractor: the same RoI features and gradients as mmdet's SingleRoIExtractor over torchvision's
RoIAlign, from one sparse product; ChannelsLastHook keeps a trained model's numbers."""
import pytest
import torch
from mmdet.models.roi_heads.roi_extractors import SingleRoIExtractor

import mmdigit  # noqa: F401
from mmdigit.models import SparseRoIExtractor

STRIDES = [4, 8, 16, 32]
LAYER = dict(type='RoIAlign', output_size=7, sampling_ratio=1)


def _feats_and_rois(batch=3, channels=8, height=64, width=96, num=60, seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = tuple(torch.randn(batch, channels, height // s, width // s, generator=g, requires_grad=True)
                  for s in STRIDES)
    xy = torch.rand(num, 2, generator=g) * torch.tensor([width, height])
    wh = torch.rand(num, 2, generator=g) * torch.tensor([width * 1.5, height * 1.5])  # some land on P4/P5
    rois = torch.cat([torch.randint(0, batch, (num, 1), generator=g).float(), xy, xy + wh], 1)
    # boxes crossing the border by more than a pixel, thin and tiny boxes
    rois[:4, 1:] = torch.tensor([[-9., -9., width + 9., height + 9.], [-0.5, 3., 2., 40.],
                                 [width - 3., 0., width + 0.7, 20.], [10., 10., 10.5, 10.5]])
    return feats, rois


@pytest.mark.parametrize('seed', [0, 1])
def test_features_and_gradients_equal_mmdet_over_torchvision(seed):
    feats, rois = _feats_and_rois(seed=seed)
    reference = SingleRoIExtractor(dict(LAYER, use_torchvision=True), 8, STRIDES)
    sparse = SparseRoIExtractor(LAYER, 8, STRIDES)
    ref, out = reference(feats, rois), sparse(feats, rois)
    assert out.shape == ref.shape == (len(rois), 8, 7, 7)
    torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
    weights = torch.randn_like(ref)
    for g_ref, g_out in zip(torch.autograd.grad((ref * weights).sum(), feats),
                            torch.autograd.grad((out * weights).sum(), feats)):
        torch.testing.assert_close(g_out, g_ref, atol=1e-4, rtol=1e-4)


def test_sampling_matrix_is_canonical_csr():
    """Rows with sorted, unique columns: torch's invariant check passes (duplicates would be summed or lost
    depending on the kernel)."""
    feats, rois = _feats_and_rois()
    with torch.sparse.check_sparse_tensor_invariants():
        with pytest.raises(RuntimeError, match='sorted and distinct'):  # the checker is really on
            torch.sparse_csr_tensor(torch.tensor([0, 2]), torch.tensor([1, 1]), torch.ones(2), (1, 3))
        SparseRoIExtractor(LAYER, 8, STRIDES)(feats, rois)


def test_falls_back_to_mmdet_where_the_sparse_form_does_not_apply():
    feats, rois = _feats_and_rois()
    for layer in [dict(LAYER, sampling_ratio=2), dict(LAYER, aligned=False)]:
        ref = SingleRoIExtractor(layer, 8, STRIDES)(feats, rois)
        torch.testing.assert_close(SparseRoIExtractor(layer, 8, STRIDES)(feats, rois), ref)
    # a level one pixel wide (a 32-px image at stride 32) has no second bilinear tap
    thin = tuple(f[..., :1] if i == 3 else f for i, f in enumerate(feats))
    ref = SingleRoIExtractor(LAYER, 8, STRIDES)(thin, rois)
    torch.testing.assert_close(SparseRoIExtractor(LAYER, 8, STRIDES)(thin, rois), ref)
    # channels-last maps (the CPU reader's) reach mmcv's RoIAlign, which reads NCHW memory, made plain
    thin_nhwc = tuple(f.detach().to(memory_format=torch.channels_last) for f in thin)
    torch.testing.assert_close(SparseRoIExtractor(LAYER, 8, STRIDES)(thin_nhwc, rois), ref.detach())
    assert SparseRoIExtractor(LAYER, 8, STRIDES)(feats, rois[:0]).shape == (0, 8, 7, 7)


@pytest.mark.parametrize('seed', [0, 1])
def test_inference_path_equals_the_sparse_product(seed):
    """Without gradients the taps are summed by ``embedding_bag``: the same features (to float rounding), also
    on channels-last maps (what the CPU reader runs)."""
    feats, rois = _feats_and_rois(seed=seed)
    extractor = SparseRoIExtractor(LAYER, 8, STRIDES)
    reference = SingleRoIExtractor(dict(LAYER, use_torchvision=True), 8, STRIDES)
    with_grad = extractor(feats, rois)
    with torch.no_grad():
        ref = reference(feats, rois)
    plain = tuple(f.detach() for f in feats)
    for fs in (plain, tuple(f.to(memory_format=torch.channels_last) for f in plain)):
        with torch.inference_mode():
            out = extractor(fs, rois)
        assert not out.requires_grad
        torch.testing.assert_close(out, with_grad.detach(), atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(out, ref, atol=1e-4, rtol=1e-4)
