"""The demo's reader: its members in the ensemble's input order, and the tools/infer.py command printed."""
import json
import sys
from pathlib import Path

from mmdigit.demo.reader_spec import READER_FUSION, ReaderSpec, demo_spec
from mmdigit.ensemble import FusionSettings, load_settings


def test_demo_spec_lists_views_and_models_in_the_ensembles_input_order(tmp_path):
    root = tmp_path
    a = dict(checkpoint=str(root / 'work_dirs/demo/model_a/iter_9.pth'))  # train results name no config
    members = dict(model_a=a, model_a_stretched=dict(a, config='configs/stretched.py'),
                   model_b=dict(checkpoint=str(root / 'work_dirs/demo/model_b/iter_3.pth')))
    ens = dict(settings_file=root / 'work_dirs/demo/ensemble/valid/fusion_settings.json')
    cpu, b = str(root / 'configs/cpu.py'), members['model_b']['checkpoint']
    spec = demo_spec(members, ens, root / 'configs/cpu.py')
    assert spec == ReaderSpec(cpu, a['checkpoint'], [['configs/stretched.py'], [cpu, b]], str(ens['settings_file']))
    assert spec.reader_kwargs() == dict(members=['configs/stretched.py', (cpu, b)], fusion=str(ens['settings_file']))
    assert spec.command(root, python='python') == (
        'python tools/infer.py configs/cpu.py work_dirs/demo/model_a/iter_9.pth PHOTOS... --view configs/stretched.py '
        '--member configs/cpu.py work_dirs/demo/model_b/iter_3.pth --fusion '
        'work_dirs/demo/ensemble/valid/fusion_settings.json')
    assert spec.export_command(root) is None  # model B is another network: not one ONNX file
    views = demo_spec({k: members[k] for k in ('model_a', 'model_a_stretched')}, ens, root / 'configs/cpu.py')
    assert views.export_command(root, python='python') == (
        'python tools/export_onnx.py configs/cpu.py work_dirs/demo/model_a/iter_9.pth reader.onnx --view '
        'configs/stretched.py --fusion work_dirs/demo/ensemble/valid/fusion_settings.json')
    alone = demo_spec(dict(model_a=a), None, Path('configs/cpu.py'))  # no ensemble: model A alone
    assert alone == ReaderSpec('configs/cpu.py', a['checkpoint'])
    want = f"python tools/infer.py configs/cpu.py {a['checkpoint']} my photos/"
    assert alone.command(Path('/elsewhere'), 'my photos/', 'python') == want
    here = Path(sys.executable)  # by default the interpreter running the demo, relative to the repository
    assert alone.command(here.parents[2]).startswith(f'{here.relative_to(here.parents[2])} tools/infer.py ')


def test_demo_spec_lists_only_the_members_validation_chose(tmp_path):
    a = dict(checkpoint=str(tmp_path / 'model_a/iter_9.pth'))
    members = dict(model_a=a, **{f'model_a_{v}': dict(a, config=f'configs/{v}.py')
                                 for v in ('stretched', 'inverted', 'smaller')})
    chosen = FusionSettings('wbf', 0.65, weights=(0.8, 0.9), members=(3, 1), numbers='vote')
    settings_file = tmp_path / 'ensemble/valid/fusion_settings.json'
    spec = demo_spec(members, dict(settings_file=settings_file, settings=chosen.to_dict()), 'configs/cpu.py')
    assert spec.members == [['configs/stretched.py'], ['configs/smaller.py']]  # A, then the chosen, in input order
    assert spec.fusion == str(tmp_path / 'ensemble' / READER_FUSION)
    written = json.loads((tmp_path / 'ensemble' / READER_FUSION).read_text())
    assert written['members'] == ['model_a', 'model_a_stretched', 'model_a_smaller']
    assert written['renumbered_from'] == str(settings_file)
    fusion = load_settings(spec.fusion, 1 + len(spec.members))  # what DigitReader loads for this spec's inputs
    assert fusion.chosen(written['members']) == ['model_a_smaller', 'model_a_stretched']
    assert (fusion.method, fusion.iou_thr, fusion.weights, fusion.numbers) == ('wbf', 0.65, (0.8, 0.9), 'vote')
    everyone = dict(chosen.to_dict(), members=None, weights=None)  # all offered inputs fused: listed as they are
    spec = demo_spec(members, dict(settings_file=settings_file, settings=everyone), 'configs/cpu.py')
    assert len(spec.members) == 3 and spec.fusion == str(settings_file)


def test_a_reader_with_a_crop_classifier_exports_as_one_file(tmp_path):
    """Since 2026-12-07 the ONNX file holds the crop classifier too: the demo's reader (A and its views, each reading
    with it) has an export command; one with another model as a member has none."""
    cpu = tmp_path / 'cpu.py'
    cpu.write_text("model = dict(test_cfg=dict(rcnn=dict(score_thr=0.05)))\n")
    opinion = tmp_path / 'opinion.py'
    opinion.write_text(f"_base_ = {str(cpu)!r}\nmodel = dict(test_cfg=dict(reclassify=dict(classifier='c', "
                       "weight=0.7)))\n")
    for spec in (ReaderSpec(str(opinion), 'a.pth'), ReaderSpec(str(opinion), 'a.pth', [[str(opinion)]])):
        assert spec.export_command(tmp_path, python='python') == (
            'python tools/export_onnx.py opinion.py a.pth reader.onnx' + (' --view opinion.py' if spec.members else ''))
    assert ReaderSpec(str(opinion), 'a.pth', [[str(opinion), 'b.pth']]).export_command(tmp_path) is None
