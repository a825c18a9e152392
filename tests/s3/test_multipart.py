"""Multipart upload: boto3's managed transfer (with CRC32), every low-level call and its
errors, ListParts / ListMultipartUploads pagination, abort, partNumber and Range reads
across parts of varying sizes, and `aws s3 cp` (multipart above 8 MiB). Every download is
compared byte for byte with its source."""

import hashlib
import os
import random

import pytest
from boto3.s3.transfer import TransferConfig
from botocore.exceptions import ClientError

from s3util import aws_runner, error_of

MIB = 1 << 20


def mp_etag(parts):
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    return f'"{hashlib.md5(md5s).hexdigest()}-{len(parts)}"'


def upload(s3, bucket, key, parts, **create):
    up = s3.create_multipart_upload(Bucket=bucket, Key=key, **create)
    uid = up["UploadId"]
    done = []
    for i, p in enumerate(parts, 1):
        r = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=i, Body=p)
        assert r["ETag"] == f'"{hashlib.md5(p).hexdigest()}"'
        done.append({"PartNumber": i, "ETag": r["ETag"]})
    return uid, done


def get(s3, bucket, key, **kw):
    return s3.get_object(Bucket=bucket, Key=key, **kw)["Body"].read()


def test_managed_transfer_crc32(s3, bucket, tmp_path):
    data = os.urandom(20 * MIB + 12345)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_file(str(src), bucket, "big", Config=cfg, ExtraArgs={"ChecksumAlgorithm": "CRC32"})
    head = s3.head_object(Bucket=bucket, Key="big")
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith('-5"')
    out = tmp_path / "out.bin"
    s3.download_file(bucket, "big", str(out), Config=cfg)
    assert out.read_bytes() == data
    assert get(s3, bucket, "big") == data
    # Listing shows the object once, with its multipart ETag; no upload is left open.
    objs = s3.list_objects_v2(Bucket=bucket)["Contents"]
    assert [(o["Key"], o["Size"]) for o in objs] == [("big", len(data))]
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_managed_transfer_with_parts_above_64mib(s3, bucket, tmp_path):
    # A part larger than the largest engine record (64 MiB by default) is stored as chunks;
    # S3 allows parts up to 5 GiB, and clients raise the part size for big files.
    data = os.urandom(70 * MIB) + os.urandom(3 * MIB + 11)
    src = tmp_path / "src.bin"
    src.write_bytes(data)
    cfg = TransferConfig(multipart_threshold=66 * MIB, multipart_chunksize=66 * MIB, max_concurrency=2)
    s3.upload_file(str(src), bucket, "huge-parts", Config=cfg, ExtraArgs={"ChecksumAlgorithm": "CRC32"})
    head = s3.head_object(Bucket=bucket, Key="huge-parts", PartNumber=1)
    assert head["ContentLength"] == 66 * MIB
    assert head["PartsCount"] == 2
    got = s3.get_object(Bucket=bucket, Key="huge-parts", Range=f"bytes={66 * MIB - 5}-{66 * MIB + 4}")["Body"].read()
    assert got == data[66 * MIB - 5:66 * MIB + 5]
    assert hashlib.sha256(get(s3, bucket, "huge-parts")).digest() == hashlib.sha256(data).digest()
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)


