"""The demo's numbers: a tools/test.py metrics file read into the demo's scores, and summary.json (its keys, the
ensemble's row chosen by the numbers setting, the real photos and model A's snapshot only when they ran)."""
import json
import sys

import pytest

from mmdigit.demo import scores, write_summary
from mmdigit.demo.reader_spec import FinetuneSpec, ReaderSpec

METRICS = {'coco/bbox_mAP': 0.5, 'coco/bbox_mAP_50': 0.8, 'digit/accuracy': 0.7, 'digit/best_accuracy': 0.72,
           'digit/digit_precision': 0.9, 'digit/digit_recall': 0.85, 'digit/accuracy_len1': 0.9,
           'digit/accuracy_len2': 0.6, 'coco/bbox_mAP_s': 0.1}


def test_scores_read_the_metrics_and_the_threshold_pred_csv_was_read_at(tmp_path):
    (tmp_path / 'pred_info.json').write_text(json.dumps(dict(score_thr=0.45, number_thr=0.6)))
    s = scores(METRICS, tmp_path)
    assert s == dict(pred_dir=str(tmp_path), bbox_mAP=0.5, bbox_mAP_50=0.8, seq_acc=0.7, seq_acc_thr=0.45,
                     number_thr=0.6, seq_acc_best_thr_on_set=0.72, digit_precision=0.9, digit_recall=0.85,
                     per_length={'accuracy_len1': 0.9, 'accuracy_len2': 0.6})


def member_scores(acc, thr=0.5):
    return dict(bbox_mAP=acc / 2, bbox_mAP_50=acc / 1.5, seq_acc=acc, seq_acc_thr=thr, digit_precision=0.9,
                digit_recall=0.8, per_length={'accuracy_len1': acc})


def table(fused, vote):
    return [dict(kind='model', name='a', thr=0.5, bbox_mAP=0.1, bbox_mAP_50=0.2, accuracy=0.3),
            dict(kind='fused', name='fused', thr=0.4, bbox_mAP=0.55, bbox_mAP_50=0.85, accuracy=fused),
            dict(kind='vote', name='number vote', thr=None, bbox_mAP=0.55, bbox_mAP_50=0.85, accuracy=vote)]


DONE = {k: dict(seconds=s) for k, s in
        dict(data=60, step_time=6, train_a=1080, test_a=120, train_b=210, test_b=120, ensemble=30).items()}


