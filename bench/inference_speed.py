"""Inference speed on 2 CPU cores.

Default: the demo's model A (``make demo``: ``configs/digit_frcnn_r18_cpu.py``, its last checkpoint, its
synthetic test photos), read the way users read it (``DigitReader.read_many``, batch 16, both passes of the
zoomed-in reading, images decoded from their files), by the code before the issue-17 speed work (commit
``BEFORE``, extracted with ``git archive``; its config given the checkpoint's widths, ``MODEL_WIDTHS``) and by
this tree, each in its own process (``_reader_child.py``), repeats interleaved, medians. Then both read every
test photo: their answers are compared (numbers, boxes, scores) and scored against the split's labels (reading
changes made since ``BEFORE``, such as the reading canvas, change some answers on purpose); the reader with
workers is compared with this tree's. Writes ``bench/results/inference_speed.json`` (the other arms' last results
are kept in it).

``--arms``: our configs at their input scale vs torchvision's ``fasterrcnn_resnet50_fpn_v2`` as the seeds ran
it (min_size 800) and at our scale; random weights, synthetic SVHN-sized images, batch 1 and 8.

    python bench/inference_speed.py [--demo-dir work_dirs/demo] [--images 400] [--repeats 5] [--threads 0 1]
    python bench/inference_speed.py --arms r50 tv800 ... [--arm-images 8]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'bench'))

from _common import RESULTS, interleaved, machine, median, without_pretrained, write_result  # noqa: E402

BEFORE = '66e6864'  # the last commit before the issue-17 inference work (mmdet's per-image post-processing)
DEMO_CONFIG = 'configs/digit_frcnn_r18_cpu.py'
MARK = '@@ '
ALL_ARMS = ['r50', 'tv800', 'tv128', 'r101', 'r50_v2', 'r50_v2_cbam', 'r18_cpu', 'r18_cpu_loop']

# Config keys of the demo model's shape that changed since BEFORE (the 48-channel FPN, 2026-12-01): the 'before'
# reader's config takes this tree's values, so it reads the same checkpoint.
MODEL_WIDTHS = ('model.neck.out_channels', 'model.rpn_head.in_channels', 'model.rpn_head.feat_channels',
                'model.roi_head.bbox_roi_extractor.out_channels', 'model.roi_head.bbox_head.in_channels',
                'model.roi_head.bbox_head.fc_out_channels')

OURS = {'r50': 'digit_frcnn_r50.py', 'r101': 'digit_frcnn_r101.py', 'r50_v2': 'digit_frcnn_r50_v2.py',
        'r50_v2_cbam': 'digit_frcnn_r50_v2_cbam.py', 'r18_cpu': 'digit_frcnn_r18_cpu.py'}


def svhn_like_images(n: int, seed: int = 0) -> list:
    """BGR uint8 images with SVHN's median-ish sizes (104x47 median, some wider/taller)."""
    rng = np.random.default_rng(seed)
    widths, heights = rng.normal(110, 30, n).clip(40, 300), rng.normal(50, 12, n).clip(20, 130)
    sizes = [(int(w), int(h)) for w, h in zip(widths, heights)]
    return [rng.integers(0, 255, (h, w, 3), dtype=np.uint8) for w, h in sizes]


def ours(config: str, batched: bool = True):
    """The config's test pipeline + preprocessor + model: one forward per batch (``BatchInference``, what
    ``DigitReader`` runs), or per image (``batched=False``: mmdet's ``inference_detector`` given a list)."""
    from mmdet.apis import inference_detector, init_detector
    from mmengine.config import Config

    from mmdigit.apis import BatchInference
    cfg = without_pretrained(Config.fromfile(str(ROOT / 'configs' / config)))
    model = init_detector(cfg, None, device='cpu')
    return BatchInference(model) if batched else (lambda imgs: inference_detector(model, imgs))


def torchvision_v2(min_size: int, max_size: int):
    """The seeds' model: torchvision fasterrcnn_resnet50_fpn_v2, 11 classes, its own transform."""
    from torchvision.models.detection import fasterrcnn_resnet50_fpn_v2
    model = fasterrcnn_resnet50_fpn_v2(weights=None, weights_backbone=None, num_classes=11, min_size=min_size,
                                       max_size=max_size).eval()

    def run(imgs):
        tensors = [torch.from_numpy(im[..., ::-1].copy()).permute(2, 0, 1).float() / 255 for im in imgs]
        with torch.no_grad():
            return model(tensors)
    return run


