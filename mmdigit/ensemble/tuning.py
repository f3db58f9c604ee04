"""Fusion settings chosen on a validation split and applied unchanged to the test split.

An ensemble only pays if its settings fit its members: WBF's IoU threshold and score rule, the members'
weights, the Task-2 threshold of the fused scores and whether the number comes from the fused boxes or from
the members' vote. Choosing them on the split that is reported would overstate the gain, so
``tools/ensemble.py --tune`` searches a small grid on a labelled validation split, writes the winner as
``fusion_settings.json`` and ``--settings FILE`` applies it to another split as it is.

Each grid point is scored on whole-number accuracy (the better of its fused boxes at their best threshold and
the members' vote) plus the COCO mAP of its fused boxes (both are what the ensemble must beat its best member
on). The ensemble's members and numbers (pred.csv) come from the best point, its boxes (pred.json) from the
point with the best mAP among those fusing the same members (``FusionSettings.detection`` when that is another
point): the boxes that read numbers best are not the boxes that rank best (:class:`FusionSettings`). Ties go to
the earlier grid point (WBF first, IoU 0.55 first). With ``members=True`` (``--tune-members``) the members are
chosen too, on the validation split, not on the reported one, in two rounds. First, backward elimination at the
grid's first point (WBF, IoU 0.55, equal weights): all inputs, then each set
less one input, going on from the best of those while it beats the set it came from, down to pairs. Then the
whole grid runs on the best few subsets scored (``FINALISTS``). Why not every subset: they grow as 2^inputs
(with 10 inputs 1,013 subsets, 8.4 minutes on 2 cores beside another job, 2026-12-01); elimination scores at most
1 + n(n+1)/2 - 3 and, on the demo's validation splits of 2026-12-01, chose the same members as every subset did
with 6 and 7 inputs (three times) and, with 10, a subset 0.004 below the best in accuracy + mAP (4 of 1,000
images).
"""
from __future__ import annotations

import itertools
import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from mmdigit.recognition import PredictionFileError, ReadingSettings, as_written

from .prediction_files import FUSED_DECODER, ImageSet, ModelPredictions, fuse_models, fused_reading, vote_numbers
from .wbf import CONF_TYPES

NUMBER_SOURCES = ('fused', 'vote')
FINALISTS = 3  # --tune-members: member subsets that get the whole grid after the first-point round



@dataclass(frozen=True)
class BoxFusion:
    """How the members' boxes become one set of boxes (:func:`mmdigit.ensemble.fuse_many`'s options)."""

    method: str = 'wbf'
    iou_thr: float = 0.55
    conf_type: str = 'avg'
    weights: tuple | None = None  # one per member, in the order given; None = equal
    skip_box_thr: float = 0.0
    class_agnostic: bool = False

    def fuse_kwargs(self) -> dict:
        return dict(method=self.method, iou_thr=self.iou_thr, conf_type=self.conf_type,
                    weights=None if self.weights is None else list(self.weights), skip_box_thr=self.skip_box_thr,
                    class_agnostic=self.class_agnostic)

    @classmethod
    def from_dict(cls, d: dict, source: str = 'fusion settings') -> BoxFusion:
        """Checked, one-line errors naming ``source``."""
        return _checked(cls, d, source)

    def _problems(self):
        """(ok, why) pairs of what :meth:`from_dict` checks; each holds for a value of any type (a file may
        hold a string or null where a number belongs)."""
        from .fusion import METHODS
        return ((self.method in METHODS, f'method {self.method!r} is not one of {", ".join(METHODS)}'),
                (self.conf_type in CONF_TYPES, f'conf_type {self.conf_type!r} is not one of {", ".join(CONF_TYPES)}'),
                _number_in('iou_thr', self.iou_thr, lambda v: 0 < v <= 1, 'in (0, 1]'),
                # fuse_many drops the boxes scoring below it: at 1 every box short of a perfect score
                _number_in('skip_box_thr', self.skip_box_thr, lambda v: 0 <= v < 1, 'in [0, 1)',
                           ' (boxes scoring below it are left out; scores are at most 1)'),
                (isinstance(self.class_agnostic, bool), f'class_agnostic {self.class_agnostic!r} is not true or false'),
                (self.weights is None or all(w >= 0 for w in self.weights) and sum(self.weights) > 0,
                 f'weights {list(self.weights or ())} must be >= 0 and not all 0'))


