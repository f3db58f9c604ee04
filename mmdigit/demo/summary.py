"""The demo's numbers: a tools/test.py run's scores (``scores``) and the final table of every model and the
ensemble on the synthetic test split and the real photos (``write_summary``: ``summary.json`` and the table
printed)."""
from __future__ import annotations

import dataclasses
import json
import os
import time
from pathlib import Path

from mmdigit.ensemble import table_row
from mmdigit.utils.machine import machine_facts


def scores(metrics: dict, pred_dir: Path) -> dict:
    """The demo's numbers from a tools/test.py metrics file (and the threshold its pred.csv was read at)."""
    from mmdigit.recognition import ReadingSettings
    reading = ReadingSettings.from_pred_info(pred_dir)
    return dict(pred_dir=str(pred_dir), bbox_mAP=metrics['coco/bbox_mAP'], bbox_mAP_50=metrics['coco/bbox_mAP_50'],
                seq_acc=metrics['digit/accuracy'], seq_acc_thr=reading.score_thr, number_thr=reading.number_thr,
                seq_acc_best_thr_on_set=metrics['digit/best_accuracy'],
                digit_precision=metrics['digit/digit_precision'], digit_recall=metrics['digit/digit_recall'],
                per_length={k.split('/')[1]: v for k, v in metrics.items() if 'accuracy_len' in k})


def _member(t: dict, **extra) -> dict:
    return dict(bbox_mAP=t['bbox_mAP'], bbox_mAP_50=t['bbox_mAP_50'], seq_acc=t['seq_acc'],
                seq_acc_thr=t['seq_acc_thr'], per_length=t['per_length'],
                **({'number_thr': t['number_thr']} if t.get('number_thr') else {}), **extra)


# a member's scores on a set of labelled photos, as summary.json keeps them
PHOTO_SCORES = ('bbox_mAP', 'bbox_mAP_50', 'seq_acc', 'digit_precision', 'digit_recall', 'per_length')


def _ensemble_reading(rows: list, numbers: str) -> dict:
    """What the ensemble's pred.json / pred.csv score on one set (its table ``rows``): the fused boxes' mAP and the
    numbers the way chosen on the validation split (``numbers``: the fused boxes or the vote)."""
    fused, vote = table_row(rows, 'fused'), table_row(rows, 'vote')
    return dict(bbox_mAP=fused['bbox_mAP'], bbox_mAP_50=fused['bbox_mAP_50'],
                seq_acc=(fused if numbers == 'fused' else vote)['accuracy'])


def _wider(wide: dict, ens: dict | None) -> dict:
    """summary.json's ``real_wider``: model A's scores on the real photos framed wider and, with an ensemble, its
    reading of them."""
    out = dict(factor=wide['factor'], ann_file=wide['ann_file'],
               model_a={k: wide['model_a'][k] for k in PHOTO_SCORES})
    if ens is not None and wide.get('ensemble_rows'):
        out['ensemble'] = _ensemble_reading(wide['ensemble_rows'], ens['numbers'])
    return out


