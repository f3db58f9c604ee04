"""Parameters and FLOPs of each config at its input scale (mmengine's complexity analysis, as mmdet's
get_flops.py does it: one median-sized SVHN image, 104x47 px, through the config's test pipeline), so the
speed table can be read against the compute. The seeds' setup is torchvision's v2 model at min_size 800.

    python bench/model_cost.py
"""
from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

from _common import machine, without_pretrained  # noqa: E402

CONFIGS = ['digit_frcnn_r18_cpu.py', 'digit_frcnn_r50.py', 'digit_frcnn_r50_v2.py', 'digit_frcnn_r50_v2_cbam.py',
           'digit_frcnn_r101.py', 'digit_frcnn_x101.py']


def cost_of_config(name: str, image: np.ndarray) -> dict:
    from mmcv.transforms import Compose
    from mmdet.registry import MODELS
    from mmengine.analysis import get_model_complexity_info
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    init_default_scope('mmdet')
    cfg = without_pretrained(Config.fromfile(str(ROOT / 'configs' / name)))
    model = MODELS.build(cfg.model).eval()
    pipeline = [t for t in cfg.test_dataloader.dataset.pipeline if t['type'] != 'LoadAnnotations']
    pipeline[0] = dict(type='mmdet.LoadImageFromNDArray')
    data = Compose(pipeline)(dict(img=image, img_id=0))
    batch = model.data_preprocessor(dict(inputs=[data['inputs']], data_samples=[data['data_samples']]), False)
    model.forward = partial(model.forward, data_samples=batch['data_samples'], mode='tensor')
    with torch.no_grad():
        info = get_model_complexity_info(model, None, inputs=batch['inputs'], show_table=False, show_arch=False)
    return dict(params_M=info['params'] / 1e6, gflops=info['flops'] / 1e9,
                input_hw=list(batch['inputs'].shape[-2:]))


def cost_of_torchvision(image: np.ndarray, min_size: int, max_size: int) -> dict:
    from mmengine.analysis import get_model_complexity_info
    from torchvision.models.detection import fasterrcnn_resnet50_fpn_v2
    # random weights: how many proposals survive the RPN's NMS, and so the R-CNN head's FLOPs, depend on them;
    # seeded, so two runs count the same model (unseeded, @128 counted 137 and 92 GFLOPs in two runs)
    torch.manual_seed(0)
    model = fasterrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, num_classes=11, min_size=min_size,
                                       max_size=max_size).eval()
    x = [torch.from_numpy(image).permute(2, 0, 1).float() / 255]
    with torch.no_grad():
        info = get_model_complexity_info(model, None, inputs=(x,), show_table=False, show_arch=False)
        hw = list(model.transform(x)[0].tensors.shape[-2:])
    return dict(params_M=info['params'] / 1e6, gflops=info['flops'] / 1e9, input_hw=hw)


def main(argv=None):
    import json
    image = np.random.default_rng(0).integers(0, 255, (47, 104, 3), dtype=np.uint8)
    rows = {name: cost_of_config(name, image) for name in CONFIGS}
    rows['torchvision v2 @800 (seeds)'] = cost_of_torchvision(image, 800, 1333)
    rows['torchvision v2 @128'] = cost_of_torchvision(image, 128, 384)
    print(f'{"model":<32} {"input HxW":>10} {"params (M)":>10} {"GFLOPs":>8}')
    for name, r in rows.items():
        print(f'{name:<32} {"x".join(map(str, r["input_hw"])):>10} {r["params_M"]:10.2f} {r["gflops"]:8.2f}')
    out = dict(name='model_cost', unit='GFLOPs per 104x47 image', rows=rows, machine=machine())
    (ROOT / 'bench' / 'results').mkdir(exist_ok=True)
    (ROOT / 'bench' / 'results' / 'model_cost.json').write_text(json.dumps(out, indent=2))
    return rows


if __name__ == '__main__':
    main()
