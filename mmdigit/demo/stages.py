"""The demo's stage bookkeeping: ``stages.json`` records each finished stage's result, its seconds, the CPU steal
while it ran and its result format, so a re-run continues where it stopped; and the tools it runs, with their key
lines on screen."""
from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

from mmdigit.utils.cpu_steal import cpu_times, steal_share


def say(msg: str) -> None:
    print(f'\n[demo] {msg}', flush=True)


KEY_LINES = ('Iter(train)', 'Iter(val) [', 'Iter(test) [', 'bbox_mAP_copypaste', 'wrote', 'images/s', 'Task-2')


def run_tool(cmd: list, log: Path, echo_all: bool = False, cwd: Path | None = None, echo: bool = True,
             who: str = '[demo]') -> None:
    """Run a tool with its output in ``log`` and its key lines (all with ``echo_all``, none without ``echo``) on
    screen; fail loudly in one line: ``who failed: <tool> ...: <its last output line> (log: <path>)``, the last
    line being the tool's own one-line error or its traceback's exception, so a mistyped option shows what was
    wrong without opening the log. The demo's and the fine-tuning curve's runner."""
    log.parent.mkdir(parents=True, exist_ok=True)
    last = ''
    with log.open('w') as f:
        proc = subprocess.Popen([str(c) for c in cmd], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, cwd=cwd, env=dict(os.environ, PYTHONUNBUFFERED='1'))
        for line in iter(proc.stdout.readline, ''):  # line by line, no read-ahead
            f.write(line)
            last = line.strip() or last
            if echo and (echo_all or any(k in line for k in KEY_LINES)):
                print('   ' + line.rstrip()[:160], flush=True)
        if proc.wait() != 0:
            said = f': {last[:300]}' if last else ''
            raise SystemExit(f'{who} failed: {" ".join(map(str, cmd[:3]))} ...{said} (log: {log})')


def _same_inputs(recorded, asked) -> bool:
    """Whether a recorded result was made from the inputs asked for (:meth:`Stages.run`)."""
    if isinstance(recorded, dict) and isinstance(asked, dict):
        return all(v is None or k not in recorded or recorded[k] == v for k, v in asked.items())
    return recorded == asked