def arms(names):
    out = {}
    for n in names:
        if n == 'tv800':
            out[n] = ('torchvision fasterrcnn_resnet50_fpn_v2, min_size 800 (the seeds)', torchvision_v2(800, 1333))
        elif n == 'tv128':
            out[n] = ('torchvision fasterrcnn_resnet50_fpn_v2, min_size 128 (our scale)', torchvision_v2(128, 384))
        elif n.endswith('_loop'):
            cfg = OURS[n[:-len('_loop')]]
            out[n] = (f'mmdigit {cfg}, mmdet inference_detector (one image per forward)', ours(cfg, batched=False))
        else:
            out[n] = (f'mmdigit {OURS[n]}', ours(OURS[n]))
    return out


class ReaderProcess:
    """A ``DigitReader`` of the code under ``code_root`` in a child process (``bench/_reader_child.py``)."""

    def __init__(self, code_root: Path, checkpoint: str, file_list: Path, batch: int, env: dict, workers: int = 1,
                 cfg_options: dict | None = None):
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / 'bench' / '_reader_child.py'), str(code_root),
             str(code_root / DEMO_CONFIG), checkpoint, str(file_list), str(batch), str(workers),
             json.dumps(cfg_options or {})],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=code_root, env=env)
        self.ready = self.ask(None)

    def ask(self, command):
        if command:
            self.proc.stdin.write(command + '\n')
            self.proc.stdin.flush()
        for line in self.proc.stdout:
            if line.startswith(MARK):
                return json.loads(line[len(MARK):])
        raise RuntimeError(f'reader process ended (exit {self.proc.wait()}): see its stderr above')

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def demo_checkpoint(demo_dir: Path) -> str:
    from mmdigit.utils.run_files import last_checkpoint
    try:
        return str(last_checkpoint(demo_dir / 'model_a', ran_in=ROOT))
    except FileNotFoundError as e:
        raise FileNotFoundError(f'{e}: no trained demo model (run `make demo` first, or pass --demo-dir)') from None


def model_widths(config) -> dict:
    """``MODEL_WIDTHS`` as ``config`` sets them (``--cfg-options`` style keys)."""
    from mmengine.config import Config
    cfg = Config.fromfile(str(config))
    out = {}
    for key in MODEL_WIDTHS:
        node = cfg
        for part in key.split('.'):
            node = node[part]
        out[key] = node
    return out


def true_numbers(ann_file) -> dict:
    """``{file name: number}`` of a labelled split, spelled by the default ``NumberDecoder``."""
    from mmdigit.evaluation import load_ground_truth
    from mmdigit.recognition import NumberDecoder
    gt = load_ground_truth(ann_file, NumberDecoder())
    return {name: gt.numbers[i] for i, name in gt.files.items()}


def number_accuracy(answers: list, files: list, truth: dict) -> float:
    """Whole-number accuracy of a reader's ``answers`` (one per file, in order) against :func:`true_numbers`."""
    return sum(a['number'] == truth[Path(f).name] for a, f in zip(answers, files)) / len(files)


def compare_readings(a: list, b: list) -> dict:
    """How two readers' answers on the same photos differ: numbers, detection counts, boxes, scores."""
    same_numbers = sum(x['number'] == y['number'] for x, y in zip(a, b))
    same_count = [len(x['scores']) == len(y['scores']) for x, y in zip(a, b)]
    box, score, labels = 0.0, 0.0, 0
    for x, y, same in zip(a, b, same_count):
        if same and x['scores']:
            box = max(box, float(np.abs(np.subtract(x['bboxes'], y['bboxes'])).max()))
            score = max(score, float(np.abs(np.subtract(x['scores'], y['scores'])).max()))
            labels += int(x['labels'] != y['labels'])
    return dict(images=len(a), same_numbers=same_numbers, same_detection_count=int(sum(same_count)),
                images_with_other_labels=labels, max_box_diff_px=box, max_score_diff=score,
                detections=int(sum(len(x['scores']) for x in a)))


