"""Web reader: ``python tools/serve.py [CONFIG CHECKPOINT] [--host 127.0.0.1] [--port 8080]``.

Open http://127.0.0.1:8080/ and drop photos on the page, or ``curl -F image=@house.png
http://127.0.0.1:8080/read`` (``tools/infer.py --json``'s objects, as ``{"results": [...]}``). Without
CONFIG and CHECKPOINT it serves the demo's model A (``configs/digit_frcnn_r18_cpu.py`` and the checkpoint
named in ``work_dirs/demo/model_a/last_checkpoint``). See ``mmdigit.serving`` for the routes and limits.
"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without install

from mmdigit.utils.cli import UserError, positive_float, positive_int, probability, run_main  # noqa: E402

DEMO_CONFIG = ROOT / 'configs' / 'digit_frcnn_r18_cpu.py'
DEMO_WORK_DIR = ROOT / 'work_dirs' / 'demo' / 'model_a'


def demo_model() -> tuple[str, str]:
    """(config, checkpoint) of the demo's model A; FileNotFoundError when ``make demo`` has not made it."""
    from mmdigit.utils.run_files import last_checkpoint
    try:
        return str(DEMO_CONFIG), str(last_checkpoint(DEMO_WORK_DIR, ran_in=ROOT))  # the demo trains in ROOT
    except FileNotFoundError as e:
        raise FileNotFoundError(f'no CONFIG CHECKPOINT given and {e}: run `make demo` or pass CONFIG CHECKPOINT') \
            from None


def parse_args(argv=None):
    from mmdigit.serving import MAX_BYTES, MAX_FILES, MAX_PIXELS
    parser = argparse.ArgumentParser(description='Serve the web reader and its HTTP API (POST /read)')
    parser.add_argument('config', nargs='?', help='config file (default: the demo\'s model A)')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file (default: the demo\'s model A)')
    parser.add_argument('--host', default='127.0.0.1', help='address to bind (default 127.0.0.1: this machine '
                        'only; 0.0.0.0 exposes the reader to the network)')
    parser.add_argument('--port', type=int, default=8080, help='port (0: any free port)')
    parser.add_argument('--score-thr', type=probability,
                        help='Task-2 threshold in [0, 1] (default: calibrated, else config)')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--max-mb', type=positive_float, default=MAX_BYTES / 2**20, help='largest request body, MiB')
    parser.add_argument('--max-files', type=positive_int, default=MAX_FILES, help='most images per request')
    parser.add_argument('--max-megapixels', type=positive_float, default=MAX_PIXELS / 1e6, help='largest image')
    args = parser.parse_args(argv)
    if (args.config is None) != (args.checkpoint is None):
        parser.error('give both CONFIG and CHECKPOINT, or neither (the demo\'s model A)')
    if not 0 <= args.port <= 65535:
        parser.error(f'--port {args.port} is not a port number (0-65535)')
    return args


def main(argv=None):
    args = parse_args(argv)
    from mmdigit.serving import load_service, make_server
    config, checkpoint = (args.config, args.checkpoint) if args.config else demo_model()
    service = load_service(config, checkpoint, device=args.device, score_thr=args.score_thr,
                           max_pixels=int(args.max_megapixels * 1e6))
    try:
        server = make_server(service, args.host, args.port, max_bytes=int(args.max_mb * 2**20),
                             max_files=args.max_files)
    except OSError as e:  # the address: in use, not this machine's, a privileged port
        raise UserError(f'cannot listen on {args.host}:{args.port} ({e.strerror or e})') from None
    host, port = server.server_address[:2]
    print(f'mmdigit web reader: {service.name} on http://{host}:{port}/ (POST /read for the API; Ctrl-C stops)',
          flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:  # the normal way to stop it: exit 0
        pass
    finally:
        server.server_close()
    return 0


if __name__ == '__main__':
    sys.exit(run_main(main, 'serve'))
