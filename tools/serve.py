"""Web reader: ``python tools/serve.py [CONFIG CHECKPOINT] [--host 127.0.0.1] [--port 8080]``.

Open http://127.0.0.1:8080/ and drop photos on the page, or ``curl -F image=@house.png
http://127.0.0.1:8080/read`` (``tools/infer.py --json``'s objects, as ``{"results": [...]}``). Without
CONFIG and CHECKPOINT it serves what ``make demo`` left: its ensemble (model A, the members and the fusion
settings in ``work_dirs/demo/summary.json``), or model A alone when the demo stopped before its summary.
``--view`` / ``--member`` / ``--fusion`` make an ensemble of CONFIG CHECKPOINT as in ``tools/infer.py``. See
``mmdigit.serving`` for the routes and limits.
"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without install

from mmdigit.utils.cli import UserError, add_reader_args, positive_float, positive_int, reader_kwargs, run_main  # noqa: E402

DEMO_CONFIG = ROOT / 'configs' / 'digit_frcnn_r18_cpu.py'
DEMO_WORK_DIR = ROOT / 'work_dirs' / 'demo'


def demo_model():
    """The demo's reader (:func:`mmdigit.demo.reader_spec.demo_reader`); FileNotFoundError when ``make demo``
    has not made model A."""
    from mmdigit.demo.reader_spec import demo_reader
    return demo_reader(DEMO_WORK_DIR, DEMO_CONFIG, ROOT)


def parse_args(argv=None):
    from mmdigit.serving import MAX_BYTES, MAX_FILES, MAX_PIXELS
    parser = argparse.ArgumentParser(description='Serve the web reader and its HTTP API (POST /read)')
    parser.add_argument('config', nargs='?', help='config file (default: the demo\'s reader)')
    parser.add_argument('checkpoint', nargs='?', help='checkpoint file (default: the demo\'s reader)')
    parser.add_argument('--host', default='127.0.0.1', help='address to bind (default 127.0.0.1: this machine '
                        'only; 0.0.0.0 exposes the reader to the network)')
    parser.add_argument('--port', type=int, default=8080, help='port (0: any free port)')
    add_reader_args(parser)
    parser.add_argument('--max-mb', type=positive_float, default=MAX_BYTES / 2**20, help='largest request body, MiB')
    parser.add_argument('--max-files', type=positive_int, default=MAX_FILES, help='most images per request')
    parser.add_argument('--max-megapixels', type=positive_float, default=MAX_PIXELS / 1e6, help='largest image')
    args = parser.parse_args(argv)
    if (args.config is None) != (args.checkpoint is None):
        parser.error('give both CONFIG and CHECKPOINT, or neither (the demo\'s reader)')
    if args.config is None and (args.members or args.fusion):
        parser.error('--view, --member and --fusion go with CONFIG CHECKPOINT (the demo\'s reader has its own)')
    if not 0 <= args.port <= 65535:
        parser.error(f'--port {args.port} is not a port number (0-65535)')
    return args, reader_kwargs(args, parser)


def main(argv=None):
    args, reader_options = parse_args(argv)
    from mmdigit.serving import load_service, make_server
    if args.config is None:
        spec = demo_model()
        config, checkpoint = spec.config, spec.checkpoint
        reader_options.update(spec.reader_kwargs())
    else:
        config, checkpoint = args.config, args.checkpoint
    service = load_service(config, checkpoint, max_pixels=int(args.max_megapixels * 1e6), **reader_options)
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
