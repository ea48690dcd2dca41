#!/usr/bin/python3
"""Writes the seed corpus of the fuzz targets: one well-formed input per
interesting version, so libFuzzer starts from valid structures instead of
discovering the framing from nothing.

Input layouts follow the targets: fuzz_<api>: 2 bytes selecting the version
(min + sel % range), then a body; fuzz_header: 1 byte header version, then a
request header; fuzz_batch: a record set. Encoded with tests/integration/kwire.py.

Run from anywhere: /usr/bin/python3 tests/fuzz/corpus/make_seeds.py
"""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "integration"))

import kwire  # noqa: E402


def sel(version, min_version):
    return bytes([0, version - min_version])


def write(target, name, data):
    d = os.path.join(HERE, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    ts = 1700000000000
    batch = kwire.record_batch([(b"key", b"value", [("h", b"v")]), (None, b"", [])], first_timestamp=ts)
    batch2 = kwire.record_batch([(b"k2", b"x" * 40, [])], base_offset=2, first_timestamp=ts)

    write("fuzz_batch", "two-batches", batch + batch2)
    write("fuzz_batch", "one-batch", batch)
    write("fuzz_batch", "torn", (batch + batch2)[:-7])

    for v in (3, 7, 8):
        write("fuzz_produce", "v%d" % v, sel(v, 0) + kwire.produce_body(v, "topic", 0, batch))
    write("fuzz_produce", "v3-null-records", sel(3, 0) + kwire.produce_body(3, "t", 1, None))

    write("fuzz_metadata", "v4", sel(4, 0) + kwire.metadata_v4_body(["a", "topic-b"], True))
    write("fuzz_metadata", "v4-all", sel(4, 0) + kwire.metadata_v4_body(None))

    write("fuzz_api_versions", "v0", sel(0, 0))
    write("fuzz_api_versions", "v3", sel(3, 0) + kwire.api_versions_body(3))

    write("fuzz_list_offsets", "v2", sel(2, 1) + kwire.list_offsets_v2_body("topic", 0, kwire.EARLIEST))
    write("fuzz_fetch", "v4", sel(4, 4) + kwire.fetch_v4_body("topic", 0, 42, max_wait_ms=500))

    for hv in (0, 1, 2):
        write("fuzz_header", "v%d" % hv, bytes([hv]) + kwire.request_header(3, 4, 7, "client", flexible=hv == 2))


if __name__ == "__main__":
    main()
