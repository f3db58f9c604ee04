"""What reads photos as the demo's ensemble read them: model A's config and checkpoint, the other members in
the ensemble's input order and its fusion settings (:class:`ReaderSpec`). The demo writes it to
``summary.json`` (``reader``) and prints it as a ``tools/infer.py`` command (and the ``tools/export_onnx.py`` one
that writes it as one .onnx file); ``tools/serve.py`` serves it by
default (:func:`demo_reader`), so what a user meets first reads as the demo measured. :class:`FinetuneSpec`: how a
user fine-tunes model A on a few labelled photos of their own and reads with the result, reading as A reads (the two
commands the demo prints after the reader's; ``summary.json``'s ``finetune``)."""
from __future__ import annotations

import json
import os
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

from mmdigit.ensemble import FusionSettings, write_settings
from mmdigit.utils.run_files import last_checkpoint

READER_FUSION = 'reader_fusion.json'  # the demo reader's fusion settings: the chosen members' alone


@dataclass(frozen=True)
class ReaderSpec:
    config: str
    checkpoint: str
    members: list = field(default_factory=list)  # each [config] (read by ``checkpoint``) or [config, checkpoint]
    fusion: str | None = None  # fusion_settings.json; its inputs: config + checkpoint, then ``members``

    def reader_kwargs(self) -> dict:
        """``DigitReader``'s keyword arguments besides config and checkpoint."""
        return dict(members=[m[0] if len(m) == 1 else tuple(m) for m in self.members], fusion=self.fusion)

    def files(self) -> list[str]:
        member_files = [p for m in self.members for p in m]
        return [self.config, self.checkpoint, *member_files] + ([self.fusion] if self.fusion else [])

    def command(self, root: Path, photos: str = 'PHOTOS...', python: str | None = None) -> str:
        """The ``tools/infer.py`` command line, run by ``python`` (default: this interpreter, the project's
        ``.venv/bin/python`` when the demo ran from it; paths relative to ``root`` where they are inside it)."""
        return self._command('tools/infer.py', root, photos, python)

    def export_command(self, root: Path, out: str = 'reader.onnx', python: str | None = None) -> str | None:
        """The ``tools/export_onnx.py`` command line that writes this reader as one .onnx file (its crop classifier
        and each member's NMS included); None when a member is another model (a file holds one network)."""
        if any(len(m) != 1 for m in self.members):
            return None
        return self._command('tools/export_onnx.py', root, out, python)

    def _command(self, tool: str, root: Path, positional: str, python: str | None) -> str:
        def rel(p):
            return relative_to(p, root)
        words = [python or rel(sys.executable), tool, rel(self.config), rel(self.checkpoint), positional]
        for m in self.members:
            words += ['--view', rel(m[0])] if len(m) == 1 else ['--member', rel(m[0]), rel(m[1])]
        words += ['--fusion', rel(self.fusion)] if self.fusion else []
        return ' '.join(w if w == positional else shlex.quote(w) for w in words)


def relative_to(path, root: Path) -> str:
    """``path`` as a printed command names it: relative to ``root`` (where the command runs) when inside it."""
    p = Path(path)
    return str(p.relative_to(root)) if p.is_absolute() and p.is_relative_to(root) else str(p)


@dataclass(frozen=True)
class FinetuneSpec:
    """How a user fine-tunes the demo's model A on labelled photos of their own and reads with the result: ``config``
    (the demo's ``model_a_finetune.py``: the mixed few-photo recipe reading as A reads, with its crop classifier and
    soft-NMS), A's ``checkpoint`` and the ``renders`` mixed into every batch (the demo's training split)."""
    config: str
    checkpoint: str
    renders: str

    def commands(self, root: Path, photos_dir: str = 'DIR', work_dir: str = 'work_dirs/finetune',
                 python: str | None = None) -> tuple[str, str]:
        """The ``tools/train.py`` command that fine-tunes on ``photos_dir`` (course layout) into ``work_dir``, and the
        ``tools/infer.py`` one that reads photos with its last checkpoint."""
        py = python or relative_to(sys.executable, root)
        config = shlex.quote(relative_to(self.config, root))
        train = (f'{py} tools/train.py {config} --data-root {photos_dir} --work-dir {work_dir} --cfg-options '
                 f'load_from={shlex.quote(relative_to(self.checkpoint, root))} '
                 f'synthetic_root={shlex.quote(relative_to(self.renders, root))}')
        read = f'{py} tools/infer.py {config} "$(cat {work_dir}/last_checkpoint)" PHOTOS...'
        return train, read


def demo_spec(members: dict, ens: dict | None, config) -> ReaderSpec:
    """The spec of a demo run: ``members`` (name -> ``{'checkpoint', 'config' (default ``config``)}``, model A
    first, in the ensemble's input order) and the ensemble stage's result (None: model A alone). When validation
    chose fewer members than were offered, the spec lists only model A and the chosen ones, with the settings
    renumbered onto them in ``READER_FUSION`` beside the ensemble's folders (written here): the command a user
    copies names what it reads."""
    items = [dict(config=str(m.get('config', config)), checkpoint=str(m['checkpoint'])) for m in members.values()]
    main = items[0]
    if ens is None:
        return ReaderSpec(main['config'], main['checkpoint'])
    fusion = str(ens['settings_file'])
    if ens.get('settings') is not None:
        needed, settings = FusionSettings.from_dict(ens['settings'], fusion).on_needed_inputs(len(items))
        if len(needed) < len(items):
            names = list(members)
            fusion = str(write_settings(Path(fusion).parent.parent / READER_FUSION, settings,
                                        [names[i] for i in needed], renumbered_from=fusion))
            items = [items[i] for i in needed]
    others = [[m['config']] if m['checkpoint'] == main['checkpoint'] else [m['config'], m['checkpoint']]
              for m in items[1:]]
    return ReaderSpec(main['config'], main['checkpoint'], others, fusion)


def demo_reader(work: Path, config: Path, root: Path) -> ReaderSpec:
    """What ``make demo`` left in ``work``: the reader of its ``summary.json`` when all its files are there, else
    model A's last checkpoint alone (a demo that stopped before its summary); FileNotFoundError when there is no
    model A."""
    summary = work / 'summary.json'
    try:
        spec = ReaderSpec(**json.loads(summary.read_text())['reader'])
        if all(os.path.isfile(p) for p in spec.files()):
            return spec
    except (OSError, ValueError, KeyError, TypeError):
        pass
    try:
        return ReaderSpec(str(config), str(last_checkpoint(work / 'model_a', ran_in=root)))  # the demo trains in root
    except FileNotFoundError as e:
        raise FileNotFoundError(f'no CONFIG CHECKPOINT given and {e}: run `make demo` or pass CONFIG CHECKPOINT') \
            from None
