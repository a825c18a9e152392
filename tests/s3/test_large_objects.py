"""Large objects: single PUTs above the chunk size (5 MiB) are stored as chunks spread over
the shards (docs/format.md, "Chunked single PUT"). boto3 put_object and a managed transfer
forced to a single PUT, the AWS CLI with a 40 MiB put-object and a 100 MiB `s3 cp`
(multipart), every download compared byte for byte; ranges across chunk boundaries."""

import filecmp
import os
import random
import subprocess
import sys

import pytest
from boto3.s3.transfer import TransferConfig

from s3util import aws_runner, checksum_b64, md5_hex

MIB = 1 << 20
CHUNK = 5 * MIB


def _blob(n, seed):
    return random.Random(seed).randbytes(n)


def test_put_object_40mib_is_one_object_with_a_plain_etag(s3, bucket):
    data = _blob(40 * MIB + 123, 1)
    put = s3.put_object(Bucket=bucket, Key="big/obj", Body=data, ContentType="video/mp4", Metadata={"k": "v"})
    # A single PUT's ETag is the MD5 of its bytes, however it is stored.
    assert put["ETag"] == f'"{md5_hex(data)}"'
    head = s3.head_object(Bucket=bucket, Key="big/obj")
    assert head["ContentLength"] == len(data)
    assert head["ETag"] == put["ETag"]
    assert head["ContentType"] == "video/mp4" and head["Metadata"] == {"k": "v"}
    got = s3.get_object(Bucket=bucket, Key="big/obj")
    assert got["Body"].read() == data
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="big/")["Contents"]
    assert [(o["Key"], o["Size"], o["ETag"]) for o in listed] == [("big/obj", len(data), put["ETag"])]

    # Ranges at random offsets and around chunk boundaries.
    rng = random.Random(7)
    ranges = [(b - 1, b) for b in range(CHUNK, len(data), CHUNK)]
    ranges += [(b - 100, b + 100) for b in (CHUNK, 4 * CHUNK)]
    for _ in range(20):
        s = rng.randrange(len(data))
        ranges.append((s, min(len(data) - 1, s + rng.randrange(3 * CHUNK))))
    for s, e in ranges:
        r = s3.get_object(Bucket=bucket, Key="big/obj", Range=f"bytes={s}-{e}")
        assert r["ContentRange"] == f"bytes {s}-{e}/{len(data)}"
        assert r["Body"].read() == data[s : e + 1], (s, e)
    tail = s3.get_object(Bucket=bucket, Key="big/obj", Range="bytes=-777")["Body"].read()
    assert tail == data[-777:]

    # A single PUT is its own part 1.
    p1 = s3.get_object(Bucket=bucket, Key="big/obj", PartNumber=1)
    assert p1["ContentLength"] == len(data)
    assert p1["Body"].read() == data


def test_put_object_with_checksum_and_overwrite(s3, bucket):
    a = _blob(12 * MIB + 5, 2)
    put = s3.put_object(Bucket=bucket, Key="k", Body=a, ChecksumAlgorithm="CRC32")
    assert put["ChecksumCRC32"] == checksum_b64("CRC32", a)
    got = s3.get_object(Bucket=bucket, Key="k", ChecksumMode="ENABLED")
    assert got["ChecksumCRC32"] == checksum_b64("CRC32", a)
    assert got["Body"].read() == a
    # Overwrite (chunked over chunked), then small over chunked, then delete.
    b = _blob(7 * MIB, 3)
    s3.put_object(Bucket=bucket, Key="k", Body=b)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b
    s3.put_object(Bucket=bucket, Key="k", Body=b"small")
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"small"
    s3.put_object(Bucket=bucket, Key="k", Body=a)
    s3.delete_object(Bucket=bucket, Key="k")
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0