def demo_before_after(args) -> dict:
    """Time both commits' readers at each thread setting (all arms interleaved), then compare answers."""
    demo_dir = Path(args.demo_dir)
    checkpoint = demo_checkpoint(demo_dir)
    from mmdigit.datasets.layout import split_paths
    test_ann, test_images = split_paths(demo_dir / 'data', 'test')
    files = sorted(test_images.glob('*.png'), key=lambda p: (len(p.stem), p.stem))
    if not files:
        raise FileNotFoundError(f'{test_images}: no test photos')
    with tempfile.TemporaryDirectory() as tmp:
        before_root = Path(tmp) / 'before'
        before_root.mkdir()
        archive = subprocess.run(['git', '-C', str(ROOT), 'archive', args.before, 'mmdigit', 'configs'],
                                 capture_output=True, check=True).stdout
        subprocess.run(['tar', '-x', '-C', str(before_root)], input=archive, check=True)
        timed, every = Path(tmp) / 'timed.txt', Path(tmp) / 'all.txt'
        timed.write_text('\n'.join(map(str, files[:args.images])))
        every.write_text('\n'.join(map(str, files)))
        readers, widths = {}, model_widths(ROOT / DEMO_CONFIG)
        for t in args.threads:  # 0: torch's default (one thread per core)
            env = dict(os.environ, **({'OMP_NUM_THREADS': str(t)} if t else {}))
            readers[('before', t)] = ReaderProcess(before_root, checkpoint, timed, 16, env, cfg_options=widths)
            readers[('after', t)] = ReaderProcess(ROOT, checkpoint, timed, 16, env)
        if args.workers > 1:  # DigitReader(workers=N): batches spread over N one-thread workers
            readers[('workers', 0)] = ReaderProcess(ROOT, checkpoint, timed, 16, dict(os.environ), args.workers)
        load = [round(os.getloadavg()[0], 2)]
        runs = {k: [] for k in readers}
        interleaved({k: (lambda k=k, r=r: runs[k].append(r.ask('time'))) for k, r in readers.items()},
                    args.repeats)
        load.append(round(os.getloadavg()[0], 2))
        equal = None
        if not args.no_check:  # every test photo, read by both commits (and by the workers' reader)
            for r in readers.values():
                r.ask(f'files {every}')
            answers = {k: r.ask('read') for k, r in readers.items() if k[1] == args.threads[0] or k[0] == 'workers'}
            equal = compare_readings(answers[('before', args.threads[0])], answers[('after', args.threads[0])])
            truth = true_numbers(test_ann)
            equal['accuracy'] = {k[0]: number_accuracy(v, files, truth) for k, v in answers.items()}
            if ('workers', 0) in answers:
                equal['workers_vs_after'] = compare_readings(answers[('after', args.threads[0])],
                                                             answers[('workers', 0)])
        for r in readers.values():
            r.close()
    n = min(args.images, len(files))
    settings = []
    for t in args.threads:
        row = dict(torch_threads=readers[('after', t)].ready['threads'])
        for k in ('before', 'after'):
            wall, cpu = [w for w, _ in runs[(k, t)]], [c for _, c in runs[(k, t)]]
            row[k] = dict(images_per_s=n / median(wall), seconds=wall, cpu_seconds=cpu,
                          cpu_ms_per_image=1e3 * median(cpu) / n)
        settings.append(row)
    if ('workers', 0) in runs:
        wall, cpu = [w for w, _ in runs[('workers', 0)]], [c for _, c in runs[('workers', 0)]]
        workers = dict(workers=args.workers, images_per_s=n / median(wall), seconds=wall, cpu_seconds=cpu,
                       cpu_ms_per_image=1e3 * median(cpu) / n)
    else:
        workers = None
    return dict(images=n, batch=16, repeats=args.repeats, before_commit=args.before, checkpoint=checkpoint,
                before_cfg_options=widths,
                loadavg_1min_start_end=load, settings=settings, workers_arm=workers, equality_all_test_images=equal)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--demo-dir', default=str(ROOT / 'work_dirs' / 'demo'), help='a `make demo` work dir')
    p.add_argument('--images', type=int, default=400, help='test photos read per timed repeat')
    p.add_argument('--repeats', type=int, default=5)
    p.add_argument('--before', default=BEFORE, help='the commit timed as "before"')
    p.add_argument('--threads', type=int, nargs='+', default=[0],
                   help='torch threads of the readers, one pair of arms each (0: torch\'s default, one per core)')
    p.add_argument('--workers', type=int, default=2,
                   help='also time this tree with DigitReader(workers=N) (1: no such arm)')
    p.add_argument('--no-check', action='store_true', help='skip comparing both readers\' answers on every photo')
    p.add_argument('--arms', nargs='+', help=f'instead: the config arms ({" ".join(ALL_ARMS)}; the default '
                                            'without a demo model)')
    p.add_argument('--arm-images', type=int, default=8, help='--arms: images per repeat (a multiple of 8)')
    args = p.parse_args(argv)
    if not args.arms:
        try:
            demo_checkpoint(Path(args.demo_dir))
        except FileNotFoundError as e:
            print(f'{e}: timing the config arms')
            args.arms = ALL_ARMS
    if args.arms:
        return config_arms(args)
    path = RESULTS / 'inference_speed.json'
    previous = json.loads(path.read_text()) if path.is_file() else {}
    demo = demo_before_after(args)
    print(f'demo model A, read_many batch 16, both zoom passes, {demo["images"]} photos x {args.repeats} '
          f'(arms interleaved), load {demo["loadavg_1min_start_end"]}')
    for row in demo['settings']:
        b, a = row['before'], row['after']
        print(f'  torch threads {row["torch_threads"]}: before {b["images_per_s"]:6.1f} images/s (CPU '
              f'{b["cpu_ms_per_image"]:.1f} ms/image), after {a["images_per_s"]:6.1f} images/s (CPU '
              f'{a["cpu_ms_per_image"]:.1f} ms/image): {a["images_per_s"] / b["images_per_s"]:.2f}x')
    if demo['workers_arm']:
        w, b = demo['workers_arm'], demo['settings'][0]['before']
        print(f'  DigitReader(workers={w["workers"]}): {w["images_per_s"]:6.1f} images/s (CPU '
              f'{w["cpu_ms_per_image"]:.1f} ms/image): {w["images_per_s"] / b["images_per_s"]:.2f}x the first before')
    eq = demo['equality_all_test_images']
    if eq:
        print(f'  answers on all {eq["images"]} test photos: same number on {eq["same_numbers"]}, same detection '
              f'count on {eq["same_detection_count"]}, labels differ on {eq["images_with_other_labels"]}; largest '
              f'difference: box {eq["max_box_diff_px"]:.2g} px, score {eq["max_score_diff"]:.2g}')
        print('  whole-number accuracy on them: ' + ', '.join(f'{k} {v:.4f}' for k, v in eq['accuracy'].items()))
        if 'workers_vs_after' in eq:
            w = eq['workers_vs_after']
            print(f'  workers reader vs after: same number on {w["same_numbers"]}, same detection count on '
                  f'{w["same_detection_count"]}; largest difference: box {w["max_box_diff_px"]:.2g} px, score '
                  f'{w["max_score_diff"]:.2g}')
    arms_kept = {k: v for k, v in previous.items() if k.startswith('arms')}
    if previous.get('arms') and 'arms_date' not in previous:  # a file from before the demo comparison
        arms_kept.update(arms_date=previous.get('date'), arms_images=previous.get('images'),
                         arms_repeats=previous.get('repeats'), arms_machine=previous.get('machine'),
                         arms_ratio_r50_vs_seeds=dict(batch1=previous.get('ratio'),
                                                      batch8=previous.get('ratio_batch8')))
    head = demo['settings'][0]
    return write_result(
        'inference_speed', f'mmdigit before the speed work (commit {args.before})', 'mmdigit now',
        f'seconds per image (demo model A, DigitReader.read_many batch 16, both zoom passes, '
        f'{head["torch_threads"]} torch threads)',
        1 / head['before']['images_per_s'], 1 / head['after']['images_per_s'], demo=demo, **arms_kept)


