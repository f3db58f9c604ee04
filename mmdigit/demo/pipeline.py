"""The demo's stages, from synthetic data to the pictures (``run_demo``; ``tools/demo.py`` is its argparse
shell). Each stage runs the repository's tools (tools/train.py, tools/test.py, tools/ensemble.py,
tools/dataset_converters/make_synthetic.py) as processes, their logs in the work dir, and returns what
``stages.json`` keeps of it; ``DemoSettings`` holds the sizes, minutes and ensemble members' seeds."""
from __future__ import annotations

import dataclasses
import json
import math
import os
import shutil
import sys
import time
from functools import partial
from pathlib import Path

from mmdigit.datasets.layout import REAL_DEV, photo_folder, split_paths
from mmdigit.models.crop_reclassification import RCNN_NMS, READING
from mmdigit.utils.run_files import last_checkpoint, read_metrics

from .finetune_curve import FINETUNE_CONFIG
from .reader_spec import FinetuneSpec, demo_spec
from .stages import Stages, run_tool, say
from .summary import scores, write_summary

ROOT = Path(__file__).resolve().parents[2]  # the repository: its tools/ and configs/
PY = sys.executable
CONFIG = ROOT / 'configs' / 'digit_frcnn_r18_cpu.py'
CROP_CONFIG = ROOT / 'configs' / 'digit_crop_classifier_cpu.py'  # model A's second opinion on each digit's class
# model A's test-time views: the same checkpoint reading the photos another way, each an ensemble member
VIEW_CONFIGS = {view: ROOT / 'configs' / f'digit_frcnn_r18_cpu_{view}.py'
                for view in ('stretched', 'inverted', 'grayscale', 'larger', 'equalized', 'smaller', 'widecrop',
                             'tightcrop')}
SPEED_IMAGES = 400  # test images the speed stage reads, 16 at a time
PROBE_IMAGES = 400  # training images rendered to time a training step before the data stage
DATA_MARGIN = 0.1  # training images rendered beyond what the measured step time says training will read
# What one view adds to the demo in multiples of model A's own test stage, and what the stages after the views
# take (fusing, the real photos' fusion, the speed of A and the reader, the pictures), and a margin kept free.
# Each test stage reads a member's test and validation splits and the real photos in one tools/test.py process.
# Measured on 2026-12-01 at 18:26 UTC on a 2-core AVX2 AMD EPYC (the 16:05 demo's A read again, four views): A's
# test 1.13 min, a view's 1.03-1.17, its share of fusing and of timing the reader ~0.2, the stages after the
# views ~1.0 beyond those shares: 29.6 min in all with four views (estimated 29.6). On an AVX-512 machine
# (06:21) a test stage took ~0.6 min, so all six views fit there. On 2026-12-04 (07:07 UTC, the same kind of AVX2
# machine) 1.12 / 0.9 let all six views in and the demo ran 31.0 min: A's test 0.83, the views' 0.88-1.06, the stages
# after them 1.9 (2.3x A's test; six views' fusing and reader timing). Hence a view's share of those stages counted
# in its cost: 1.3 (the whole demo of that run estimated 30.65 with six views, so five).
VIEW_COST, TAIL_COST, SPARE_MINUTES = 1.3, 1.0, 0.3

_run = partial(run_tool, cwd=ROOT)
CALIBRATION_SEED = 7  # of the renders A's threshold is chosen on: another seed than the data stage's (0)
NUMBER_FREE_SEED, NUMBER_FREE_RENDERS = 11, 200  # the renders without a number every member reads (number_free)


