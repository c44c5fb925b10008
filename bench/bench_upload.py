"""Upload benchmark, run by hand: ``.venv/bin/python bench/bench_upload.py [--megabytes 200] [--rounds 3]``.

Starts its own SeaweedFS, writes a file of random bytes, then times in the same run, each in a
fresh child process so that its peak memory is its own:

1. **direct**: ``minio.put_object`` of the file (what a client holding S3 keys would do), the baseline;
2. **upload path**: what the gateway does with what ``documents.start_upload`` hands out. The
   child process reads the file in 64 KiB chunks (like a request body), hands them to
   ``services.documents.streaming.stream_upload`` against presigned part URLs (SHA-256 on the way),
   and documents' ``complete_multipart`` joins the parts; the child runs under eventlet like the gateway.

Prints the throughput of each, the ratio path/direct (aim: at least 0.7), the growth of each child's
peak memory over its memory before the upload (aim: below 64 MB), and SeaweedFS's memory growth.
Rounds alternate the two so that neither is favoured by a warm server. The check that follows an
upload (clamd INSTREAM, type checks) is not part of it: clamd takes streams up to 110 MB here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))

MIB = 1024 * 1024
READ_CHUNK = 64 * 1024


def memory_kib(pid: int | str = "self", field: str = "VmRSS") -> int:
    """A field of /proc/<pid>/status in KiB (VmRSS now, VmHWM the peak so far)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    raise LookupError(field)


def client_for(settings: dict[str, str]) -> Any:
    from minio import Minio

    return Minio(
        settings["S3_ENDPOINT"],
        access_key=settings["S3_ACCESS_KEY"],
        secret_key=settings["S3_SECRET_KEY"],
        secure=False,
        region=settings["S3_REGION"],
    )


# -- the two children ---------------------------------------------------------------------------------


def child_direct(settings: dict[str, str], bucket: str, path: Path) -> dict[str, Any]:
    client = client_for(settings)
    size = path.stat().st_size
    baseline = memory_kib()
    started = time.perf_counter()
    with path.open("rb") as file:
        client.put_object(bucket, f"direct/{secrets.token_hex(8)}", file, size)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "baseline_kib": baseline, "peak_kib": memory_kib(field="VmHWM")}


def child_stream(settings: dict[str, str], bucket: str, path: Path) -> dict[str, Any]:
    import eventlet

    eventlet.monkey_patch()

    from services.documents.storage import PART_SIZE, DocumentStore, quarantine_key
    from services.documents.streaming import stream_upload

    store = DocumentStore(client_for(settings), bucket)
    size = path.stat().st_size
    baseline = memory_kib()
    started = time.perf_counter()
    # documents.start_upload: a multipart upload and presigned part URLs for the file limit.
    key = quarantine_key(secrets.token_hex(8))
    upload_id = store.start_multipart(key)
    lifetime = timedelta(minutes=15)
    target = {
        "max_bytes": size,
        "part_size": PART_SIZE,
        "part_urls": store.presigned_part_urls(key, upload_id, -(-size // PART_SIZE), lifetime),
        "abort_url": store.presigned_abort_url(key, upload_id, lifetime),
    }

    def body() -> Any:
        with path.open("rb") as file:
            while chunk := file.read(READ_CHUNK):
                yield chunk

    sent = stream_upload(body(), target)
    store.complete_multipart(key, upload_id)  # documents.complete_upload joins the parts
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "baseline_kib": baseline,
        "peak_kib": memory_kib(field="VmHWM"),
        "sha256": sent.sha256,
        "stored_size": store.size_of(key),
    }


def run_child(kind: str, settings: dict[str, str], bucket: str, path: Path) -> dict[str, Any]:
    answer = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--bucket", bucket, "--file", str(path)],
        env={**os.environ, "BENCH_S3": json.dumps(settings)},
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return dict(json.loads(answer.stdout.strip().splitlines()[-1]))


# -- the run ------------------------------------------------------------------------------------------


def write_file(path: Path, megabytes: int) -> str:
    digest = hashlib.sha256()
    with path.open("wb") as file:
        for _ in range(megabytes):
            block = os.urandom(MIB)
            digest.update(block)
            file.write(block)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", choices=("direct", "stream"))
    parser.add_argument("--bucket")
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()
    if args.child:
        settings = json.loads(os.environ["BENCH_S3"])
        child = child_direct if args.child == "direct" else child_stream
        print(json.dumps(child(settings, args.bucket, args.file)))
        return

    from shared.servers import start_seaweedfs

    with tempfile.TemporaryDirectory(prefix="bench-upload-") as work:
        workdir = Path(work)
        path = workdir / "upload.bin"
        expected = write_file(path, args.megabytes)
        server = start_seaweedfs(workdir / "seaweedfs")
        try:
            assert server.process is not None
            weed = server.process.pid
            settings = dict(server.settings)
            bucket = f"bench-{secrets.token_hex(4)}"
            client_for(settings).make_bucket(bucket)
            weed_before = memory_kib(weed)
            results: dict[str, list[dict[str, Any]]] = {"direct": [], "stream": []}
            for _ in range(args.rounds):
                for kind in ("direct", "stream"):
                    results[kind].append(run_child(kind, settings, bucket, path))
            weed_after = memory_kib(weed)
        finally:
            server.stop()
    report(args, results, expected, weed_before, weed_after)


def report(
    args: argparse.Namespace, results: dict[str, list[dict[str, Any]]], expected: str, weed_before: int, weed_after: int
) -> None:
    size_mb = args.megabytes * MIB / 1e6
    for run in results["stream"]:
        assert run["sha256"] == expected, "the streamed SHA-256 differs from the file's"
        assert run["stored_size"] == args.megabytes * MIB, "the stored object has another size"
    print(f"Upload of {args.megabytes} MiB to SeaweedFS on this machine, {args.rounds} rounds, median")
    print(f"  {platform.node()}: {os.cpu_count()} CPUs, Python {platform.python_version()}")
    medians = {}
    for kind, label in (("direct", "direct put_object (baseline)"), ("stream", "upload path (stream_upload)")):
        seconds = statistics.median(run["seconds"] for run in results[kind])
        growth = max((run["peak_kib"] - run["baseline_kib"]) / 1024 for run in results[kind])
        medians[kind] = seconds
        print(f"  {label:32} {size_mb / seconds:8.1f} MB/s   {seconds:6.2f} s   peak memory growth {growth:6.1f} MiB")
    ratio = medians["direct"] / medians["stream"]
    verdict = "ok" if ratio >= 0.7 else "below the aim of 0.7"
    print(f"  throughput ratio path/direct: {ratio:.2f} ({verdict})")
    print(f"  SeaweedFS resident memory: {weed_before / 1024:.0f} MiB before, {weed_after / 1024:.0f} MiB after")
    print("  SHA-256 computed while streaming matches the file's: yes")


if __name__ == "__main__":
    main()
