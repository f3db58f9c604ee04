"""The whole job, offline, on CPU: data -> two trained models -> pred.json/pred.csv -> ensemble -> pictures.

    python tools/demo.py [--work-dir work_dirs/demo] [--force] [--minutes-a 18.5] [--minutes-b 3.5]
        [--real-dir ../shared/svhn-reference/real-dev | --no-real]

Stages (each skipped when its result is already in ``<work-dir>/stages.json``; ``--force`` redoes all):
  data      synthetic SVHN-like train/valid/test (tools/dataset_converters/make_synthetic.py)
  step_time seconds per training step of the CPU config here: the first guess of both schedules, which
            TrainTimeBudgetHook then fits to the minutes while training
  train_a   configs/digit_frcnn_r18_cpu.py from scratch for --minutes-a (tools/train.py --minutes)
  test_a    test split -> pred.json, pred.csv, COCO mAP and whole-number accuracy (tools/test.py); the
            validation split's pred.json too (for choosing the ensemble's settings)
  test_s    model A's snapshot (its checkpoint at the validation before the last): a free ensemble member
  train_b   the same config, another seed, shorter schedule: the third ensemble member
  test_b
  ensemble  tools/ensemble.py --tune over A, A's snapshot and B on the validation split (method, IoU, score
            rule, weights, fused boxes or number vote, threshold: fusion_settings.json), then --settings on the
            test split: nothing is chosen on the split that is reported
  real      real photos (--real-dir: a COCO json + images/, by default ../shared/svhn-reference/real-dev; skipped,
            saying so, where it is absent): the members through tools/test.py, the ensemble with the settings
            chosen on the validation split, and whether model A's boxes follow the real boxes' convention
  speed     inference images/s of model A (DigitReader, batch 16, warm)
  pictures  curves of both runs, prediction grids of the test split and the real photos (wrong numbers red),
            the digit confusion matrix
Everything lands in the work dir; the final table is printed and saved as ``summary.json``.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PY = sys.executable
from mmdigit.datasets.photo_folder import REAL_DEV, photo_folder  # noqa: E402
from mmdigit.ensemble import table_row  # noqa: E402

CONFIG = ROOT / 'configs' / 'digit_frcnn_r18_cpu.py'


def say(msg: str) -> None:
    print(f'\n[demo] {msg}', flush=True)


KEY_LINES = ('Iter(train)', 'Iter(val) [', 'Iter(test) [', 'bbox_mAP_copypaste', 'wrote', 'images/s', 'Task-2')


def run(cmd: list, log: Path, echo_all: bool = False) -> None:
    """Run a tool with its output in ``log`` and its key lines (all with ``echo_all``) on screen; fail loudly
    with the log's path."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open('w') as f:
        proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, cwd=ROOT, env=dict(os.environ, PYTHONUNBUFFERED='1'))
        for line in iter(proc.stdout.readline, ''):  # line by line, no read-ahead
            f.write(line)
            if echo_all or any(k in line for k in KEY_LINES):
                print('   ' + line.rstrip()[:160], flush=True)
        if proc.wait() != 0:
            raise SystemExit(f'[demo] failed: {" ".join(map(str, cmd[:3]))} ... (log: {log})')


class Stages:
    """Results of finished stages, persisted so a re-run continues where it stopped. A stage whose result
    format changed since (``FORMATS``; 1 when absent) is redone."""

    FORMATS = {'ensemble': 3, 'real': 3}  # 2: rows say their kind; 3: settings tuned on the validation split

    def __init__(self, work: Path, force: bool):
        self.path = work / 'stages.json'
        self.done = {} if force or not self.path.is_file() else json.loads(self.path.read_text())

    def run(self, name: str, fn):
        if name in self.done and self.done[name].get('format', 1) != self.FORMATS.get(name, 1):
            say(f'{name}: done earlier by an older demo, redone')
            del self.done[name]
        if name in self.done:
            say(f'{name}: done earlier ({self.done[name].get("seconds", 0):.0f} s), skipped (--force redoes it)')
            return self.done[name]
        say(f'{name} ...')
        t0 = time.time()
        result = fn() or {}
        result['seconds'] = round(time.time() - t0, 1)
        result['format'] = self.FORMATS.get(name, 1)
        self.done[name] = result
        self.path.write_text(json.dumps(self.done, indent=2))
        return result