def test_ranges_across_varying_parts(s3, bucket):
    sizes = [5 * MIB + 1, 7 * MIB - 3, 5 * MIB, 123]
    parts = [os.urandom(n) for n in sizes]
    data = b"".join(parts)
    uid, done = upload(s3, bucket, "v", parts, Metadata={"k": "v"}, ContentType="text/x-test")
    r = s3.complete_multipart_upload(Bucket=bucket, Key="v", UploadId=uid, MultipartUpload={"Parts": done})
    assert r["ETag"] == mp_etag(parts)
    head = s3.head_object(Bucket=bucket, Key="v")
    assert head["Metadata"] == {"k": "v"} and head["ContentType"] == "text/x-test"
    assert head["ETag"] == mp_etag(parts)
    rnd = random.Random(4)
    bounds = [0, sizes[0], sizes[0] + sizes[1], len(data) - sizes[-1]]
    cases = [(b - 2, b + 2) for b in bounds[1:]] + [(0, len(data) - 1), (bounds[1] - 1, bounds[3] + 5)]
    cases += [tuple(sorted(rnd.randrange(len(data)) for _ in range(2))) for _ in range(12)]
    for a, b in cases:
        r = s3.get_object(Bucket=bucket, Key="v", Range=f"bytes={a}-{b}")
        assert r["ContentRange"] == f"bytes {a}-{b}/{len(data)}"
        assert r["Body"].read() == data[a : b + 1], (a, b)
    assert get(s3, bucket, "v", Range="bytes=-100") == data[-100:]
    for n, p in enumerate(parts, 1):
        r = s3.get_object(Bucket=bucket, Key="v", PartNumber=n)
        assert r["PartsCount"] == len(parts)
        assert r["Body"].read() == p
        assert s3.head_object(Bucket=bucket, Key="v", PartNumber=n)["ContentLength"] == len(p)
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="v", PartNumber=5)
    assert error_of(e)[1] == "InvalidPartNumber"
    # CopyObject of a multipart object makes a single-part copy of the same bytes.
    s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "v"})
    assert get(s3, bucket, "copy") == data
    # Overwrite and delete drop the old parts; the object reads as the new one.
    s3.put_object(Bucket=bucket, Key="v", Body=b"small")
    assert get(s3, bucket, "v") == b"small"
    s3.delete_object(Bucket=bucket, Key="copy")


def test_complete_errors(s3, bucket):
    small = [os.urandom(1000), os.urandom(1000)]
    uid, done = upload(s3, bucket, "e", small)

    def complete(parts, upload_id=uid):
        with pytest.raises(ClientError) as e:
            s3.complete_multipart_upload(Bucket=bucket, Key="e", UploadId=upload_id, MultipartUpload={"Parts": parts})
        return error_of(e)

    assert complete(done) == (400, "EntityTooSmall")
    assert complete([done[1], done[0]]) == (400, "InvalidPartOrder")
    assert complete([{"PartNumber": 1, "ETag": '"' + "0" * 32 + '"'}]) == (400, "InvalidPart")
    assert complete([{"PartNumber": 3, "ETag": done[0]["ETag"]}]) == (400, "InvalidPart")
    assert complete(done, upload_id="f" * 32) == (404, "NoSuchUpload")
    assert complete(done, upload_id="nonsense") == (404, "NoSuchUpload")
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="e", UploadId="0" * 32, PartNumber=1, Body=b"x")
    assert error_of(e) == (404, "NoSuchUpload")
    with pytest.raises(ClientError) as e:
        s3.upload_part(Bucket=bucket, Key="e", UploadId=uid, PartNumber=10001, Body=b"x")
    assert error_of(e)[1] == "InvalidArgument"
    # A single small part is a valid object (the last part may be small).
    r = s3.complete_multipart_upload(Bucket=bucket, Key="e", UploadId=uid, MultipartUpload={"Parts": done[:1]})
    assert r["ETag"] == mp_etag(small[:1])
    assert get(s3, bucket, "e") == small[0]
    # Completing again answers as before; aborting afterwards finds no upload.
    r = s3.complete_multipart_upload(Bucket=bucket, Key="e", UploadId=uid, MultipartUpload={"Parts": done[:1]})
    assert r["ETag"] == mp_etag(small[:1])
    with pytest.raises(ClientError) as e:
        s3.abort_multipart_upload(Bucket=bucket, Key="e", UploadId=uid)
    assert error_of(e) == (404, "NoSuchUpload")