@dataclasses.dataclass(frozen=True)
class DemoSettings:
    """What a demo run makes and trains; ``tools/demo.py``'s flags default to these."""
    train_images: int = 60000  # at most: as many as model A's minutes will read at the measured step time
    valid_images: int = 1000
    test_images: int = 2000
    # renders of their own (another seed) that A's reading threshold is chosen on (0: the validation split): calibrate
    calibration_images: int = 3000
    # which real SVHN split's geometry the renders follow (make_synthetic.py --geometry): 'mix' (half each), or 'test'
    # for photos that show their number small in more scene. Two training seeds each, 2026-12-06 (docs/real_photos.md,
    # "SVHN test's geometry alone"): 'test' read real-dev's photos in a canvas 3x their size 0.548-0.552 against
    # 0.440-0.483, but real-dev as it is 0.703-0.710 against 0.722-0.741 and the synthetic test split 0.5-1.5 points
    # lower
    geometry: str = 'mix'
    # model A's training loop budget, validations included: its detector's (18 minutes until 2026-12-05) and its
    # digit crop classifier's (CROP_CONFIG; 0: none), which the 18 minutes now hold together
    minutes_a: float = 15.0
    minutes_crop: float = 3.0
    # model B's (a second, short run); 0: none. Measured in every demo since 2026-11-29: too weak to add to A
    minutes_b: float = 0.0
    seed_a: int = 0
    seed_b: int = 1
    validations_a: int = 3  # about how often each run validates (and so checkpoints: A's snapshot is one of them)
    validations_b: int = 2
    # model A's test-time views, each an ensemble member (VIEW_CONFIGS); --tune-members chooses among them. These
    # six are what validation chose out of A and nine views (2026-12-01, docs/ensembles.md: grayscale and larger
    # not chosen), in the order the budget keeps them: the smaller view before the equalized one, since in the
    # three runs that offered both (the 06:21 and 07:28 demos, the 16:05 demo's A read again at 18:26) validation
    # chose the smaller view every time and the equalized one never. From 2026-12-04 to 12-06 model A read photos
    # contrast-stretched and 'unstretched' (the photo as it is) stood where 'stretched' stands again
    views: tuple = ('stretched', 'inverted', 'smaller', 'widecrop', 'tightcrop', 'equalized')
    # A's snapshot as a member: in the demos of 2026-11-30 it added nothing on the test split or the real photos
    # (it misses what A misses), so it is off by default
    snapshot_member: bool = False
    # the demo's whole time: views that would end it later are left out, the last first (0: every view)
    budget_minutes: float = 30.0
    real_dir: str = str(REAL_DEV)  # labelled real photos: a COCO json + images/
    no_real: bool = False  # skip the real-photo evaluation
    # the members also read the real photos framed wider, each in a canvas this many times its size (0: not)
    wider_factor: float = 1.5
    force: bool = False  # redo every stage


DEFAULTS = DemoSettings()


def make_data(work: Path, data: Path, s: DemoSettings, train_images: int) -> dict:
    _run([PY, ROOT / 'tools' / 'dataset_converters' / 'make_synthetic.py', '--out', data, '--train',
          train_images, '--valid', s.valid_images, '--test', s.test_images, '--seed', 0, '--geometry', s.geometry,
          '--force'], work / 'data.log')
    return dict(train=train_images, valid=s.valid_images, test=s.test_images, geometry=s.geometry)


def training_images(sec_per_iter: float, minutes: float, batch: int, most: int) -> int:
    """How many training images to render: what ``minutes`` of training at ``sec_per_iter`` will read (batches
    of ``batch``) and ``DATA_MARGIN`` more in case the machine speeds up, in thousands, at most ``most``. A slow
    machine (2500 iterations of 16 in 18 minutes on a 2-core CPU without AVX-512) never reads 60,000 images, and
    rendering the ones it would not read took ~1.5 of the demo's minutes there."""
    reads = minutes * 60 / max(sec_per_iter, 1e-6) * batch * (1 + DATA_MARGIN)
    return int(min(most, max(1000, math.ceil(reads / 1000) * 1000)))


def ensemble(work: Path, data: Path, tested: dict) -> dict:
    """Fusion settings, the members included, chosen on the validation split (tools/ensemble.py --tune
    --tune-members), then the test split with them unchanged (--settings): nothing is chosen on the split that
    is reported."""
    out = work / 'ensemble'
    say(f'ensemble of up to {len(tested)} members ({", ".join(tested)}): fusion settings and members chosen on '
        'the validation split (--tune --tune-members)')
    val_preds = [Path(t['pred_dir_valid']) / 'pred.json' for t in tested.values()]
    _run([PY, ROOT / 'tools' / 'ensemble.py', *val_preds, '--ann-file', split_paths(data, 'valid')[0], '--tune',
          '--tune-members', '--out-dir', out / 'valid'], work / 'ensemble_valid.log', echo_all=True)
    settings_file = out / 'valid' / 'fusion_settings.json'
    settings = json.loads(settings_file.read_text())['settings']
    names = list(tested)
    members = names if settings.get('members') is None else [names[i] for i in settings['members']]
    say(f'chosen on validation: {settings} ({", ".join(members)}); the test split with them unchanged:')
    rows = fuse_with_settings([t['pred_dir'] for t in tested.values()], split_paths(data, 'test')[0], settings_file,
                              out, work / 'ensemble.log')
    return dict(rows=rows, settings=settings, settings_file=str(settings_file), numbers=settings['numbers'],
                members=members)


def fuse_with_settings(pred_dirs: list, ann_file, settings_file, out: Path, log: Path) -> list:
    """The members' predictions of one labelled set (``pred_dirs``, in the order the settings were chosen for)
    fused with the settings chosen on the validation split, unchanged (tools/ensemble.py --settings, into ``out``);
    the table's rows (``ensemble.json``)."""
    _run([PY, ROOT / 'tools' / 'ensemble.py', *(Path(d) / 'pred.json' for d in pred_dirs), '--ann-file', ann_file,
          '--settings', settings_file, '--out-dir', out], log, echo_all=True)
    return json.loads((out / 'ensemble.json').read_text())