def write_summary(work, done, ta, tb, ens, spd, rl=None, ts=None, tv=None, reader=None, root=None,
                  wide=None, finetune=None, no_number=None) -> dict:
    """``tb`` (model B) and ``ts`` (A's snapshot) are None when that member did not run, ``ens`` when there was
    no ensemble; ``tv``: A's test-time views (``{'model_a_inverted': test result, ...}``; None or empty: none);
    ``ens['members']`` names the members the ensemble fused (chosen on validation). ``reader``: the
    :class:`~mmdigit.demo.reader_spec.ReaderSpec` that reads photos as the demo's ensemble did (kept as ``reader``
    and printed as a command, paths relative to ``root``). ``wide``: the real photos framed wider
    (:func:`mmdigit.demo.pipeline.real_wider`'s result; None: not read). ``finetune``: the
    :class:`~mmdigit.demo.reader_spec.FinetuneSpec` of model A (kept as ``finetune`` and printed as two commands).
    ``no_number``: the numbers read in photos without one (:func:`mmdigit.demo.pipeline.no_number`'s result)."""
    minutes = {k: round(v['seconds'] / 60, 2) for k, v in done.items()}
    models = {
        'model_a': _member(ta, train_minutes=minutes['train_a'], infer_images_per_s=spd['infer_images_per_s']),
        **{name: _member(t) for name, t in (tv or {}).items()},
        **({'model_b': _member(tb, train_minutes=minutes['train_b'])} if tb else {}),
        **({'model_a_snapshot': _member(ts)} if ts else {}),
    }
    if ens is not None:
        fused, vote = table_row(ens['rows'], 'fused'), table_row(ens['rows'], 'vote')
        models['ensemble_fused_boxes'] = dict(bbox_mAP=fused['bbox_mAP'], bbox_mAP_50=fused['bbox_mAP_50'],
                                              seq_acc=fused['accuracy'], seq_acc_thr=fused['thr'])
        models['ensemble_number_vote'] = dict(seq_acc=vote['accuracy'])
        # what the ensemble's pred.csv holds: the way chosen on the validation split
        models['ensemble'] = dict(_ensemble_reading(ens['rows'], ens['numbers']), numbers=ens['numbers'],
                                  **({'members': ens['members']} if 'members' in ens else {}))
        if 'reader_images_per_s' in spd:  # the demo's reader: every member reads every image
            models['ensemble']['infer_images_per_s'] = spd['reader_images_per_s']
    if rl is not None:  # the same rows on the real photos
        for key, r in rl['members'].items():
            models[key]['real'] = {k: r[k] for k in PHOTO_SCORES}
    if rl is not None and ens is not None and rl.get('ensemble_rows'):
        rfused, rvote = table_row(rl['ensemble_rows'], 'fused'), table_row(rl['ensemble_rows'], 'vote')
        models['ensemble_fused_boxes']['real'] = dict(bbox_mAP=rfused['bbox_mAP'], bbox_mAP_50=rfused['bbox_mAP_50'],
                                                      seq_acc=rfused['accuracy'])
        models['ensemble_number_vote']['real'] = dict(seq_acc=rvote['accuracy'])
        models['ensemble']['real'] = _ensemble_reading(rl['ensemble_rows'], ens['numbers'])
    steal = {k: v['cpu_steal'] for k, v in done.items() if v.get('cpu_steal') is not None}
    summary = dict(models=models, stage_minutes=minutes, total_minutes=round(sum(minutes.values()), 1),
                   stage_cpu_steal=steal,
                   real=rl and dict(ann_file=rl['ann_file'], images=rl['images'], box_ratios_a=rl['box_ratios_a'],
                                    **({'labelled_boxes_a': rl['labelled_boxes_a']} if rl.get('labelled_boxes_a')
                                       else {})),
                   real_wider=wide and _wider(wide, ens), no_number=no_number and no_number['sets'],
                   machine=machine_facts(), date=time.strftime('%Y-%m-%d'),
                   reader=reader and dataclasses.asdict(reader), finetune=finetune and dataclasses.asdict(finetune))
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
    if ens is not None and 'members' in ens:
        print('ensemble members (chosen on the validation split): ' + ', '.join(ens['members']))
    print('per-length accuracy (model A): ' + ', '.join(f'{k}={v:.3f}' for k, v in ta['per_length'].items()))
    if rl is not None:
        ra = rl['model_a']
        # how far 259 photos alone let the accuracy move (a model trained again moves it as much: README)
        from mmdigit.evaluation.paired import wilson_interval
        lo, hi = wilson_interval(round(ra['seq_acc'] * rl['images']), rl['images'])
        print(f'real photos ({rl["images"]}, model A): accuracy {ra["seq_acc"]:.3f}, 95% interval {lo:.3f}-{hi:.3f} '
              'for this many photos; per-length ' + ', '.join(
            f'{k}={v:.3f}' for k, v in ra['per_length'].items()) + f'; digit precision {ra["digit_precision"]:.3f}, '
            f'recall {ra["digit_recall"]:.3f}; box width/height ratio to the real boxes (median) '
            f'{rl["box_ratios_a"]["width_ratio"][1]}/{rl["box_ratios_a"]["height_ratio"][1]}')
        lb = rl.get('labelled_boxes_a')
        if lb:  # detection or classification: model A's classifier on the labelled boxes
            from mmdigit.evaluation.labelled_boxes import DETECTION_KINDS
            e = lb['errors']
            lost = ', '.join(f'{k} {e[k]}' for k in DETECTION_KINDS if e.get(k))
            print(f'real photos, model A\'s classifier on the labelled boxes: digits {lb["digit_accuracy"]:.3f}, '
                  f'numbers {lb["number_accuracy"]:.3f} (its own reading {lb["model_number_accuracy"]:.3f}); '
                  f'right from the labelled boxes but not end to end {e["only the labelled boxes right"]}'
                  + (f' ({lost})' if lost else '') + f', the other way {e["only the model right"]}, wrong both '
                  f'ways {e["both wrong"]}')
    if wide is not None:  # how the product reads numbers small in a wider scene (SVHN test's framing)
        w = summary['real_wider']
        ra, re = (rl or {}).get('model_a'), models.get('ensemble', {}).get('real')
        print(f'real photos framed {w["factor"]:g}x wider (each photo in a canvas {w["factor"]:g}x its size, the same '
              f'labels), accuracy / mAP: model A {w["model_a"]["seq_acc"]:.3f} / {w["model_a"]["bbox_mAP"]:.3f}'
              + (f' (as they are: {ra["seq_acc"]:.3f} / {ra["bbox_mAP"]:.3f})' if ra else '')
              + (f', the ensemble {w["ensemble"]["seq_acc"]:.3f} / {w["ensemble"]["bbox_mAP"]:.3f}'
                 + (f' (as they are: {re["seq_acc"]:.3f} / {re["bbox_mAP"]:.3f})' if re else '')
                 if w.get('ensemble') else ''))
    if no_number:  # photos without a number: each one read as a number is a false one
        where = {'renders': 'renders of scenes without one', 'real_strips': 'strips of real scenery beside real '
                 'photos\' numbers'}
        print('photos without a number read as a number: ' + '; '.join(
            f'{where.get(k, k)}: model A {r["model_a"]} of {r["images"]}'
            + (f', the ensemble {r["ensemble"]}' if 'ensemble' in r else '') for k, r in no_number['sets'].items())
            + (f' (A: a number needs a digit >= {ta["number_thr"]})' if ta.get('number_thr') else ''))
    reader_speed = (f'; the demo\'s reader ({spd["reader_members"]} members): {spd["reader_images_per_s"]} images/s'
                    if 'reader_images_per_s' in spd else '')
    print(f'inference (model A): {spd["infer_images_per_s"]} images/s on {os.cpu_count()} cores, batch 16'
          + reader_speed)
    print('stage minutes: ' + ', '.join(f'{k} {v}' for k, v in minutes.items()))
    if any(v >= 0.05 for v in steal.values()):  # a shared VM's host kept a noticeable part of the CPU
        print("CPU steal (the VM host's share of the cores, by stage): "
              + ', '.join(f'{k} {v:.0%}' for k, v in steal.items()))
    if reader is not None:
        how = 'as the ensemble did' if reader.members else 'with model A'
        print(f'read your photos {how}: {reader.command(Path(root or work))} (tools/serve.py serves the same; '
              'add --search for photos whose number is small in them, e.g. a whole door)')
        export = reader.export_command(Path(root or work))
        if export:
            print(f'or as one ONNX file read by onnxruntime: {export}')
        else:  # a member is another checkpoint (the snapshot, model B)
            print('(no ONNX file reads as this reader: one of its members is another checkpoint, and a file holds one '
                  'network; tools/export_onnx.py writes model A with its views)')
    if finetune is not None:
        train, read = finetune.commands(Path(root or work))
        print(f'fine-tune model A on labelled photos of your own (course layout under DIR; every batch half yours, '
              f'half these renders): {train}\nthen read photos with it: {read}')
    return summary
