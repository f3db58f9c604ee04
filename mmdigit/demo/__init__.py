"""The demo's domain logic (``tools/demo.py`` is its argparse shell): the stages from synthetic data to the
ensemble, the real photos, the speed and the pictures (``pipeline``), their bookkeeping in ``stages.json``
(``stages``) and the final table, ``summary.json`` (``summary``)."""
from .pipeline import CONFIG, DEFAULTS, DemoSettings, run_demo
from .stages import Stages, run_tool, say
from .summary import scores, write_summary

__all__ = ['CONFIG', 'DEFAULTS', 'DemoSettings', 'Stages', 'run_demo', 'run_tool', 'say', 'scores', 'write_summary']