def step_time(work: Path) -> dict:
    """Seconds per training step of the CPU config here, measured on ``PROBE_IMAGES`` training images rendered
    for it (and removed after), so the data stage can render as many as training will read."""
    from mmdigit.engine import load_config, seconds_per_iter, set_data_root
    probe = work / 'step_probe'
    _run([PY, ROOT / 'tools' / 'dataset_converters' / 'make_synthetic.py', '--out', probe, '--train',
          PROBE_IMAGES, '--valid', 0, '--test', 0, '--seed', 0, '--force'], work / 'step_probe.log')
    try:
        cfg = load_config(str(CONFIG))
        set_data_root(cfg, str(probe))
        sec = seconds_per_iter(cfg)
    finally:
        shutil.rmtree(probe, ignore_errors=True)
    print(f'   {sec:.3f} s per training step (batch {cfg.train_dataloader.batch_size}, incl. loop overhead)')
    return dict(seconds_per_iter=sec, batch=cfg.train_dataloader.batch_size)


def train(work: Path, data: Path, name: str, minutes: float, seed: int, sec_per_iter: float, vals: int) -> dict:
    """Train the CPU config for ``minutes`` of loop time (TrainTimeBudgetHook re-plans the iteration count and
    the cosine end while it runs; the measured step time is its first guess), validating about ``vals`` times."""
    from mmdigit.engine import iters_for_minutes, load_config, schedule_options
    guess = iters_for_minutes(sec_per_iter, minutes)
    val = max(100, guess // vals // 100 * 100)
    out = work / name
    if out.exists():
        shutil.rmtree(out)
    schedule = schedule_options(load_config(str(CONFIG)), guess, val)
    cmd = [PY, ROOT / 'tools' / 'train.py', CONFIG, '--work-dir', out, '--data-root', data, '--cfg-options',
           *(f'{k}={v}' for k, v in schedule.items()), f'randomness.seed={seed}', '--minutes', minutes]
    _run(cmd, out / 'train.log')
    checkpoint = last_checkpoint(out, ran_in=ROOT)
    iters = int(checkpoint.stem.split('_')[-1])
    earlier = {int(c.stem.split('_')[1]): c for c in out.glob('iter_*.pth') if c != checkpoint}
    snap = snapshot_iter(sorted(earlier), iters)
    return dict(work_dir=str(out), iters=iters, planned_iters=guess, checkpoint=str(checkpoint),
                snapshot=str(earlier[snap]) if snap is not None else None)


def train_crop_classifier(work: Path, data: Path, minutes: float) -> dict:
    """Model A's digit crop classifier: CROP_CONFIG on the rendered training split's digits for ``minutes`` of
    loop time (validating on the validation split's digits at the end)."""
    out = work / 'crop_classifier'
    if out.exists():
        shutil.rmtree(out)
    _run([PY, ROOT / 'tools' / 'train.py', CROP_CONFIG, '--work-dir', out, '--data-root', data, '--minutes', minutes],
         out / 'train.log')
    from mmdigit.visualization.curves import read_scalars
    checkpoint = last_checkpoint(out, ran_in=ROOT)
    accuracy = [m['crop/accuracy'] for m in read_scalars(out) if 'crop/accuracy' in m]
    return dict(work_dir=str(out), checkpoint=str(checkpoint), iters=int(checkpoint.stem.split('_')[-1]),
                valid_digit_accuracy=accuracy[-1] if accuracy else None)


def calibrate(work: Path, data: Path, trained: dict, name: str, images: int = 0, geometry: str = 'mix') -> dict:
    """The Task-2 threshold for how a member reads (``trained['config']``: A with its crop classifier), chosen by
    tools/calibrate.py and stored beside its checkpoint, where its test stages and its views' find it: training chose
    one for the detector alone, and the classifier moves the scores. Chosen on ``images`` renders of their own
    (``CALIBRATION_SEED``, ``<work>/calibration/``, in the data's ``geometry``), or on the validation split when
    ``images`` is 0.

    Why renders of their own (2026-12-05): the validation split's 1,000 renders place the threshold on a flat top
    by a few images, and the demo renders the same split every run (seed 0): it chose 0.45-0.55 for four models
    whose synthetic test split, 3,000 renders of another seed and the real photos all read best at 0.35-0.45.
    Chosen on those 3,000 renders (0.35-0.40), the four read the test split 0.3-1.0 points better and the real
    photos 0.8-2.3 (README, "Chosen on renders of their own"); ~0.6 min more than on validation."""
    if images:
        cal = work / 'calibration'
        _run([PY, ROOT / 'tools' / 'dataset_converters' / 'make_synthetic.py', '--out', cal, '--train', 0,
              '--valid', 0, '--test', images, '--seed', CALIBRATION_SEED, '--geometry', geometry, '--force'],
             work / 'calibration.log')
        where = ['--img-dir', cal / 'test', '--ann-file', cal / 'test.json']
    else:
        where = ['--data-root', data]
    _run([PY, ROOT / 'tools' / 'calibrate.py', trained['config'], trained['checkpoint'], *where,
          '--work-dir', work / name / 'calibrate'], work / name / 'calibrate.log')
    from mmdigit.engine import load_config
    from mmdigit.recognition import ReadingSettings
    reading = ReadingSettings.resolve(load_config(trained['config']), trained['checkpoint'])
    return dict(score_thr=reading.score_thr, number_thr=reading.number_thr, source=reading.source,
                images=images or 'validation')


def reading_of(config) -> str:
    """What a member's test stage depends on in its config, as a short digest: the model's test settings and the test
    pipeline of the merged config (its bases included). A test stage records it, so a re-run after the reading
    changed (soft-NMS in A's R-CNN, a view's pipeline) reads again instead of reporting the old reading."""
    import hashlib

    from mmdigit.engine import load_config
    cfg = load_config(str(config))
    what = dict(test_cfg=cfg.model.get('test_cfg'), pipeline=cfg.test_dataloader.dataset.pipeline)
    return hashlib.sha1(json.dumps(what, sort_keys=True, default=str).encode()).hexdigest()[:12]


def reading_config(work: Path, config: Path, classifier: str, name: str, soft_nms: bool = True) -> Path:
    """``config`` reading as model A reads: with its crop classifier (``test_cfg.reclassify``) and, with
    ``soft_nms``, the R-CNN's soft-NMS (``RCNN_NMS``: model A's own reading; an ensemble view hands the fusion its
    boxes after plain NMS, the fusion suppressing duplicates itself): a config file in ``<work>/configs/`` that
    inherits it, so every tool, the demo's reader and a user's command read alike."""
    path = work / 'configs' / f'{name}.py'
    path.parent.mkdir(parents=True, exist_ok=True)
    nms = f'rcnn=dict(nms={RCNN_NMS!r}), ' if soft_nms else ''
    text = (f'# {name}: {Path(config).name} reading with the demo\'s digit crop classifier (written by tools/demo.py)\n'
            f'_base_ = {str(config)!r}\n'
            f'model = dict(test_cfg=dict({nms}reclassify=dict(classifier={classifier!r}, '
            + ', '.join(f'{k}={v!r}' for k, v in READING.items()) + ')))\n')
    if not path.is_file() or path.read_text(encoding='utf-8') != text:
        path.write_text(text, encoding='utf-8')
    return path


def snapshot_iter(checkpoint_iters: list[int], final: int, share: float = 0.85) -> int | None:
    """The ensemble's snapshot member: the latest earlier checkpoint at most ``share`` of the way through the
    run, so it is not the final model again (the time budget can end a run just after a checkpoint: 5100 of
    5161); the earliest when all are later."""
    if not checkpoint_iters:
        return None
    early = [i for i in checkpoint_iters if i <= share * final]
    return early[-1] if early else checkpoint_iters[0]


def run_test_real(work: Path, real: tuple, trained: dict, name: str) -> dict:
    """A trained model on the real photos alone: tools/test.py on a labelled image folder (with the member's
    config: ``trained['config']``, else the CPU config). For a member whose test stage did not read them."""
    ann, images = real
    pred = work / name / 'pred_real'
    _run([PY, ROOT / 'tools' / 'test.py', trained.get('config', CONFIG), trained['checkpoint'], '--img-dir', images,
          '--ann-file', ann, '--pred-dir', pred, '--work-dir', work / name / 'test_real'],
         work / name / 'test_real.log')
    return scores(read_metrics(pred), pred)


def wider_photos(work: Path, real: tuple, factor: float) -> dict:
    """The real photos framed wider: each photo in a canvas ``factor`` times its size, the labels moved with it
    (:mod:`mmdigit.datasets.wider_scene`, written to ``<work>/real_wider_<factor>/``), for every member's test stage
    to read beside the photos as they are (:func:`real_wider` reports them).

    Why: real-dev holds SVHN *train* photos, and SVHN's test photos frame their numbers wider (number width / image
    width median 0.198 against 0.291; README, "Where it stands"); the project is also checked on real photos not in
    ../shared. Every demo now says how A and its ensemble read numbers small in a wider scene."""
    from mmdigit.datasets.wider_scene import write_wider_scene_set
    ann, images = real
    out = work / f'real_wider_{factor:g}'
    try:
        write_wider_scene_set(ann, images, out, factor, seed=0, overwrite=True)
    except (OSError, ValueError) as e:  # a photo that cannot be read or written: one line, the stages done kept
        raise SystemExit(f'[demo] failed: wider_photos: {e}') from None
    return dict(ann_file=str(out / 'ann.json'), images=str(out / 'images'), factor=factor)


def real_wider(work: Path, wider: dict, tests: dict, ens: dict | None) -> dict:
    """Model A and the ensemble (the settings chosen on the validation split; none without ``ens``) on the real
    photos framed wider (:func:`wider_photos`), which every member's test stage read."""
    members = {name: t['real_wider'] for name, t in tests.items()}
    rows = None if ens is None else fuse_with_settings([r['pred_dir'] for r in members.values()], wider['ann_file'],
                                                       ens['settings_file'], work / 'ensemble' / 'real_wider',
                                                       work / 'ensemble_real_wider.log')
    return dict(factor=wider['factor'], ann_file=wider['ann_file'], model_a=members['model_a'], members=members,
                ensemble_rows=rows)


def run_test(work: Path, data: Path, trained: dict, name: str, real: tuple | None = None,
             wider: tuple | None = None, number_free: dict | None = None) -> dict:
    """A trained model (``trained['config']``, else the CPU config) on the test and validation splits, the
    labelled ``real`` photos, the same photos framed ``wider`` (each a COCO json and its image folder) and the
    ``number_free`` sets (``{name: (COCO json, image folder)}``: :func:`number_free_sets`) when given: one
    tools/test.py process (``--also-read``), one start-up for them all."""
    config = trained.get('config', CONFIG)
    pred, pred_valid, pred_real, pred_wider = (work / name / d for d in ('pred', 'pred_valid', 'pred_real',
                                                                         'pred_real_wider'))
    valid_json, valid_images = split_paths(data, 'valid')
    also = [('--also-read', valid_images, valid_json, pred_valid)]
    if real is not None:
        also.append(('--also-read', real[1], real[0], pred_real))
    if wider is not None:
        also.append(('--also-read', wider[1], wider[0], pred_wider))
    free = {k: work / name / f'pred_{k}' for k in (number_free or {})}
    also += [('--also-read', number_free[k][1], number_free[k][0], d) for k, d in free.items()]
    _run([PY, ROOT / 'tools' / 'test.py', config, trained['checkpoint'], '--pred-dir', pred, '--work-dir',
         work / name / 'test', '--data-root', data, *(a for flag in also for a in flag)], work / name / 'test.log')
    from mmdigit.engine import load_config
    from mmdigit.recognition import Calibration, reclassify_of
    calibration = Calibration.find(trained['checkpoint'], reclassify_of(load_config(str(config))))
    return dict(scores(read_metrics(pred), pred), pred_dir_valid=str(pred_valid),
                val_calibrated_acc=calibration and calibration.accuracy,
                **({'real': scores(read_metrics(pred_real), pred_real)} if real is not None else {}),
                **({'real_wider': scores(read_metrics(pred_wider), pred_wider)} if wider is not None else {}),
                **({'number_free': {k: numbers_read(d) for k, d in free.items()}} if free else {}))


def numbers_read(pred_dir: Path) -> dict:
    """How many images of a set without a number a tools/test.py run read a number in (its ``metrics.json``)."""
    m = read_metrics(pred_dir)
    return dict(pred_dir=str(pred_dir), images=int(m['pred/images']), read=int(m['pred/read']))


def number_free_sets(work: Path, real: tuple | None, geometry: str = 'mix') -> dict:
    """Photos without a number, for every member's test stage to read: ``NUMBER_FREE_RENDERS`` renders of the
    generator's scenes with no number (``<work>/number_free/renders``; its digit-like distractors) and, with labelled
    ``real`` photos, the real scenery beside their numbers (``<work>/number_free/real_strips``,
    :mod:`mmdigit.datasets.number_free`). Why: every other set holds a number in each image, so nothing measured the
    numbers read where there is none (2026-12-06: the 13:40 demo's A read one in 119 of 200 such renders)."""
    from mmdigit.datasets.number_free import write_number_free_set
    out = work / 'number_free'
    _run([PY, ROOT / 'tools' / 'dataset_converters' / 'make_synthetic.py', '--out', out / 'renders', '--train', 0,
          '--valid', 0, '--test', NUMBER_FREE_RENDERS, '--empty-frac', 1.0, '--seed', NUMBER_FREE_SEED,
          '--geometry', geometry, '--force'], work / 'number_free.log')
    sets = {'renders': (str(out / 'renders' / 'test.json'), str(out / 'renders' / 'test'))}
    if real is not None:
        try:
            write_number_free_set(real[0], real[1], out / 'real_strips', overwrite=True)
        except (OSError, ValueError) as e:  # a photo that cannot be read: one line, the stages done kept
            raise SystemExit(f'[demo] failed: number_free: {e}') from None
        sets['real_strips'] = (str(out / 'real_strips' / 'ann.json'), str(out / 'real_strips' / 'images'))
    return dict(sets=sets)


def no_number(work: Path, number_free: dict, tests: dict, ens: dict | None) -> dict:
    """Model A and the ensemble (the settings chosen on the validation split; none without ``ens``) on the photos
    without a number (:func:`number_free_sets`), which every member's test stage read: how many of each set's
    images they read a number in (``{'sets': {set: {'images', 'model_a', 'ensemble'}}}``)."""
    from mmdigit.recognition import NO_NUMBER, read_pred_csv
    out = {}
    for k, (ann, _) in number_free['sets'].items():
        members = {name: t['number_free'][k] for name, t in tests.items()}
        row = dict(images=members['model_a']['images'], model_a=members['model_a']['read'])
        if ens is not None:  # no digit labels, so no table: the numbers in the ensemble's pred.csv counted
            fused = work / 'ensemble' / k
            preds = [Path(m['pred_dir']) / 'pred.json' for m in members.values()]
            _run([PY, ROOT / 'tools' / 'ensemble.py', *preds, '--ann-file', ann, '--settings', ens['settings_file'],
                  '--out-dir', fused], work / f'ensemble_{k}.log')
            row['ensemble'] = sum(n != NO_NUMBER for n in read_pred_csv(fused / 'pred.csv').values())
        out[k] = row
    return dict(sets=out)


def speed(trained: dict, data: Path, reader_spec=None, n: int = SPEED_IMAGES) -> dict:
    """Images/s of model A through ``DigitReader`` (batch 16, warm), and of the demo's reader (``reader_spec``:
    every ensemble member reads every image) when it has members."""
    import torch

    from mmdigit.apis import DigitReader
    torch.set_num_threads(os.cpu_count() or 1)
    files = [str(f) for f in sorted(split_paths(data, 'test')[1].glob('*.png'))[:n]]

    def images_per_s(reader) -> float:
        reader.read_many(files[:16])  # warm-up
        t0 = time.perf_counter()
        for i in range(0, len(files), 16):
            reader.read_many(files[i:i + 16])
        return round(len(files) / (time.perf_counter() - t0), 1)

    out = dict(infer_images_per_s=images_per_s(DigitReader(str(trained.get('config', CONFIG)), trained['checkpoint'])),
               images=len(files), batch=16)
    if reader_spec is not None and reader_spec.members:
        reader = DigitReader(reader_spec.config, reader_spec.checkpoint, **reader_spec.reader_kwargs())
        out.update(reader_images_per_s=images_per_s(reader), reader_members=len(reader.members))
    return out


def real_photos(work: Path, real: tuple, members: dict, tests: dict, ens: dict | None) -> dict:
    """Every member and their ensemble (the choices made on the validation split; none without ``ens``) on the
    real photos, and whether model A's boxes follow the real boxes' convention."""
    from mmdigit.evaluation import PredictionSet, box_size_ratios
    ann, _ = real
    # read in each member's test stage (run_test), else here: a stage recorded by an older demo
    tested = {name: tests[name].get('real') or run_test_real(work, real, m, name) for name, m in members.items()}
    ra, rb = tested['model_a'], tested.get('model_b')
    rows = None if ens is None else fuse_with_settings([r['pred_dir'] for r in tested.values()], ann,
                                                       ens['settings_file'], work / 'ensemble' / 'real',
                                                       work / 'ensemble_real.log')
    preds_a = PredictionSet.load(ra['pred_dir'], ann)
    ratios = box_size_ratios(preds_a.gt.boxes, preds_a.detections, preds_a.reading)
    print(f'   model A on real photos: boxes matched {ratios["matched"]}, width ratio p25/p50/p75 '
          f'{ratios["width_ratio"]}, height ratio {ratios["height_ratio"]}, IoU {ratios["iou"]}')
    return dict(ann_file=str(ann), images=len(preds_a.gt.image_ids), model_a=ra, model_b=rb, members=tested,
                ensemble_rows=rows, box_ratios_a=ratios,
                labelled_boxes_a=labelled_boxes_of(work, real, members['model_a'], ra, 'model_a'))


def labelled_boxes_of(work: Path, real: tuple, member: dict, tested_real: dict, name: str) -> dict:
    """A member's classifier reading the real photos' labelled boxes, beside its own reading of them
    (:mod:`mmdigit.evaluation.labelled_boxes`): of its wrong numbers, how many detection costs and how many the
    classifier does. The whole report (every photo's two numbers) goes to ``<name>/labelled_boxes_real.json``;
    the counts, the accuracies and the commonest confusions come back."""
    from mmdigit.evaluation.labelled_boxes import labelled_box_report
    from mmdigit.utils import atomic_write_text
    ann, images = real
    report = labelled_box_report(member.get('config', CONFIG), member['checkpoint'], ann, images,
                                 tested_real['pred_dir'])
    atomic_write_text(work / name / 'labelled_boxes_real.json', json.dumps(report, indent=1))
    keep = ('digit_accuracy', 'number_accuracy', 'model_number_accuracy', 'errors')
    return dict({k: report[k] for k in keep}, confusions=report['confusions'][:5])


def pictures(work: Path, data: Path, a: dict, b: dict, real: tuple | None, real_a: dict | None) -> dict:
    from mmdigit.evaluation import PredictionSet
    from mmdigit.visualization import digit_confusion, plot_confusion, plot_runs, prediction_grid, reading_examples
    pics = work / 'pictures'
    runs = [(a['work_dir'], 'model A')] + ([(b['work_dir'], 'model B (short)')] if b else [])
    plot_runs([w for w, _ in runs], pics / 'curves.png', names=[n for _, n in runs])
    test_json, test_images = split_paths(data, 'test')
    p = PredictionSet.load(a['pred_dir'], test_json)
    plot_confusion(digit_confusion(p.gt.boxes, p.detections, p.reading), pics / 'confusion.png')
    prediction_grid(reading_examples(p.gt, p.detections, p.reading, test_images), pics / 'predictions.png')
    if real is not None and real_a is not None:
        p = PredictionSet.load(real_a['pred_dir'], real[0])
        prediction_grid(reading_examples(p.gt, p.detections, p.reading, real[1], right=12, wrong=12),
                        pics / 'real_predictions.png')
    return dict(pictures=sorted(str(p) for p in pics.glob('*.png')))


def views_in_budget(views: tuple, spent_min: float, test_a_min: float, budget_min: float) -> tuple:
    """The first of ``views`` that fit ``budget_min`` minutes (less ``SPARE_MINUTES``) after ``spent_min``: each
    costs ``VIEW_COST`` times model A's test stage (``test_a_min``, so a slower machine fits fewer), the stages
    after them ``TAIL_COST`` times; all of them when ``budget_min`` is 0."""
    if not budget_min or test_a_min <= 0:
        return tuple(views)
    room = budget_min - SPARE_MINUTES - spent_min - TAIL_COST * test_a_min
    return tuple(views)[:max(0, int(room // (VIEW_COST * test_a_min)))]


def run_demo(work: Path, s: DemoSettings = DEFAULTS) -> dict:
    """Every stage in order, each skipped when ``<work>/stages.json`` holds its result (``s.force`` redoes
    all); the summary (also ``<work>/summary.json``)."""
    work.mkdir(parents=True, exist_ok=True)
    data = work / 'data'
    stages = Stages(work, s.force)
    t_start = time.time()

    timed = stages.run('step_time', lambda: step_time(work))
    sec = timed['seconds_per_iter']
    n_train = training_images(sec, s.minutes_a, timed.get('batch', 16), s.train_images)
    # another --geometry renders other data, and so trains A and its classifier again (and redoes what follows them);
    # every demo before the flag rendered 'mix'
    keyed_by_geometry = dict(inputs=dict(geometry=s.geometry), inputs_before=dict(geometry='mix'))
    stages.run('data', lambda: make_data(work, data, s, n_train), **keyed_by_geometry)
    a = stages.run('train_a', lambda: train(work, data, 'model_a', s.minutes_a, seed=s.seed_a, sec_per_iter=sec,
                                            vals=s.validations_a), **keyed_by_geometry)
    # after=: a stage made from one this run made again (a new model A, a member read again) is redone, not
    # reported from the old one (the data stage is not among them: its seed, sizes and geometry make the same images)
    of_a = ('train_a',)
    crop = None
    # what a user with a few labelled photos of their own starts from: A, fine-tuned with these renders in every batch
    finetune = FinetuneSpec(str(FINETUNE_CONFIG), a['checkpoint'], str(data))
    if s.minutes_crop > 0:
        crop = stages.run('train_crop', lambda: train_crop_classifier(work, data, s.minutes_crop), **keyed_by_geometry)
        a = dict(a, config=str(reading_config(work, CONFIG, crop['work_dir'], 'model_a')))
        # ... and reads as A reads (A fine-tuned on 190 real photos: +1.5 / +3.1 points read so, none without: README)
        finetune = dataclasses.replace(finetune, config=str(reading_config(
            work, FINETUNE_CONFIG, crop['work_dir'], 'model_a_finetune')))
        stages.run('calibrate_a', lambda: calibrate(work, data, a, 'model_a', s.calibration_images, s.geometry),
                   inputs=dict(reading=reading_of(a['config']), images=s.calibration_images, geometry=s.geometry),
                   after=of_a + ('train_crop',))
        of_a = ('train_a', 'train_crop', 'calibrate_a')
    real = None if s.no_real else photo_folder(s.real_dir)
    wide = wider = None
    if real is not None and s.wider_factor:
        wide = stages.run('wider_photos', lambda: wider_photos(work, real, s.wider_factor),
                          inputs=dict(photos=str(real), factor=s.wider_factor))
        wider = (Path(wide['ann_file']), Path(wide['images']))
    # each member's test stage reads the real photos too, as they are and framed wider (one process); other photos
    # redo it, none reuses it; so does another reading (its config's test settings and pipeline)

    # photos without a number: renders of scenes with none and real scenery beside the real photos' numbers
    free = stages.run('number_free', lambda: number_free_sets(work, real, s.geometry),
                      inputs=dict(photos=str(real) if real else None, renders=NUMBER_FREE_RENDERS))['sets']
    test = partial(run_test, work, data, real=real, wider=wider, number_free=free)

    def tests_of(member: dict) -> dict:
        return dict(real=str(real) if real else None, wider=str(wider) if wider else None,
                    reading=reading_of(member.get('config', CONFIG)), number_free=sorted(free))
    ta = stages.run('test_a', lambda: test(a, 'model_a'), inputs=tests_of(a), after=of_a)
    spent = sum(stages.done.get(k, {}).get('seconds', 0)
                for k in ('data', 'step_time', 'train_a', 'train_crop', 'calibrate_a', 'test_a')) / 60
    test_a_min = ta.get('seconds', 0) / 60
    fit = views_in_budget(s.views, spent, test_a_min, s.budget_minutes)
    if len(fit) < len(s.views):
        say(f'views: {", ".join(s.views[len(fit):])} left out to end within --budget-minutes {s.budget_minutes:g} '
            f'({spent:.1f} min so far, a view ~{VIEW_COST * test_a_min:.1f} min here)')
    views, tv = {}, {}
    for v in fit:
        config = VIEW_CONFIGS[v] if crop is None else reading_config(work, VIEW_CONFIGS[v], crop['work_dir'],
                                                                      f'model_a_{v}', soft_nms=False)
        views[f'model_a_{v}'] = view = dict(checkpoint=a['checkpoint'], config=str(config))
        tv[f'model_a_{v}'] = stages.run(f'test_a_{v}', lambda m=view, v=v: test(m, f'model_a_{v}'),
                                        inputs=tests_of(view), after=of_a)
    # the snapshot and model B (the CPU config too) read as A does: with its crop classifier when it has one
    reads_as_a = {'config': a['config']} if crop else {}
    snap = dict(checkpoint=a['snapshot'], **reads_as_a) if s.snapshot_member and a.get('snapshot') else None
    ts = snap and stages.run('test_s', lambda: test(snap, 'model_a_snapshot'), inputs=tests_of(snap), after=of_a)
    b = s.minutes_b > 0 and stages.run('train_b', lambda: train(
        work, data, 'model_b', s.minutes_b, seed=s.seed_b, sec_per_iter=sec, vals=s.validations_b), **keyed_by_geometry)
    b = b and dict(b, **reads_as_a)
    tb = b and stages.run('test_b', lambda: test(b, 'model_b'), inputs=tests_of(b), after=('train_b', *of_a[1:]))
    members = {k: m for k, m in (('model_a', a), *views.items(), ('model_a_snapshot', snap), ('model_b', b)) if m}
    tested = {k: t for k, t in (('model_a', ta), *tv.items(), ('model_a_snapshot', ts), ('model_b', tb)) if t}
    stage_of = {'model_a': 'test_a', **{f'model_a_{v}': f'test_a_{v}' for v in fit}, 'model_a_snapshot': 'test_s',
                'model_b': 'test_b'}
    test_stages = tuple(stage_of[k] for k in tested)
    if len(tested) > 1:
        ens = stages.run('ensemble', lambda: ensemble(work, data, tested), inputs=list(tested), after=test_stages)
    else:
        why = (f'the budget left every view out; --budget-minutes 0 reads them all, past {s.budget_minutes:g} minutes'
               if s.views and not fit else 'no --views, --snapshot-member or --minutes-b')
        say(f'ensemble: skipped (model A is the only member: {why})')
        ens = None
    if real is None:
        say(f'real: skipped ({"--no-real" if s.no_real else f"no labelled real photos in {s.real_dir}"})')
        rl = None
    else:
        rl = stages.run('real', lambda: real_photos(work, real, members, tested, ens),
                        inputs=dict(members=list(members), photos=str(real)), after=(*test_stages, 'ensemble'))
    rw = None if wide is None else stages.run('real_wider', lambda: real_wider(work, wide, tested, ens),
                                              inputs=dict(members=list(members), photos=str(wider)),
                                              after=(*test_stages, 'ensemble', 'wider_photos'))
    nn = stages.run('no_number', lambda: no_number(work, dict(sets=free), tested, ens),
                    inputs=dict(members=list(members), sets=sorted(free)),
                    after=(*test_stages, 'ensemble', 'number_free'))
    reader = demo_spec({k: members[k] for k in tested}, ens, CONFIG)
    spd = stages.run('speed', lambda: speed(a, data, reader),  # the reader reads with the members chosen
                     inputs=dict(members=list(tested), chosen=ens and ens.get('members')),
                     after=('train_a', 'ensemble'))
    stages.run('pictures', lambda: pictures(work, data, {**a, **ta}, b and {**b, **tb}, real, rl and rl['model_a']),
               after=(*test_stages, 'real'))
    summary = write_summary(work, stages.this_run, ta, tb or None, ens, spd, rl, ts, tv, reader=reader, root=ROOT,
                            wide=rw, finetune=finetune, no_number=nn)
    say(f'done in {(time.time() - t_start) / 60:.1f} min this run; everything is in {work}')
    return summary