@dataclass(frozen=True)
class FusionSettings(BoxFusion):
    """Everything that turns K members' predictions into one pred.json / pred.csv: the box fusion the number is
    read from (this class's :class:`BoxFusion` fields), where the number comes from, and the box fusion whose
    boxes pred.json holds (``detection``: Task 1's, None when it is the same).

    Why two box fusions: the boxes that read numbers best are not the boxes that rank best under COCO mAP.
    Reading wants each digit once (WBF merges the members' boxes into one per digit), mAP rewards keeping the
    members' near-duplicates at lower scores (soft-NMS over the members: one of them is often the better
    localised). On the 2026-12-05 13:16 demo's validation split the reading's WBF scored mAP 0.675 and
    gaussian soft-NMS over the same members 0.680; on the test split and the real photos 0.664 / 0.404
    against 0.671 / 0.415, while soft-NMS's boxes read fewer numbers (validation 0.838 against 0.866). Both are
    chosen on the validation split (:func:`tune_fusion`), over the same members."""

    numbers: str = 'fused'  # 'fused': decode the fused boxes at score_thr; 'vote': the members' number vote
    score_thr: float | None = None  # None: the weighted mean of the members' thresholds
    number_thr: float | None = None  # the fused boxes' NumberDecoder.number_thr (None: none)
    members: tuple | None = None  # indices of the inputs fused (weights follow them); None = every input
    detection: BoxFusion | None = None  # pred.json's boxes (same members); None: the boxes the number is read from

    @property
    def reading_boxes(self) -> BoxFusion:
        """The box fusion the number is read from (the fused boxes; for the vote, only the members' boxes count)."""
        return BoxFusion(**{f: getattr(self, f) for f in BoxFusion.__dataclass_fields__})

    @property
    def detection_boxes(self) -> BoxFusion:
        """The box fusion whose boxes pred.json holds (Task 1)."""
        return self.reading_boxes if self.detection is None else self.detection

    def to_dict(self) -> dict:
        d = asdict(self)
        d['weights'] = None if self.weights is None else list(self.weights)
        d['members'] = None if self.members is None else list(self.members)
        if self.detection is not None:
            d['detection']['weights'] = None if self.detection.weights is None else list(self.detection.weights)
        return d

    @classmethod
    def from_dict(cls, d: dict, source: str = 'fusion settings') -> FusionSettings:
        if isinstance(d.get('detection'), dict):
            d = dict(d, detection=BoxFusion.from_dict(d['detection'], f'{source}: detection'))
        elif d.get('detection') is not None:
            raise PredictionFileError(f'{source}: detection must be an object of box fusion settings')
        return _checked(cls, d, source)

    def _problems(self):
        s = self
        return (*super()._problems(),
                (s.numbers in NUMBER_SOURCES, f'numbers {s.numbers!r} is not fused or vote'),
                _number_in('score_thr', s.score_thr, lambda v: 0 <= v <= 1, 'in [0, 1]', optional=True),
                _number_in('number_thr', s.number_thr, lambda v: 0 <= v <= 1, 'in [0, 1]', optional=True),
                (s.members is None or len(s.members) >= 1 and min(s.members) >= 0
                 and len(set(s.members)) == len(s.members), f'members {s.members} must be distinct input indices'),
                *((s.members is None or w is None or len(w) == len(s.members),
                   f'{len(w or ())} weights for {len(s.members or ())} members')
                  for w in (s.weights, s.detection and s.detection.weights)))

    def check_inputs(self, n_inputs: int, source: str = 'fusion settings', then: str = '') -> None:
        """Raise a one-line error naming ``source`` unless these settings fit ``n_inputs`` inputs."""
        if self.members is not None and max(self.members) >= n_inputs:
            raise PredictionFileError(f'{source} fuse input {max(self.members) + 1} of {n_inputs} given{then}')
        for weights in (self.weights, self.detection and self.detection.weights):
            if weights is not None and self.members is None and len(weights) != n_inputs:
                raise PredictionFileError(f'{source} were chosen for {len(weights)} members, {n_inputs} '
                                          f'given{then}')

    def chosen(self, models: list):
        """The inputs these settings fuse, in their order (all of them when ``members`` is None)."""
        return list(models) if self.members is None else [models[i] for i in self.members]

    def on_needed_inputs(self, n_inputs: int) -> tuple[list[int], FusionSettings]:
        """The inputs a reader of these settings needs, in input order, and the same settings renumbered onto
        them: input 0 (a reader's own config + checkpoint, which its views read with, fused or not) and the
        members fused. A command or a reader then lists only what it reads; the fusion is unchanged."""
        self.check_inputs(n_inputs)
        if self.members is None:
            return list(range(n_inputs)), self
        needed = sorted({0, *self.members})
        return needed, replace(self, members=tuple(needed.index(i) for i in self.members))

    def reading(self, models: list[ModelPredictions]) -> ReadingSettings:
        """How the fused boxes of the chosen ``models`` are read (:func:`mmdigit.ensemble.fused_reading` with
        these settings)."""
        return fused_reading(models, self.weights, self.score_thr, 'fusion settings', self.number_thr)