def test_managed_transfer_forced_to_a_single_put(s3, bucket, tmp_path):
    data = _blob(40 * MIB + 7, 4)
    src = tmp_path / "up.bin"
    src.write_bytes(data)
    single = TransferConfig(multipart_threshold=64 * MIB, multipart_chunksize=64 * MIB)
    s3.upload_file(str(src), bucket, "managed.bin", Config=single)
    head = s3.head_object(Bucket=bucket, Key="managed.bin")
    assert head["ETag"] == f'"{md5_hex(data)}"', "one PUT, not multipart"
    down = tmp_path / "down.bin"
    s3.download_file(bucket, "managed.bin", str(down), Config=single)
    assert filecmp.cmp(src, down, shallow=False)


@pytest.fixture
def aws(server, tmp_path_factory):
    """`aws ARGS...` (python -m awscli) with env credentials and the CLI's default transfer
    settings (multipart above 8 MiB)."""
    return aws_runner(server, tmp_path_factory.mktemp("awscli-large"), timeout=300)


def test_aws_cli_100mib_cp_and_40mib_put_object(aws, s3, bucket, tmp_path):
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(100 * MIB))
    aws("s3", "cp", str(big), f"s3://{bucket}/cli/big.bin")
    assert s3.head_object(Bucket=bucket, Key="cli/big.bin")["ContentLength"] == 100 * MIB
    back = tmp_path / "big.back"
    aws("s3", "cp", f"s3://{bucket}/cli/big.bin", str(back))
    assert filecmp.cmp(big, back, shallow=False)

    # s3api put-object is always one PUT: stored in chunks.
    mid = tmp_path / "mid.bin"
    data = _blob(40 * MIB + 1, 5)
    mid.write_bytes(data)
    aws("s3api", "put-object", "--bucket", bucket, "--key", "cli/mid.bin", "--body", str(mid))
    assert s3.head_object(Bucket=bucket, Key="cli/mid.bin")["ETag"] == f'"{md5_hex(data)}"'
    out = tmp_path / "mid.back"
    aws("s3api", "get-object", "--bucket", bucket, "--key", "cli/mid.bin", str(out))
    assert filecmp.cmp(mid, out, shallow=False)


def test_copies_of_and_into_large_objects(s3, bucket):
    # A multipart source (three parts) copied whole: one single-part object, stored in
    # chunks, with the MD5 of its bytes as ETag.
    data = _blob(12 * MIB + 9, 6)
    parts_cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_fileobj(__import__("io").BytesIO(data), bucket, "mp", Config=parts_cfg)
    assert s3.head_object(Bucket=bucket, Key="mp")["ETag"].endswith('-3"')
    cp = s3.copy_object(Bucket=bucket, Key="cp", CopySource={"Bucket": bucket, "Key": "mp"})
    assert cp["CopyObjectResult"]["ETag"] == f'"{md5_hex(data)}"'
    assert s3.get_object(Bucket=bucket, Key="cp")["Body"].read() == data
    # A chunked source copied with new metadata, and onto itself.
    cp2 = s3.copy_object(Bucket=bucket, Key="cp2", CopySource={"Bucket": bucket, "Key": "cp"}, MetadataDirective="REPLACE", Metadata={"x": "1"})
    assert cp2["CopyObjectResult"]["ETag"] == f'"{md5_hex(data)}"'
    s3.copy_object(Bucket=bucket, Key="cp2", CopySource={"Bucket": bucket, "Key": "cp2"}, MetadataDirective="REPLACE", Metadata={"x": "2"})
    got = s3.get_object(Bucket=bucket, Key="cp2")
    assert got["Metadata"] == {"x": "2"} and got["Body"].read() == data
    # UploadPartCopy of a range of a chunked object, across chunk boundaries.
    up = s3.create_multipart_upload(Bucket=bucket, Key="upc")["UploadId"]
    s, e = CHUNK - 10, 2 * CHUNK + 10
    pc = s3.upload_part_copy(Bucket=bucket, Key="upc", UploadId=up, PartNumber=1, CopySource={"Bucket": bucket, "Key": "cp2"}, CopySourceRange=f"bytes={s}-{e}")
    s3.complete_multipart_upload(Bucket=bucket, Key="upc", UploadId=up, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": pc["CopyPartResult"]["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key="upc")["Body"].read() == data[s : e + 1]