class Stages:
    """Results of finished stages, persisted so a re-run continues where it stopped. A stage whose result
    format changed since (:meth:`format_of`: ``FORMATS``, ``TEST_FORMAT``; 1 when absent) is redone."""

    # 2: rows say their kind; 3: settings tuned on the validation split; 4: the members chosen there too;
    # 5: the default members are A and A reading stretched photos; 6: and A reading inverted and grayscale photos
    # 7: the members chosen in two rounds (mmdigit.ensemble.tuning), the larger and equalized views offered too
    # 8: the members' first round by backward elimination; 9: the members' tests read on the reading canvas;
    # real 10: model A's classifier on the labelled boxes beside its own reading (2026-12-03)
    # ensemble 10: pred.json's boxes fused their own way (FusionSettings.detection, 2026-12-05; 'real' follows it)
    # speed 2: the demo's reader (its ensemble members) is timed too; 3: on the reading canvas
    # pictures 2: on the reading canvas
    # train_a 2: the CPU config's 48-channel FPN (2026-12-01): a model A of 64 channels no longer loads into it;
    # 3: its R-CNN's 512-wide FCs (2026-12-02)
    # calibrate_a 2: the decoder leaves out a 1 much taller than the number's other digits (NumberDecoder.tall_one,
    # 2026-12-05): A's threshold is chosen again, and every stage made from it follows; 3: chosen on 3,000 renders of
    # their own instead of the validation split (pipeline.calibrate, 2026-12-05); 4: A reads each photo as it is again
    # (2026-12-06): its threshold is chosen for that reading; 5: a number needs a digit as sure as the number_thr chosen
    # with the threshold (NumberDecoder.number_thr, 2026-12-06)
    FORMATS = {'ensemble': 10, 'real': 10, 'speed': 3, 'pictures': 2, 'train_a': 3, 'calibrate_a': 5}
    # every test stage (test_a, test_a_<view>, test_s, test_b): 2 = read on the reading canvas (2026-12-01), so a
    # demo from before it reports what the model reads now, not what it read then; 3 = model A reads each photo
    # contrast-stretched (2026-12-04); 4 = A reads with soft-NMS in its R-CNN and each test stage records its reading
    # (2026-12-05), so a later change of a reading redoes the stages that read with it; 5 = the decoder leaves out a 1
    # much taller than the number's other digits (2026-12-05: the numbers in pred.csv change); 6 = the real photos
    # framed wider are read too (2026-12-05: the stage real_wider fuses them); 7 = A reads each photo as it is again,
    # the stretched photo a view (2026-12-06); 8 = the photos without a number are read too (2026-12-06: the stage
    # no_number counts the numbers read in them)
    TEST_FORMAT = 8

    @classmethod
    def format_of(cls, name: str) -> int:
        """The result format a stage is made in now (1 when it never changed)."""
        return cls.TEST_FORMAT if name.startswith('test_') else cls.FORMATS.get(name, 1)

    def __init__(self, work: Path, force: bool):
        self.path = work / 'stages.json'
        self.done = {} if force or not self.path.is_file() else json.loads(self.path.read_text())
        self.asked = []  # the stages this run asked for, in order (stages.json may hold others from earlier runs)
        self.made = set()  # the stages this run made (not reused)

    @property
    def this_run(self) -> dict:
        """The results of the stages this run asked for (run or skipped), in the order asked."""
        return {name: self.done[name] for name in self.asked if name in self.done}

    def run(self, name: str, fn, inputs=None, after: tuple[str, ...] = (), inputs_before=None):
        """``fn()``'s result, or the recorded one. ``inputs`` (JSON-able: e.g. the member names a stage reads)
        are recorded with the result; a recorded result made from other inputs is redone, so a re-run with
        other ``--views`` re-tunes the ensemble instead of reporting the old one (a result that recorded none, from
        before inputs were recorded, is kept: ``FORMATS`` redoes the stages whose making changed; of a dict of
        inputs, a key given as None asks for nothing and a key the record lacks was not recorded: neither redoes).
        ``after``: the stages whose results this one is made from; when this run made any of them again (a new
        model A, a member read again), a recorded result is from the old one and is redone. ``inputs_before``: what
        a result recorded without inputs was made from, for a stage whose inputs came later (the data stage's
        geometry: every demo before ``--geometry`` rendered 'mix')."""
        self.asked.append(name)
        if name in self.done and self.done[name].get('format', 1) != self.format_of(name):
            say(f'{name}: done earlier by an older demo, redone')
            del self.done[name]
        remade = [a for a in after if a in self.made]
        if name in self.done and remade:
            say(f'{name}: done earlier from the {", ".join(remade)} this run made again, redone')
            del self.done[name]
        made_from = self.done[name].get('inputs', inputs_before) if name in self.done else None
        if made_from is not None and inputs is not None and not _same_inputs(made_from, inputs):
            say(f'{name}: done earlier from {made_from}, redone from {inputs}')
            del self.done[name]
        if name in self.done:
            say(f'{name}: done earlier ({self.done[name].get("seconds", 0):.0f} s), skipped (--force redoes it)')
            return self.done[name]
        say(f'{name} ...')
        t0, cpu0 = time.time(), cpu_times()
        result = fn() or {}
        result['seconds'] = round(time.time() - t0, 1)
        steal = steal_share(cpu0, cpu_times())
        if steal is not None:  # the host's share of this VM's CPU while the stage ran (mmdigit.utils.cpu_steal)
            result['cpu_steal'] = round(steal, 3)
        result['format'] = self.format_of(name)
        if inputs is not None:
            result['inputs'] = inputs
        self.done[name] = result
        self.made.add(name)
        self.path.write_text(json.dumps(self.done, indent=2))
        return result
