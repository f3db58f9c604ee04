"""bench/inference_speed.py: the 'before' reader (an older commit's code and config) must read today's demo
checkpoint, and each reader's answers are scored against the split's labels."""
import subprocess
import sys

from tests.helpers import REPO, make_gt

sys.path.insert(0, str(REPO / 'bench'))

import inference_speed  # noqa: E402


def _param_shapes(config) -> dict:
    from mmdet.registry import MODELS
    from mmdet.utils import register_all_modules
    register_all_modules()
    import mmdigit  # noqa: F401  (registers ZoomInFasterRCNN, SparseRoIExtractor, ...)
    return {k: tuple(v.shape) for k, v in MODELS.build(config.model).state_dict().items()}


def test_before_config_given_todays_widths_has_the_checkpoints_shapes(tmp_path):
    from mmengine.config import Config
    archive = subprocess.run(['git', '-C', str(REPO), 'archive', inference_speed.BEFORE, 'configs'],
                             capture_output=True, check=True).stdout
    subprocess.run(['tar', '-x', '-C', str(tmp_path)], input=archive, check=True)
    now = Config.fromfile(str(REPO / inference_speed.DEMO_CONFIG))
    before = Config.fromfile(str(tmp_path / inference_speed.DEMO_CONFIG))
    widths = inference_speed.model_widths(REPO / inference_speed.DEMO_CONFIG)
    assert widths['model.neck.out_channels'] == now.model.neck.out_channels
    want = _param_shapes(now)
    assert _param_shapes(before) != want  # the FPN was 64 and the R-CNN's FCs 256 wide then: it would not load
    before.merge_from_dict(widths)
    assert _param_shapes(before) == want


def test_number_accuracy_scores_answers_by_file_name(tmp_path):
    from mmdigit.evaluation import load_ground_truth
    from mmdigit.recognition import NumberDecoder
    ann, images, _ = make_gt(tmp_path, n=4)
    by_id = load_ground_truth(ann, NumberDecoder()).numbers
    truth = inference_speed.true_numbers(ann)
    assert truth == {img['file_name']: by_id[img['id']] for img in images}
    files = [str(tmp_path / 'test' / img['file_name']) for img in images]
    answers = [dict(number=by_id[img['id']]) for img in images]
    assert inference_speed.number_accuracy(answers, files, truth) == 1.0
    answers[1] = dict(number='-1')
    assert inference_speed.number_accuracy(answers, files, truth) == 0.75
    # in another order the answers belong to other files
    assert inference_speed.number_accuracy(answers[::-1], files, truth) < 0.75
