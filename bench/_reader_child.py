"""One ``DigitReader`` in its own process, driven over stdin/stdout by ``bench/inference_speed.py``.

Why a process: the 'before' arm is an older commit's ``mmdigit`` (extracted by ``git archive``), which cannot
share a Python process with the current one. Both arms run this same script, so they are timed alike.

    python bench/_reader_child.py CODE_ROOT CONFIG CHECKPOINT FILE_LIST BATCH [WORKERS [CFG_OPTIONS_JSON]]
    (CFG_OPTIONS_JSON: ``Config.merge_from_dict`` keys, e.g. the model's widths when an older config's differ
    from the checkpoint's)
    prints one '@@ ' line when ready, then answers each command with one such line:
    stdin 'time'  -> [wall, CPU] seconds for reading every listed image (``read_many``, BATCH per forward)
    stdin 'read'  -> json, per image its number and all its detections (boxes, scores, labels)
    stdin 'files LIST' -> read the images listed in LIST from now on (answers their count)
"""
import json
import sys
import time

MARK = '@@ '


def say(obj) -> None:
    """One protocol line, marked: mmengine also prints to stdout (checkpoint loading)."""
    print(MARK + json.dumps(obj), flush=True)


def main():
    code_root, config, checkpoint, file_list, batch = sys.argv[1:6]
    workers = int(sys.argv[6]) if len(sys.argv) > 6 else 1
    options = json.loads(sys.argv[7]) if len(sys.argv) > 7 else {}
    sys.path.insert(0, code_root)
    from mmengine.config import Config

    from mmdigit.apis import DigitReader

    files = [f for f in open(file_list).read().splitlines() if f]
    cfg = Config.fromfile(config)
    cfg.merge_from_dict(options)
    reader = DigitReader(cfg, checkpoint, **({'workers': workers} if workers > 1 else {}))
    reader.read_many(files[:2 * int(batch)], batch_size=int(batch))  # warm-up
    import torch

    import mmdigit
    say(dict(ready=mmdigit.__file__, threads=torch.get_num_threads()))
    for line in sys.stdin:
        cmd = line.strip()
        if cmd == 'time':
            t0, c0 = time.perf_counter(), time.process_time()
            reader.read_many(files, batch_size=int(batch))
            say([time.perf_counter() - t0, time.process_time() - c0])
        elif cmd == 'read':
            out = []
            for r in reader.read_many(files, batch_size=int(batch)):
                det = r.detections
                out.append(dict(number=r.number, bboxes=det['bboxes'].tolist(), scores=det['scores'].tolist(),
                                labels=det['labels'].tolist()))
            say(out)
        elif cmd.startswith('files '):
            files = [f for f in open(cmd[len('files '):]).read().splitlines() if f]
            say(len(files))
        elif cmd == 'quit':
            break


if __name__ == '__main__':
    main()
