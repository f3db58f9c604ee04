#!/usr/bin/env python
"""Write the real scenery beside labelled photos' numbers as a set without a number (``mmdigit.datasets.number_free``):
the strips left and right of each photo's number, 0.3 digit heights clear of it; then read it to count the numbers
the model reads where there is none (every strip's truth is -1).

    python tools/dataset_converters/number_free_strips.py --ann-file ../shared/svhn-reference/real-dev/real_dev.json \
        --img-dir ../shared/svhn-reference/real-dev/images --out work_dirs/real_strips
    python tools/test.py CONFIG CKPT --img-dir work_dirs/real_strips/images \
        --ann-file work_dirs/real_strips/ann.json --pred-dir out/real_strips
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


sys.path.insert(0, str(ROOT))  # run from a checkout without install
from mmdigit.datasets.number_free import write_number_free_set  # noqa: E402
from mmdigit.utils.cli import add_derived_set_args, check_derived_set_args, run_main  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_derived_set_args(ap, 'strip')
    args = ap.parse_args(argv)
    check_derived_set_args(args)
    data = write_number_free_set(args.ann_file, args.img_dir, args.out, args.force)
    print(f'wrote {Path(args.out) / "ann.json"} and {len(data["images"])} strips without a number')
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'number_free_strips'))