def test_list_parts_and_uploads_pagination_and_abort(s3, bucket):
    uid, done = upload(s3, bucket, "lp", [bytes([i]) * (100 + i) for i in range(5)])
    r = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, MaxParts=2)
    assert [p["PartNumber"] for p in r["Parts"]] == [1, 2] and r["IsTruncated"]
    assert r["Parts"][1]["Size"] == 101 and r["Parts"][1]["ETag"] == done[1]["ETag"]
    r = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, MaxParts=2, PartNumberMarker=r["NextPartNumberMarker"])
    assert [p["PartNumber"] for p in r["Parts"]] == [3, 4] and r["IsTruncated"]
    r = s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid, PartNumberMarker=4)
    assert [p["PartNumber"] for p in r["Parts"]] == [5] and not r["IsTruncated"]
    pages = [s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid)]
    assert len(pages[0]["Parts"]) == 5
    # Uploads: several keys, two uploads of one key, a delimiter.
    ids = {("lp", uid)}
    for k in ["a", "dir/x", "dir/y", "lp", "z"]:
        ids.add((k, s3.create_multipart_upload(Bucket=bucket, Key=k)["UploadId"]))
    seen, kw = [], {}
    while True:
        r = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2, **kw)
        seen += [(u["Key"], u["UploadId"]) for u in r.get("Uploads", [])]
        assert len(r.get("Uploads", [])) <= 2
        if not r["IsTruncated"]:
            break
        kw = {"KeyMarker": r["NextKeyMarker"], "UploadIdMarker": r["NextUploadIdMarker"]}
    assert sorted(seen) == sorted(ids) and [k for k, _ in seen] == sorted(k for k, _ in seen)
    r = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["dir/"]
    assert sorted(u["Key"] for u in r["Uploads"]) == ["a", "lp", "lp", "z"]
    r = s3.list_multipart_uploads(Bucket=bucket, Prefix="dir/")
    assert [u["Key"] for u in r["Uploads"]] == ["dir/x", "dir/y"]
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    for k, i in ids:
        s3.abort_multipart_upload(Bucket=bucket, Key=k, UploadId=i)
    assert "Uploads" not in s3.list_multipart_uploads(Bucket=bucket)
    with pytest.raises(ClientError) as e:
        s3.list_parts(Bucket=bucket, Key="lp", UploadId=uid)
    assert error_of(e) == (404, "NoSuchUpload")


def test_upload_part_copy(s3, bucket):
    src = os.urandom(6 * MIB + 7)
    s3.put_object(Bucket=bucket, Key="src", Body=src)
    up = s3.create_multipart_upload(Bucket=bucket, Key="dst")
    uid = up["UploadId"]
    r1 = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=1, CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange=f"bytes=0-{5 * MIB}")
    r2 = s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=2, CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange=f"bytes={5 * MIB + 1}-{len(src) - 1}")
    with pytest.raises(ClientError) as e:
        s3.upload_part_copy(Bucket=bucket, Key="dst", UploadId=uid, PartNumber=3, CopySource={"Bucket": bucket, "Key": "src"}, CopySourceRange=f"bytes=0-{len(src)}")
    assert error_of(e)[1] == "InvalidArgument"
    parts = [{"PartNumber": 1, "ETag": r1["CopyPartResult"]["ETag"]}, {"PartNumber": 2, "ETag": r2["CopyPartResult"]["ETag"]}]
    s3.complete_multipart_upload(Bucket=bucket, Key="dst", UploadId=uid, MultipartUpload={"Parts": parts})
    assert get(s3, bucket, "dst") == src
    # A part copied from a multipart object.
    up2 = s3.create_multipart_upload(Bucket=bucket, Key="dst2")["UploadId"]
    r = s3.upload_part_copy(Bucket=bucket, Key="dst2", UploadId=up2, PartNumber=1, CopySource={"Bucket": bucket, "Key": "dst"}, CopySourceRange=f"bytes={5 * MIB - 10}-{5 * MIB + 10}")
    s3.complete_multipart_upload(Bucket=bucket, Key="dst2", UploadId=up2, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": r["CopyPartResult"]["ETag"]}]})
    assert get(s3, bucket, "dst2") == src[5 * MIB - 10 : 5 * MIB + 11]


def test_aws_cli_cp_multipart(server, s3, bucket, tmp_path):
    data = os.urandom(30 * MIB + 5)
    src = tmp_path / "cli.bin"
    src.write_bytes(data)
    aws = aws_runner(server, tmp_path, timeout=300)

    aws("s3", "cp", str(src), f"s3://{bucket}/cli.bin")
    assert s3.head_object(Bucket=bucket, Key="cli.bin")["ETag"].endswith('-4"')  # 8 MiB parts
    out = tmp_path / "back.bin"
    aws("s3", "cp", f"s3://{bucket}/cli.bin", str(out))
    assert out.read_bytes() == data