@pytest.mark.parametrize('numbers', ['fused', 'vote'])
def test_summary_of_a_run_without_real_photos_or_snapshot(tmp_path, numbers, capsys):
    ens = dict(rows=table(0.8, 0.75), numbers=numbers)
    reader = ReaderSpec(str(tmp_path / 'a.py'), str(tmp_path / 'a.pth'), [[str(tmp_path / 'b.py')]],
                        str(tmp_path / 'fusion.json'))
    summary = write_summary(tmp_path, DONE, member_scores(0.7, 0.45), member_scores(0.6), ens,
                            dict(infer_images_per_s=90.0, reader_images_per_s=31.5, reader_members=3), reader=reader,
                            root=tmp_path)
    assert json.loads((tmp_path / 'summary.json').read_text()) == summary
    assert summary.keys() == {'models', 'stage_minutes', 'total_minutes', 'stage_cpu_steal', 'real', 'real_wider',
                              'machine', 'date', 'reader', 'finetune', 'no_number'}
    assert summary['finetune'] is None  # no fine-tune recipe given: none printed
    assert summary['machine'].keys() == {'cores', 'platform', 'cpu', 'native_bf16'}  # which CPU, and whether bf16
    assert summary['real'] is None and summary['real_wider'] is None
    assert summary['stage_cpu_steal'] == {}  # no stage recorded any (not Linux, or older stages.json)
    assert ReaderSpec(**summary['reader']) == reader
    models = summary['models']
    assert list(models) == ['model_a', 'model_b', 'ensemble_fused_boxes', 'ensemble_number_vote', 'ensemble']
    assert models['model_a'] == dict(bbox_mAP=0.35, bbox_mAP_50=0.7 / 1.5, seq_acc=0.7, seq_acc_thr=0.45,
                                     per_length={'accuracy_len1': 0.7}, train_minutes=18.0, infer_images_per_s=90.0)
    assert models['model_b']['train_minutes'] == 3.5 and 'infer_images_per_s' not in models['model_b']
    assert models['ensemble_fused_boxes'] == dict(bbox_mAP=0.55, bbox_mAP_50=0.85, seq_acc=0.8, seq_acc_thr=0.4)
    assert models['ensemble_number_vote'] == dict(seq_acc=0.75)
    assert models['ensemble'] == dict(bbox_mAP=0.55, bbox_mAP_50=0.85, numbers=numbers, infer_images_per_s=31.5,
                                      seq_acc=0.8 if numbers == 'fused' else 0.75)
    assert summary['stage_minutes']['train_a'] == 18.0 and summary['total_minutes'] == 27.1
    assert summary['real'] is None and not any('real' in m for m in models.values())
    out = capsys.readouterr().out
    assert "inference (model A): 90.0 images/s on" in out and 'real photos (' not in out and 'CPU steal' not in out
    assert "batch 16; the demo's reader (3 members): 31.5 images/s" in out
    assert (f'read your photos as the ensemble did: {sys.executable} tools/infer.py a.py a.pth PHOTOS... --view b.py '
            '--fusion fusion.json (tools/serve.py serves the same; add --search for photos whose number is small in '
            'them, e.g. a whole door)') in out
    assert (f'or as one ONNX file read by onnxruntime: {sys.executable} tools/export_onnx.py a.py a.pth reader.onnx '
            '--view b.py --fusion fusion.json') in out
    # a member that is another checkpoint: no one file reads as the reader, and the demo says why
    other = ReaderSpec(str(tmp_path / 'a.py'), str(tmp_path / 'a.pth'), [[str(tmp_path / 'a.py'), 's.pth']],
                       str(tmp_path / 'fusion.json'))
    write_summary(tmp_path, DONE, member_scores(0.7, 0.45), member_scores(0.6), ens,
                  dict(infer_images_per_s=90.0), reader=other, root=tmp_path)
    out = capsys.readouterr().out
    assert 'reader.onnx' not in out and 'no ONNX file reads as this reader: one of its members is another' in out


def test_summary_with_real_photos_and_the_snapshot(tmp_path, capsys):
    ens = dict(rows=table(0.8, 0.75), numbers='vote')
    members = dict(model_a=member_scores(0.4), model_a_snapshot=member_scores(0.35), model_b=member_scores(0.3))
    rl = dict(ann_file='real.json', images=259, model_a=members['model_a'], members=members,
              ensemble_rows=table(0.5, 0.45),
              box_ratios_a=dict(width_ratio=[0.9, 1.0, 1.1], height_ratio=[1, 1.1, 1.2]))
    summary = write_summary(tmp_path, dict(DONE, real=dict(seconds=120)), member_scores(0.7), member_scores(0.6), ens,
                            dict(infer_images_per_s=90.0), rl, member_scores(0.65))
    models = summary['models']
    assert list(models) == ['model_a', 'model_b', 'model_a_snapshot', 'ensemble_fused_boxes',
                            'ensemble_number_vote', 'ensemble']
    assert models['model_a_snapshot']['seq_acc'] == 0.65
    assert models['model_a_snapshot']['real'] == dict(bbox_mAP=0.175, bbox_mAP_50=0.35 / 1.5, seq_acc=0.35,
                                                      digit_precision=0.9, digit_recall=0.8,
                                                      per_length={'accuracy_len1': 0.35})
    assert models['ensemble_fused_boxes']['real'] == dict(bbox_mAP=0.55, bbox_mAP_50=0.85, seq_acc=0.5)
    assert models['ensemble_number_vote']['real'] == dict(seq_acc=0.45)
    assert models['ensemble']['real']['seq_acc'] == 0.45  # the number vote, as chosen on the validation split
    assert summary['real'] == dict(ann_file='real.json', images=259, box_ratios_a=rl['box_ratios_a'])
    out = capsys.readouterr().out
    assert 'real photos (259, model A): accuracy 0.400, 95% interval 0.344-0.462 for this many photos' in out


