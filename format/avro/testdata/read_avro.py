"""Read an Avro container file with Debian's python3-avro, the independent
reader s3bridge's Avro files are checked with, and print one JSON object per
record with values in comparable forms:

  decimal -> str (Decimal's own text, e.g. "-12.50")
  date, time, datetime -> isoformat()
  uuid.UUID -> str
  bytes -> "hex:<hex digits>"
  float NaN / +-Infinity -> "NaN" / "Infinity" / "-Infinity"

Usage: read_avro.py FILE [READER_SCHEMA.avsc]
The first output line is {"codec": ..., "schema": <the embedded schema>}.
"""
import datetime
import decimal
import json
import math
import sys
import uuid

import avro.datafile
import avro.io
import avro.schema


def norm(v):
    if isinstance(v, dict):
        return {k: norm(x) for k, x in v.items()}
    if isinstance(v, list):
        return [norm(x) for x in v]
    if isinstance(v, bytes):
        return "hex:" + v.hex()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (datetime.date, datetime.time, datetime.datetime)):
        return v.isoformat()
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "NaN"
        if math.isinf(v):
            return "Infinity" if v > 0 else "-Infinity"
        return v
    return v


def main():
    reader_schema = None
    if len(sys.argv) > 2:
        with open(sys.argv[2]) as f:
            reader_schema = avro.schema.parse(f.read())
    with open(sys.argv[1], "rb") as f:
        r = avro.datafile.DataFileReader(f, avro.io.DatumReader(readers_schema=reader_schema))
        meta = {
            "codec": r.get_meta("avro.codec").decode(),
            "schema": json.loads(r.get_meta("avro.schema").decode()),
        }
        print(json.dumps(meta))
        for rec in r:
            print(json.dumps(norm(rec), ensure_ascii=False))
        r.close()


main()