@dataclass
class Trial:
    settings: FusionSettings
    accuracy: float
    bbox_mAP: float
    extra: dict = field(default_factory=dict)

    @property
    def objective(self) -> float:
        return self.accuracy + self.bbox_mAP


def _real(v) -> bool:
    """A JSON number: an int or a float, finite, not a bool (Python counts true as 1) and not a string."""
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _number_in(name: str, v, ok, rule: str, more: str = '', optional: bool = False) -> tuple[bool, str]:
    """(ok, why) of a numeric setting: a number (null only when ``optional``) for which ``ok`` holds; ``why``
    shows the value with repr, so a string '0.5' reads as one."""
    if v is None and optional:
        return True, ''
    if not _real(v):
        return False, f'{name} {v!r} is not a number {rule}'
    return bool(ok(v)), f'{name} {v!r} is not {rule}{more}'


def _index(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _checked(cls, d: dict, source: str):
    """``cls(**d)`` (lists as tuples), refused in one line naming ``source`` when a field is unknown or a value
    does not fit (``cls._problems``)."""
    unknown = sorted(set(d) - set(cls.__dataclass_fields__))
    if unknown:
        raise PredictionFileError(f'{source}: unknown fusion setting(s) {", ".join(unknown)}')
    weights, members = d.get('weights'), d.get('members')
    if weights is not None and not (isinstance(weights, (list, tuple)) and all(map(_real, weights))):
        raise PredictionFileError(f'{source}: weights {weights!r} is not a list of numbers')
    if members is not None and not (isinstance(members, (list, tuple)) and all(map(_index, members))):
        raise PredictionFileError(f'{source}: members {members!r} is not a list of input indices (0: the first '
                                  'input)')
    s = cls(**{**d, 'weights': None if weights is None else tuple(float(w) for w in weights),
               **({} if members is None else {'members': tuple(members)})})
    for ok, why in s._problems():
        if not ok:
            raise PredictionFileError(f'{source}: {why}')
    return s


def candidate_grid(n_models: int, member_accuracy: list[float]) -> list[FusionSettings]:
    """WBF (IoU x score rule), NMS and NMW (IoU) and gaussian soft-NMS (once: it decays by IoU and has no IoU
    threshold), each with equal or accuracy-proportional weights."""
    weightings = {'equal': None, 'accuracy': tuple(round(max(a, 1e-3), 4) for a in member_accuracy)}
    if n_models < 2 or len(set(weightings['accuracy'])) == 1:
        weightings.pop('accuracy')
    ious = (0.55, 0.45, 0.65)
    grid = []
    for iou, w in itertools.product(ious, weightings.values()):
        for conf in ('avg', 'max', 'box_and_model_avg'):
            grid.append(FusionSettings('wbf', iou, conf, w))
        for method in ('nms', 'soft_nms', 'nmw') if iou == ious[0] else ('nms', 'nmw'):
            grid.append(FusionSettings(method, iou, 'avg', w))
    return grid


def backward_elimination(n_models: int, score) -> dict:
    """Every member subset scored on the way down from all ``n_models`` inputs (``None``) to pairs: each round
    scores the current set less one input (in input order) and goes on from the best of those while it scores
    above the current set (the first of equals). ``score(subset)`` -> a number; returns {subset: score}, in the
    order scored."""
    def key(subset):
        return None if len(subset) == n_models else subset
    current = tuple(range(n_models))
    scored = {None: score(None)}
    while len(current) > 2:
        fewer = [tuple(i for i in current if i != drop) for drop in current]
        for subset in fewer:
            scored[subset] = score(subset)
        best = max(fewer, key=scored.get)
        if scored[best] <= scored[key(current)]:
            break
        current = best
    return scored


def tune_fusion(models: list[ModelPredictions], ids: list[int], images: ImageSet,
                grid: list[FusionSettings] | None = None, members: bool = False,
                finalists: int = FINALISTS) -> tuple[FusionSettings, list[Trial]]:
    """The grid point with the best accuracy + mAP on the labelled ``images`` (a validation split); its
    ``numbers`` and ``score_thr`` are the better of the fused boxes at their best threshold and the vote.
    ``members``: the subsets :func:`backward_elimination` scores at the default grid's first point, then the
    default grid on the ``finalists`` best of them (an explicit ``grid`` is tried as it is)."""
    from mmdigit.evaluation import choose_thresholds_of_detections, detections_map, number_scores
    gt = images.gt
    if gt is None:
        raise PredictionFileError(f'{images.source}: --tune needs a labelled set (a COCO json with digit boxes)')
    truth = {i: gt.numbers[i] for i in ids}

    def accuracy(numbers: dict) -> float:
        return number_scores(gt, numbers, ids)['accuracy']

    member_acc = []
    for m in models:
        member_acc.append(accuracy(m.reading.decode_all({i: m.get(i) for i in ids})))
    vote_cache = {}

    def trial(s: FusionSettings) -> Trial:
        chosen = s.chosen(models)
        # scored as pred.json will hold it (tools/ensemble.py writes and reads these): a fused score within the
        # rounding of a threshold reads here as in the written pred.csv
        fused = as_written(fuse_models(chosen, ids, images, **s.fuse_kwargs()))
        sweep, gate = choose_thresholds_of_detections(FUSED_DECODER, fused, truth)
        if (s.members, s.weights) not in vote_cache:
            vote_cache[s.members, s.weights] = accuracy(vote_numbers(chosen, ids, s.weights))
        vote_acc = vote_cache[s.members, s.weights]
        mAP = detections_map(gt.ann_file, fused, ids)['bbox_mAP']
        numbers = 'vote' if vote_acc > gate.accuracy else 'fused'
        return Trial(replace(s, numbers=numbers, score_thr=sweep.best_thr, number_thr=gate.number_thr),
                     max(vote_acc, gate.accuracy), mAP, dict(fused_accuracy=gate.accuracy, vote_accuracy=vote_acc))

    def subset_grid(subset):
        acc = member_acc if subset is None else [member_acc[i] for i in subset]
        return [replace(s, members=subset) for s in candidate_grid(len(acc), acc)]

    if grid is not None or not members:
        trials = [trial(s) for s in (grid if grid is not None else subset_grid(None))]
    else:
        first = {}  # subset -> its trial at the grid's first point

        def score(subset):
            first[subset] = trial(subset_grid(subset)[0])
            return first[subset].objective
        backward_elimination(len(models), score)
        trials = list(first.values())
        ranked = sorted(first, key=lambda k: -first[k].objective)  # stable: the earlier scored first among equals
        for subset in [k for k in first if k in ranked[:finalists]]:
            trials += [trial(s) for s in subset_grid(subset)[1:]]
    reading, boxes = best_trials(trials)
    if boxes.settings.reading_boxes == reading.settings.reading_boxes:
        return reading.settings, trials
    return replace(reading.settings, detection=boxes.settings.reading_boxes), trials


def best_trials(trials: list[Trial]) -> tuple[Trial, Trial]:
    """The trial whose numbers are read (best accuracy + mAP: the members are chosen on both) and the trial whose
    boxes pred.json holds (best mAP among the trials fusing the same members); the first of equals (grid order)."""
    reading = max(trials, key=lambda t: t.objective)
    boxes = max((t for t in trials if t.settings.members == reading.settings.members), key=lambda t: t.bbox_mAP)
    return reading, boxes


def save_settings(path, settings: FusionSettings, models: list[ModelPredictions], images: ImageSet,
                  trials: list[Trial]) -> Path:
    """``fusion_settings.json``: the chosen settings, the members and the set they were chosen on, every trial."""
    return write_settings(path, settings, [str(m.path) for m in models], chosen_on=images.source,
                          objective='whole-number accuracy + bbox mAP; pred.json\'s boxes: bbox mAP (the same members)',
                          trials=[dict(settings=t.settings.to_dict(), accuracy=t.accuracy, bbox_mAP=t.bbox_mAP,
                                       **t.extra) for t in trials])


def write_settings(path, settings: FusionSettings, members: list[str], **extra) -> Path:
    """A settings file :func:`load_settings` reads: ``settings``, the ``members`` (names of the inputs, in
    order) they were written for and anything ``extra`` to keep beside them."""
    from mmdigit.utils import atomic_write_text
    path = Path(path)
    atomic_write_text(path, json.dumps(dict(settings=settings.to_dict(), members=list(members), **extra), indent=2))
    return path


def load_settings(path, n_models: int) -> FusionSettings:
    """Settings written by :func:`save_settings`; one-line errors name the file."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise PredictionFileError(f'{path}: fusion settings file does not exist') from None
    except (OSError, ValueError) as e:
        raise PredictionFileError(f'{path}: not a fusion settings json ({e})') from None
    if not isinstance(doc, dict) or not isinstance(doc.get('settings'), dict):
        raise PredictionFileError(f'{path}: not a fusion settings json (no "settings" object)')
    names = doc.get('members')  # the inputs the settings were chosen for (write_settings), for messages
    if names is not None and not (isinstance(names, list) and all(isinstance(n, str) for n in names)):
        raise PredictionFileError(f'{path}: top-level members {names!r} is not a list of input names')
    s = FusionSettings.from_dict(doc['settings'], str(path))
    then = f' (members then: {", ".join(map(str, doc["members"]))})' if doc.get('members') else ''
    s.check_inputs(n_models, f'{path}: settings', then)
    return s