def step_time(data: Path) -> dict:
    from mmdigit.apis import load_config, seconds_per_iter, set_data_root
    cfg = load_config(str(CONFIG))
    set_data_root(cfg, str(data))
    sec = seconds_per_iter(cfg)
    print(f'   {sec:.3f} s per training step (batch {cfg.train_dataloader.batch_size}, incl. loop overhead)')
    return dict(seconds_per_iter=sec)


def train(work: Path, data: Path, name: str, minutes: float, seed: int, sec_per_iter: float, vals: int) -> dict:
    """Train the CPU config for ``minutes`` of loop time (TrainTimeBudgetHook re-plans the iteration count and
    the cosine end while it runs; the measured step time is its first guess), validating about ``vals`` times."""
    from mmdigit.apis import iters_for_minutes
    guess = iters_for_minutes(sec_per_iter, minutes)
    val = max(100, guess // vals // 100 * 100)
    out = work / name
    if out.exists():
        shutil.rmtree(out)
    cmd = [PY, ROOT / 'tools' / 'train.py', CONFIG, '--work-dir', out, '--data-root', data, '--cfg-options',
           f'train_cfg.max_iters={guess}', f'train_cfg.val_interval={val}', f'default_hooks.checkpoint.interval={val}',
           f'param_scheduler.1.end={guess}', f'param_scheduler.1.T_max={guess - 100}',
           f'randomness.seed={seed}', '--minutes', minutes]
    run(cmd, out / 'train.log')
    checkpoint = Path((out / 'last_checkpoint').read_text().strip())
    iters = int(checkpoint.stem.split('_')[-1])
    earlier = sorted((int(c.stem.split('_')[1]), c) for c in out.glob('iter_*.pth') if c != checkpoint)
    return dict(work_dir=str(out), iters=iters, planned_iters=guess, checkpoint=str(checkpoint),
                snapshot=str(earlier[-1][1]) if earlier else None)


def scores(metrics: dict, pred_dir: Path) -> dict:
    """The demo's numbers from a tools/test.py metrics file (and the threshold its pred.csv was read at)."""
    from mmdigit.recognition import ReadingSettings
    return dict(pred_dir=str(pred_dir), bbox_mAP=metrics['coco/bbox_mAP'], bbox_mAP_50=metrics['coco/bbox_mAP_50'],
                seq_acc=metrics['digit/accuracy'], seq_acc_thr=ReadingSettings.from_pred_info(pred_dir).score_thr,
                seq_acc_best_thr_on_set=metrics['digit/best_accuracy'],
                digit_precision=metrics['digit/digit_precision'], digit_recall=metrics['digit/digit_recall'],
                per_length={k.split('/')[1]: v for k, v in metrics.items() if 'accuracy_len' in k})


def test_real(work: Path, real: tuple, trained: dict, name: str) -> dict:
    """A trained model on the real photos: tools/test.py on a labelled image folder."""
    ann, images = real
    pred = work / name / 'pred_real'
    run([PY, ROOT / 'tools' / 'test.py', CONFIG, trained['checkpoint'], '--img-dir', images, '--ann-file', ann,
         '--pred-dir', pred, '--work-dir', work / name / 'test_real'], work / name / 'test_real.log')
    return scores(json.loads(sorted((work / name / 'test_real').glob('*/*.json'))[-1].read_text()), pred)


def test(work: Path, data: Path, trained: dict, name: str) -> dict:
    pred = work / name / 'pred'
    run([PY, ROOT / 'tools' / 'test.py', CONFIG, trained['checkpoint'], '--pred-dir', pred, '--work-dir',
         work / name / 'test', '--data-root', data], work / name / 'test.log')
    metrics = json.loads(sorted((work / name / 'test').glob('*/*.json'))[-1].read_text())
    pred_valid = work / name / 'pred_valid'
    run([PY, ROOT / 'tools' / 'test.py', CONFIG, trained['checkpoint'], '--pred-dir', pred_valid, '--work-dir',
         work / name / 'test_valid', '--img-dir', data / 'valid', '--ann-file', data / 'valid.json'],
        work / name / 'test_valid.log')
    from mmdigit.recognition import Calibration
    calibration = Calibration.find(trained['checkpoint'])
    return dict(scores(metrics, pred), pred_dir_valid=str(pred_valid),
                val_calibrated_acc=calibration and calibration.accuracy)


def speed(trained: dict, data: Path, n: int = 400) -> dict:
    import torch

    from mmdigit.apis import DigitReader
    torch.set_num_threads(os.cpu_count() or 1)
    reader = DigitReader(str(CONFIG), trained['checkpoint'])
    files = sorted((data / 'test').glob('*.png'))[:n]
    reader.read_many([str(f) for f in files[:16]])  # warm-up
    t0 = time.perf_counter()
    for i in range(0, len(files), 16):
        reader.read_many([str(f) for f in files[i:i + 16]])
    dt = time.perf_counter() - t0
    return dict(infer_images_per_s=round(len(files) / dt, 1), images=len(files), batch=16)


def real_photos(work: Path, real: tuple, members: dict, ens: dict) -> dict:
    """Both models and their ensemble (the choices made on the validation split) on the real photos, and
    whether model A's boxes follow the real boxes' convention."""
    from mmdigit.evaluation import PredictionSet, box_size_ratios
    ann, _ = real
    tested = {name: test_real(work, real, m, name) for name, m in members.items()}
    ra, rb = tested['model_a'], tested['model_b']
    out = work / 'ensemble' / 'real'
    preds = [Path(r['pred_dir']) / 'pred.json' for r in tested.values()]
    run([PY, ROOT / 'tools' / 'ensemble.py', *preds, '--ann-file', ann, '--settings', ens['settings_file'],
         '--out-dir', out], work / 'ensemble_real.log', echo_all=True)
    rows = json.loads((out / 'ensemble.json').read_text())
    preds_a = PredictionSet.load(ra['pred_dir'], ann)
    ratios = box_size_ratios(preds_a.gt.boxes, preds_a.detections, preds_a.reading)
    print(f'   model A on real photos: boxes matched {ratios["matched"]}, width ratio p25/p50/p75 '
          f'{ratios["width_ratio"]}, height ratio {ratios["height_ratio"]}, IoU {ratios["iou"]}')
    return dict(ann_file=str(ann), images=len(preds_a.gt.image_ids), model_a=ra, model_b=rb, members=tested,
                ensemble_rows=rows, box_ratios_a=ratios)


def pictures(work: Path, data: Path, a: dict, b: dict, real: tuple | None, real_a: dict | None) -> dict:
    from mmdigit.evaluation import PredictionSet
    from mmdigit.visualization import digit_confusion, plot_confusion, plot_runs, prediction_grid, reading_examples
    pics = work / 'pictures'
    plot_runs([a['work_dir'], b['work_dir']], pics / 'curves.png', names=['model A', 'model B (short)'])
    p = PredictionSet.load(a['pred_dir'], data / 'test.json')
    plot_confusion(digit_confusion(p.gt.boxes, p.detections, p.reading), pics / 'confusion.png')
    prediction_grid(reading_examples(p.gt, p.detections, p.reading, data / 'test'), pics / 'predictions.png')
    if real is not None and real_a is not None:
        p = PredictionSet.load(real_a['pred_dir'], real[0])
        prediction_grid(reading_examples(p.gt, p.detections, p.reading, real[1], right=12, wrong=12),
                        pics / 'real_predictions.png')
    return dict(pictures=sorted(str(p) for p in pics.glob('*.png')))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--work-dir', default='work_dirs/demo')
    p.add_argument('--force', action='store_true', help='redo every stage')
    p.add_argument('--train-images', type=int, default=30000)
    p.add_argument('--test-images', type=int, default=2000)
    p.add_argument('--minutes-a', type=float, default=18.0, help="model A's training loop budget, validations"
                   ' included (model building and the first data workers come on top: ~0.5 min)')
    p.add_argument('--minutes-b', type=float, default=3.5, help="model B's training loop budget")
    p.add_argument('--real-dir', default=str(REAL_DEV), help='labelled real photos to evaluate on: a folder with '
                   'one COCO json and images/ (default: %(default)s)')
    p.add_argument('--no-real', action='store_true', help='skip the real-photo evaluation')
    args = p.parse_args(argv)
    work = Path(args.work_dir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    data = work / 'data'
    stages = Stages(work, args.force)
    t_start = time.time()

    def make_data():
        run([PY, ROOT / 'tools' / 'dataset_converters' / 'make_synthetic.py', '--out', data, '--train',
             args.train_images, '--valid', 1000, '--test', args.test_images, '--seed', 0, '--force'],
            work / 'data.log')
        return dict(train=args.train_images, valid=1000, test=args.test_images)

    stages.run('data', make_data)
    sec = stages.run('step_time', lambda: step_time(data))['seconds_per_iter']
    a = stages.run('train_a', lambda: train(work, data, 'model_a', args.minutes_a, seed=0, sec_per_iter=sec, vals=3))
    ta = stages.run('test_a', lambda: test(work, data, a, 'model_a'))
    snap = dict(checkpoint=a['snapshot']) if a.get('snapshot') else None
    ts = snap and stages.run('test_s', lambda: test(work, data, snap, 'model_a_snapshot'))
    b = stages.run('train_b', lambda: train(work, data, 'model_b', args.minutes_b, seed=1, sec_per_iter=sec, vals=2))
    tb = stages.run('test_b', lambda: test(work, data, b, 'model_b'))

    tested = [t for t in (ta, ts, tb) if t]

    def ensemble():
        out = work / 'ensemble'
        say(f'ensemble of {len(tested)} members: fusion settings chosen on the validation split (--tune)')
        val_preds = [Path(t['pred_dir_valid']) / 'pred.json' for t in tested]
        run([PY, ROOT / 'tools' / 'ensemble.py', *val_preds, '--ann-file', data / 'valid.json', '--tune',
             '--out-dir', out / 'valid'], work / 'ensemble_valid.log', echo_all=True)
        settings_file = out / 'valid' / 'fusion_settings.json'
        settings = json.loads(settings_file.read_text())['settings']
        say(f'chosen on validation: {settings}; the test split with them unchanged:')
        preds = [Path(t['pred_dir']) / 'pred.json' for t in tested]
        run([PY, ROOT / 'tools' / 'ensemble.py', *preds, '--ann-file', data / 'test.json', '--settings',
             settings_file, '--out-dir', out], work / 'ensemble.log', echo_all=True)
        return dict(rows=json.loads((out / 'ensemble.json').read_text()), settings=settings,
                    settings_file=str(settings_file), numbers=settings['numbers'])

    ens = stages.run('ensemble', ensemble)
    real = None if args.no_real else photo_folder(args.real_dir)
    if real is None:
        say(f'real: skipped ({"--no-real" if args.no_real else f"no labelled real photos in {args.real_dir}"})')
        rl = None
    else:
        members = {'model_a': a, **({'model_a_snapshot': snap} if snap else {}), 'model_b': b}
        rl = stages.run('real', lambda: real_photos(work, real, members, ens))
    spd = stages.run('speed', lambda: speed(a, data))
    stages.run('pictures', lambda: pictures(work, data, {**a, **ta}, {**b, **tb}, real, rl and rl['model_a']))
    summary = write_summary(work, stages.done, ta, tb, ens, spd, rl, ts)
    say(f'done in {(time.time() - t_start) / 60:.1f} min this run; everything is in {work}')
    return summary


def write_summary(work, done, ta, tb, ens, spd, rl=None, ts=None) -> dict:
    minutes = {k: round(v['seconds'] / 60, 2) for k, v in done.items()}
    fused, vote = table_row(ens['rows'], 'fused'), table_row(ens['rows'], 'vote')
    models = {
        'model_a': dict(bbox_mAP=ta['bbox_mAP'], bbox_mAP_50=ta['bbox_mAP_50'], seq_acc=ta['seq_acc'],
                        seq_acc_thr=ta['seq_acc_thr'], per_length=ta['per_length'],
                        train_minutes=minutes['train_a'], infer_images_per_s=spd['infer_images_per_s']),
        'model_b': dict(bbox_mAP=tb['bbox_mAP'], bbox_mAP_50=tb['bbox_mAP_50'], seq_acc=tb['seq_acc'],
                        seq_acc_thr=tb['seq_acc_thr'], per_length=tb['per_length'], train_minutes=minutes['train_b']),
        **({'model_a_snapshot': dict(bbox_mAP=ts['bbox_mAP'], bbox_mAP_50=ts['bbox_mAP_50'], seq_acc=ts['seq_acc'],
                                     seq_acc_thr=ts['seq_acc_thr'], per_length=ts['per_length'])} if ts else {}),
        'ensemble_fused_boxes': dict(bbox_mAP=fused['bbox_mAP'], bbox_mAP_50=fused['bbox_mAP_50'],
                                     seq_acc=fused['accuracy'], seq_acc_thr=fused['thr']),
        'ensemble_number_vote': dict(seq_acc=vote['accuracy']),
        # what the ensemble's pred.csv holds: the way chosen on the validation split
        'ensemble': dict(bbox_mAP=fused['bbox_mAP'], bbox_mAP_50=fused['bbox_mAP_50'],
                         seq_acc=(fused if ens['numbers'] == 'fused' else vote)['accuracy'],
                         numbers=ens['numbers']),
    }
    if rl is not None:  # the same rows on the real photos
        rfused, rvote = table_row(rl['ensemble_rows'], 'fused'), table_row(rl['ensemble_rows'], 'vote')
        for key, r in rl['members'].items():
            models[key]['real'] = {k: r[k] for k in ('bbox_mAP', 'bbox_mAP_50', 'seq_acc', 'digit_precision',
                                                    'digit_recall', 'per_length')}
        models['ensemble_fused_boxes']['real'] = dict(bbox_mAP=rfused['bbox_mAP'], bbox_mAP_50=rfused['bbox_mAP_50'],
                                                      seq_acc=rfused['accuracy'])
        models['ensemble_number_vote']['real'] = dict(seq_acc=rvote['accuracy'])
        models['ensemble']['real'] = dict(bbox_mAP=rfused['bbox_mAP'], bbox_mAP_50=rfused['bbox_mAP_50'],
                                          seq_acc=(rfused if ens['numbers'] == 'fused' else rvote)['accuracy'])
    summary = dict(models=models, stage_minutes=minutes, total_minutes=round(sum(minutes.values()), 1),
                   real=rl and dict(ann_file=rl['ann_file'], images=rl['images'], box_ratios_a=rl['box_ratios_a']),
                   machine=dict(cores=os.cpu_count(), platform=sys.platform), date=time.strftime('%Y-%m-%d'))
    (work / 'summary.json').write_text(json.dumps(summary, indent=2))
    print(f'\n{"":<22} {"synthetic test split":^20} {"real photos":^20}')
    print(f'{"":<22} {"mAP":>6} {"AP50":>6} {"acc":>6} {"mAP":>6} {"AP50":>6} {"acc":>6} {"thr":>5} {"train min":>9}')
    for name, m in models.items():
        r = m.get('real') or {}
        row = [m.get('bbox_mAP'), m.get('bbox_mAP_50'), m.get('seq_acc'), r.get('bbox_mAP'), r.get('bbox_mAP_50'),
               r.get('seq_acc')]
        cells = ' '.join(f'{v:6.4f}' if v is not None else f'{"":>6}' for v in row)
        thr = f'{m["seq_acc_thr"]:.2f}' if m.get('seq_acc_thr') is not None else ''
        print(f'{name:<22} {cells} {thr:>5} {m.get("train_minutes", ""):>9}')
    print('per-length accuracy (model A): ' + ', '.join(f'{k}={v:.3f}' for k, v in ta['per_length'].items()))
    if rl is not None:
        ra = rl['model_a']
        print(f'real photos ({rl["images"]}, model A): per-length ' + ', '.join(
            f'{k}={v:.3f}' for k, v in ra['per_length'].items()) + f'; digit precision {ra["digit_precision"]:.3f}, '
            f'recall {ra["digit_recall"]:.3f}; box width/height ratio to the real boxes (median) '
            f'{rl["box_ratios_a"]["width_ratio"][1]}/{rl["box_ratios_a"]["height_ratio"][1]}')
    print(f'inference (model A): {spd["infer_images_per_s"]} images/s on {os.cpu_count()} cores, batch 16')
    print('stage minutes: ' + ', '.join(f'{k} {v}' for k, v in minutes.items()))
    return summary


if __name__ == '__main__':
    main()
