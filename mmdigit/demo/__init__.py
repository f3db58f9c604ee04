"""The demo's domain logic (``tools/demo.py`` is its argparse shell): the stages from synthetic data to the
ensemble, the real photos, the speed and the pictures (``pipeline``), their bookkeeping in ``stages.json`` and the
tools they run (``stages``) and the final table, ``summary.json`` (``summary``). ``finetune_curve`` runs the same
tools for the fine-tuning curve on a few real photos (``tools/analysis/finetune_curve.py``)."""
from .pipeline import CONFIG, DEFAULTS, DemoSettings, run_demo
from .stages import Stages, run_tool, say
from .summary import scores, write_summary

__all__ = ['CONFIG', 'DEFAULTS', 'DemoSettings', 'Stages', 'run_demo', 'run_tool', 'say', 'scores', 'write_summary']
