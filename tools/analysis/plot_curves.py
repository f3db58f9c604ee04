"""Plot loss / mAP / accuracy curves of one or more runs.

    python tools/analysis/plot_curves.py work_dirs/<run> [work_dirs/<other> ...] [--out curves.png]

One run: ``<run>/curves.png`` by default. Several: all on shared axes (``--names`` labels them). ``--out``'s
extension picks the format (.png, .pdf, .svg, ...).
"""
import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from mmdigit.utils.cli import UserError, check_writable_file, run_main  # noqa: E402
from mmdigit.visualization.curves import CURVES, plot_runs  # noqa: E402


def figure_file(text: str) -> str:
    """``--out``: a file name whose extension matplotlib writes, checked before any run is read (matplotlib's own
    error names no file, and without an extension it would append .png to the name)."""
    from matplotlib.backend_bases import FigureCanvasBase
    formats = sorted(FigureCanvasBase.get_supported_filetypes())
    if Path(text).suffix.lower().lstrip('.') not in formats:
        raise argparse.ArgumentTypeError(f'{text}: give a file ending in one of {", ".join("." + f for f in formats)}')
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('runs', nargs='+', help='mmengine work dirs')
    parser.add_argument('--out', type=figure_file, help='.png (or .pdf, .svg, ...) file (default: <run>/curves.png)')
    parser.add_argument('--names', nargs='+', help='legend names, one per run')
    parser.add_argument('--panels', nargs='+', default=['loss', 'mAP', 'accuracy'], choices=sorted(CURVES))
    args = parser.parse_args(argv)
    if args.names and len(args.names) != len(args.runs):
        parser.error(f'{len(args.names)} names for {len(args.runs)} runs')
    for run in args.runs:
        if not Path(run).is_dir():
            raise UserError(f'{run}: not a folder (give mmengine work dirs)')
    if args.out:
        check_writable_file(args.out, '--out', 'figure')
    out = plot_runs(args.runs, args.out or Path(args.runs[0]) / 'curves.png', args.names, args.panels)
    print(f'wrote {out}')
    return out


if __name__ == '__main__':
    sys.exit(run_main(main, 'plot_curves'))
