#!/usr/bin/env python3
"""multipart/form-data decoding in-process: heron's decoder beside python-multipart and
defnull's multipart, on the same bodies in one run (issue 16's decoder targets).

    python3 bench/multipart.py                 # writes bench/RESULTS-multipart.md
    python3 bench/multipart.py --rounds 3 --no-md

Both anchors install a top-level module called ``multipart`` (python-multipart keeps a
shim under that name), so each is installed, pinned, into a directory of its own under the
bench state (``pip install --target``) and put on ``sys.path`` so that ``multipart`` is
defnull's and ``python_multipart`` python-multipart's. Every decoder is fed the same body in
64 KiB pieces (what a server reads), counts its parts and content bytes (which must agree
with the body, or the run fails), and is timed best of ``--repeat`` per round; rounds are
interleaved, medians reported. Only the decoding is timed: no files, no fields objects.

Bodies: a 32 MiB file; 1,000 small fields; a part of 1 MiB of CR/LF only (the content a
naive decoder scans byte by byte or rescans); 1 MiB of CR/LF before the first boundary and
after the last (CVE-2024-53981's preamble and epilogue).
"""
import argparse
import datetime
import os
import platform
import random
import statistics
import subprocess
import sys
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(BENCH)
STATE = os.environ.get("BENCH_STATE") or os.path.join(
    os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "heron-bench")
PINS = {"python-multipart": "python-multipart==0.0.34", "multipart": "multipart==2.0.1"}
BOUNDARY = b"----heronBench7MA4YWxkTrZu0gW"
PIECE = 64 * 1024
DEFAULT_MD = os.path.join(BENCH, "RESULTS-multipart.md")


def install_anchors():
    """Each anchor in its own --target directory (they clash on the module name ``multipart``)."""
    dirs = {}
    for name, pin in PINS.items():
        target = os.path.join(STATE, "multipart-anchors", pin)
        if not os.path.isdir(target):
            subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target", target, pin], check=True)
        dirs[name] = target
    sys.path[:0] = [dirs["multipart"], dirs["python-multipart"], REPO]  # defnull's `multipart` first


def part(name, content, filename=None):
    disposition = 'form-data; name="%s"' % name + ('; filename="%s"' % filename if filename else "")
    head = "Content-Disposition: %s\r\n" % disposition
    if filename:
        head += "Content-Type: application/octet-stream\r\n"
    return b"--" + BOUNDARY + b"\r\n" + head.encode() + b"\r\n" + content + b"\r\n"


def close(epilogue=b""):
    return b"--" + BOUNDARY + b"--\r\n" + epilogue


def bodies():
    """name: (body, parts, content bytes, what it is)."""
    big = random.Random(16).randbytes(32 << 20)
    crlf = b"\r\n" * (1 << 19)
    fields = [part("field%d" % i, b"value %d" % i) for i in range(1000)]
    small = part("title", b"hello")
    return {
        "file-32m": (part("upload", big, "big.bin") + close(), 1, len(big), "one 32 MiB file part"),
        "fields-1000": (b"".join(fields) + close(), 1000, sum(len(b"value %d" % i) for i in range(1000)),
                        "1,000 small fields"),
        "crlf-part-1m": (part("upload", crlf, "crlf.bin") + close(), 1, len(crlf),
                         "one part of 1 MiB of CR/LF only"),
        "junk-1m": (crlf + small + close(crlf), 1, 5, "1 MiB of CR/LF before the first boundary and after the last"),
    }


def heron_decode(pieces):
    from heron.protocol.events import NEED_DATA, Data
    from heron.protocol.multipart import PART_END, MultipartDecoder
    decoder = MultipartDecoder(BOUNDARY, max_parts=10_000, max_header_bytes=8192, max_headers=16)
    parts = size = 0
    for piece in pieces:
        decoder.feed(piece)
        while (event := decoder.next_event()) is not NEED_DATA:
            if isinstance(event, Data):
                size += len(event.data)
            elif event is PART_END:
                parts += 1
    decoder.end()
    return parts, size