def config_arms(args):
    """The config arms (the previous default of this benchmark): batch 1 and 8, random weights."""
    torch.manual_seed(0)
    imgs = svhn_like_images(args.arm_images)
    built = arms(args.arms)
    for _, fn in built.values():  # warm-up
        fn(imgs[:1])
    table = {}
    for batch in (1, 8):
        chunks = [imgs[i:i + batch] for i in range(0, len(imgs), batch)]
        times = interleaved({n: (lambda fn=fn, chunks=chunks: [fn(c) for c in chunks]) for n, (_, fn) in built.items()},
                            args.repeats)
        for n, t in times.items():
            table.setdefault(n, {})[f'images_per_s_batch{batch}'] = len(imgs) / median(t)
            table[n][f'seconds_batch{batch}'] = t
    print(f'{"arm":<13} {"description":<90} {"img/s b1":>9} {"img/s b8":>9}')
    for n, (desc, _) in built.items():
        print(f'{n:<13} {desc:<90} {table[n]["images_per_s_batch1"]:9.2f} {table[n]["images_per_s_batch8"]:9.2f}')
    path = RESULTS / 'inference_speed.json'
    result = json.loads(path.read_text()) if path.is_file() else dict(name='inference_speed')
    now = time.strftime('%Y-%m-%dT%H:%M:%S%z')
    result['arms'] = {**result.get('arms', {}),
                      **{n: dict(description=built[n][0], date=now, **v) for n, v in table.items()}}
    result.update(arms_date=now, arms_images=len(imgs),
                  arms_repeats=args.repeats, arms_machine=machine())
    if 'r50' in table and 'tv800' in table:
        a, b = table['tv800'], table['r50']
        result['arms_ratio_r50_vs_seeds'] = dict(batch1=b['images_per_s_batch1'] / a['images_per_s_batch1'],
                                                 batch8=b['images_per_s_batch8'] / a['images_per_s_batch8'])
        print(f'\nours (R50) vs the seeds\' setup: {result["arms_ratio_r50_vs_seeds"]["batch1"]:.1f}x faster at '
              f'batch 1, {result["arms_ratio_r50_vs_seeds"]["batch8"]:.1f}x at batch 8')
    RESULTS.mkdir(exist_ok=True)
    path.write_text(json.dumps(result, indent=2))
    return result


if __name__ == '__main__':
    main()