def test_summary_says_what_detection_costs_model_a_on_the_real_photos(tmp_path, capsys):
    members = dict(model_a=member_scores(0.4))
    errors = {'both right': 100, 'only the labelled boxes right': 33, 'only the model right': 12, 'both wrong': 52,
              'more digits': 14, 'fewer digits': 7, 'a wrong digit': 10, 'nothing': 2}
    lb = dict(digit_accuracy=0.851, number_accuracy=0.753, model_number_accuracy=0.672, errors=errors,
              confusions=[dict(true=7, read=1, count=8)])
    rl = dict(ann_file='real.json', images=259, model_a=members['model_a'], members=members, ensemble_rows=None,
              box_ratios_a=dict(width_ratio=[0.9, 1.0, 1.1], height_ratio=[1, 1.1, 1.2]), labelled_boxes_a=lb)
    summary = write_summary(tmp_path, dict(DONE, real=dict(seconds=60)), member_scores(0.7), None, None,
                            dict(infer_images_per_s=90.0), rl)
    assert summary['real']['labelled_boxes_a'] == lb
    out = capsys.readouterr().out
    assert ("model A's classifier on the labelled boxes: digits 0.851, numbers 0.753 (its own reading 0.672); "
            'right from the labelled boxes but not end to end 33 (more digits 14, fewer digits 7, a wrong digit 10, '
            'nothing 2), the other way 12, wrong both ways 52') in out


def test_summary_without_an_ensemble_keeps_the_real_photos_of_model_a(tmp_path):
    members = dict(model_a=member_scores(0.4))
    rl = dict(ann_file='real.json', images=259, model_a=members['model_a'], members=members, ensemble_rows=None,
              box_ratios_a=dict(width_ratio=[0.9, 1.0, 1.1], height_ratio=[1, 1.1, 1.2]))
    summary = write_summary(tmp_path, dict(DONE, real=dict(seconds=60)), member_scores(0.7), None, None,
                            dict(infer_images_per_s=90.0), rl)
    assert list(summary['models']) == ['model_a'] and summary['models']['model_a']['real']['seq_acc'] == 0.4


def test_summary_reports_the_cpu_steal_of_a_shared_machine(tmp_path, capsys):
    done = {k: dict(v) for k, v in DONE.items()}
    done['train_a']['cpu_steal'], done['data']['cpu_steal'] = 0.45, 0.02
    summary = write_summary(tmp_path, done, member_scores(0.7), None, None, dict(infer_images_per_s=90.0))
    assert summary['stage_cpu_steal'] == dict(data=0.02, train_a=0.45)
    assert "CPU steal (the VM host's share of the cores, by stage): data 2%, train_a 45%" in capsys.readouterr().out
    # below 5 % in every stage: a dedicated machine, nothing to say
    done['train_a']['cpu_steal'] = 0.01
    write_summary(tmp_path, done, member_scores(0.7), None, None, dict(infer_images_per_s=90.0))
    assert 'CPU steal' not in capsys.readouterr().out


def test_summary_keeps_and_prints_how_to_fine_tune_model_a_on_photos_of_ones_own(tmp_path, capsys):
    """The two commands a user with a few labelled photos runs: tools/train.py on the demo's fine-tune config from A's
    checkpoint with the demo's renders, then tools/infer.py with its last checkpoint; paths relative to the root the
    commands run in."""
    spec = FinetuneSpec(str(tmp_path / 'configs' / 'model_a_finetune.py'), str(tmp_path / 'model_a' / 'iter_9.pth'),
                        str(tmp_path / 'data'))
    summary = write_summary(tmp_path, DONE, member_scores(0.7), None, None, dict(infer_images_per_s=90.0),
                            root=tmp_path, finetune=spec)
    assert FinetuneSpec(**summary['finetune']) == spec
    train, read = spec.commands(tmp_path, python='python')
    assert train.split() == ['python', 'tools/train.py', 'configs/model_a_finetune.py', '--data-root', 'DIR',
                             '--work-dir', 'work_dirs/finetune', '--cfg-options', 'load_from=model_a/iter_9.pth',
                             'synthetic_root=data']
    assert read == 'python tools/infer.py configs/model_a_finetune.py "$(cat work_dirs/finetune/last_checkpoint)" ' \
                   'PHOTOS...'
    out = capsys.readouterr().out
    assert train.split(' ', 1)[1] in out and read.split(' ', 1)[1] in out
    outside = FinetuneSpec('/elsewhere/ft.py', '/elsewhere/a.pth', '/elsewhere/my data')  # absolute, quoted
    assert "load_from=/elsewhere/a.pth synthetic_root='/elsewhere/my data'" in outside.commands(tmp_path)[0]