def python_multipart_decode(pieces):
    from python_multipart.multipart import MultipartParser
    counts = [0, 0]

    def on_part_data(data, start, end):
        counts[1] += end - start

    def on_part_end():
        counts[0] += 1

    parser = MultipartParser(BOUNDARY, {"on_part_data": on_part_data, "on_part_end": on_part_end})
    for piece in pieces:
        parser.write(piece)
    parser.finalize()
    return tuple(counts)


def defnull_decode(pieces):
    import multipart
    parser = multipart.PushMultipartParser(BOUNDARY, max_segment_count=10_000)
    parts = size = 0
    for piece in pieces + [b""]:  # an empty piece says the body is over
        for result in parser.parse(piece):
            if result is None:
                parts += 1
            elif not isinstance(result, multipart.MultipartSegment):
                size += len(result)
    parser.close()
    return parts, size


DECODERS = {"heron": heron_decode, "python-multipart": python_multipart_decode, "multipart": defnull_decode}
TARGETS = [  # (body, threshold, against): heron ÷ the faster anchor, or ÷ python-multipart
    ("file-32m", 0.8, "faster"), ("fields-1000", 0.8, "faster"),
    ("crlf-part-1m", 10.0, "python-multipart"), ("junk-1m", 10.0, "python-multipart"),
]


def timed(decode, pieces, expect, repeat):
    best = None
    for _ in range(repeat):
        started = time.perf_counter()
        got = decode(pieces)
        elapsed = time.perf_counter() - started
        if got != expect:
            raise SystemExit("%s: %r, want %r (parts, content bytes)" % (decode.__name__, got, expect))
        best = elapsed if best is None else min(best, elapsed)
    return best


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3, help="timings per round, the best kept")
    ap.add_argument("--md", default=DEFAULT_MD, help="the report (default: %(default)s)")
    ap.add_argument("--no-md", action="store_true")
    args = ap.parse_args()
    install_anchors()
    import multipart
    import python_multipart
    cases = bodies()
    for decode in DECODERS.values():  # imports and first-call costs stay out of the timings
        decode([cases["junk-1m"][0]])
    seconds = {(b, d): [] for b in cases for d in DECODERS}
    for rnd in range(args.rounds):
        for name, (raw, nparts, nbytes, _) in cases.items():
            pieces = [raw[i:i + PIECE] for i in range(0, len(raw), PIECE)]
            for dname, decode in DECODERS.items():
                seconds[name, dname].append(timed(decode, pieces, (nparts, nbytes), args.repeat))
        print("round %d/%d done" % (rnd + 1, args.rounds), file=sys.stderr)
    med = {k: statistics.median(v) for k, v in seconds.items()}
    L = ["# multipart/form-data decoding: heron beside python-multipart and multipart\n",
         "- date: %s" % datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
         "- machine: %s, Python %s" % (platform.machine(), platform.python_version()),
         "- heron: git %s" % subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"],
                                            capture_output=True, text=True).stdout.strip(),
         "- anchors: python-multipart %s, multipart (defnull) %s" % (python_multipart.__version__,
                                                                     multipart.__version__),
         "- command: `python3 bench/multipart.py %s`" % " ".join(sys.argv[1:]),
         "- in-process, one core, the body in 64 KiB pieces; medians over %d interleaved rounds of the best "
         "of %d\n" % (args.rounds, args.repeat),
         "## Targets (issue 16)\n", "| body | heron ÷ | ratio | threshold | |", "|---|---|---:|---:|---|"]
    for name, limit, against in TARGETS:
        if against == "faster":
            other = min(("python-multipart", "multipart"), key=lambda d: med[name, d])
        else:
            other = against
        ratio = med[name, other] / med[name, "heron"]
        L.append("| %s | %s | %.2f | ≥ %s | %s |" % (name, other, ratio, limit, "✓ met" if ratio >= limit else "✗ not met"))
    L += ["\n## Times (ms) and throughput\n", "| body | what | heron | python-multipart | multipart |",
          "|---|---|---:|---:|---:|"]
    for name, (raw, _, _, what) in cases.items():
        cells = ["%.2f ms (%.0f MiB/s)" % (med[name, d] * 1e3, len(raw) / med[name, d] / 2**20) for d in DECODERS]
        L.append("| %s | %s | %s |" % (name, what, " | ".join(cells)))
    text = "\n".join(L) + "\n"
    print(text)
    if not args.no_md:
        with open(args.md, "w") as f:
            f.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
