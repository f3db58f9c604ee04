"""The few-photo fine-tuning config learns real photos as model A reads them (as they are: no pixel transform
before the jitter), with A's own test pipeline (inherited) reading them afterwards."""
from tests.helpers import REPO, draw_split


def test_finetune_learns_the_photos_as_they_are_read():
    from mmdigit.engine import load_config
    cfg = load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu_finetune.py'))
    base = load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py'))
    assert cfg.test_dataloader.dataset.pipeline == base.test_dataloader.dataset.pipeline
    # what A's reading does to a photo before resizing it (nothing since 2026-12-06) is what the photos learn first
    read = [t['type'] for t in base.test_dataloader.dataset.pipeline]
    read = [t for t in read[:read.index('Resize')] if t not in ('LoadPhotoFromFile', 'KeepOriginalImage')]
    learned = [t['type'] for t in cfg.train_dataloader.dataset.pipeline]
    assert learned[:2] == ['LoadPhotoFromFile', 'LoadAnnotations']
    assert learned[2:2 + len(read)] == read and learned[2 + len(read)] == 'RandomAffine'
    assert 'ContrastStretch' not in learned + read


def test_mixed_finetune_batches_hold_photos_and_renders_half_and_half(tiny_digits, tmp_path):
    """Every batch of the mixed fine-tune is half the user's photos (jittered) and half renders
    (as model A trained on them), so the few photos are learned without forgetting the renders."""
    from mmengine.runner import Runner

    from mmdigit.engine import load_config
    renders = tmp_path / 'renders'
    draw_split(renders, 'train', 6, seed=7)
    cfg = load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu_finetune_mixed.py'),
                      {'data_root': str(tiny_digits), 'synthetic_root': str(renders)})
    loader_cfg = cfg.train_dataloader
    assert loader_cfg.sampler.type == 'MultiSourceSampler' and loader_cfg.sampler.source_ratio == [1, 1]
    photos_pipeline, renders_pipeline = (ds.pipeline for ds in loader_cfg.dataset.datasets)
    assert photos_pipeline == load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu_finetune.py')).train_pipeline
    assert renders_pipeline == load_config(str(REPO / 'configs' / 'digit_frcnn_r18_cpu.py')).train_pipeline
    loader_cfg.update(batch_size=4, num_workers=0, persistent_workers=False)
    loader_cfg.sampler.batch_size = 4
    batches = iter(Runner.build_dataloader(loader_cfg.to_dict(), seed=0))
    for _ in range(5):  # more batches than the 6 renders fill: the sampler runs on, as an iteration-based loop does
        paths = [s.img_path for s in next(batches)['data_samples']]
        assert sorted(str(renders) in p for p in paths) == [False, False, True, True], paths
        assert sum(str(tiny_digits) in p for p in paths) == 2
