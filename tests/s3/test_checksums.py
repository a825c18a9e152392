"""Checksums: x-amz-checksum-* on PutObject (as boto3 sends them), returned with
x-amz-checksum-mode: ENABLED; Content-MD5; x-amz-content-sha256."""

import hashlib
import os

import pytest
from botocore.exceptions import ClientError

from s3util import checksum_b64, error_of, md5_b64, md5_hex, raw_request

ALGOS = ["CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"]


def field(algo):
    return f"Checksum{algo}"


@pytest.mark.parametrize("algo", ALGOS)
def test_put_checksum_returned_with_checksum_mode(s3, bucket, algo):
    data = os.urandom(100_000)
    want = checksum_b64(algo, data)
    p = s3.put_object(Bucket=bucket, Key="c", Body=data, ChecksumAlgorithm=algo)
    assert p[field(algo)] == want
    assert p["ETag"] == f'"{md5_hex(data)}"'
    g = s3.get_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert g[field(algo)] == want
    assert g["Body"].read() == data
    h = s3.head_object(Bucket=bucket, Key="c", ChecksumMode="ENABLED")
    assert h[field(algo)] == want
    # Only when asked for.
    plain = s3.head_object(Bucket=bucket, Key="c")
    assert not any(k.startswith("x-amz-checksum-") for k in plain["ResponseMetadata"]["HTTPHeaders"])


@pytest.mark.parametrize("algo", ALGOS)
def test_put_with_explicit_correct_checksum_value(s3, bucket, algo):
    data = b"explicit checksum value"
    s3.put_object(Bucket=bucket, Key="e", Body=data, **{field(algo): checksum_b64(algo, data)})
    assert s3.head_object(Bucket=bucket, Key="e", ChecksumMode="ENABLED")[field(algo)] == checksum_b64(algo, data)


def test_default_checksum_is_crc32(s3, bucket):
    # botocore's default (when_supported) sends x-amz-checksum-crc32 on every PutObject.
    data = b"default"
    s3.put_object(Bucket=bucket, Key="d", Body=data)
    assert s3.head_object(Bucket=bucket, Key="d", ChecksumMode="ENABLED")["ChecksumCRC32"] == checksum_b64("CRC32", data)


def test_ranged_get_has_no_full_object_checksum(s3, bucket):
    s3.put_object(Bucket=bucket, Key="r", Body=b"0123456789", ChecksumAlgorithm="SHA256")
    g = s3.get_object(Bucket=bucket, Key="r", ChecksumMode="ENABLED", Range="bytes=0-3")
    assert g["Body"].read() == b"0123"
    assert "ChecksumSHA256" not in g


def test_copy_keeps_checksum(s3, bucket):
    data = b"copy my checksum"
    s3.put_object(Bucket=bucket, Key="s", Body=data, ChecksumAlgorithm="SHA1")
    s3.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "s"})
    assert s3.head_object(Bucket=bucket, Key="d", ChecksumMode="ENABLED")["ChecksumSHA1"] == checksum_b64("SHA1", data)


@pytest.mark.parametrize("algo", ["CRC32", "CRC32C", "SHA256"])
def test_wrong_checksum_header_is_bad_digest(server, s3, bucket, algo):
    data = b"the real body"
    wrong = checksum_b64(algo, b"some other body")
    r = raw_request(server, "PUT", f"/{bucket}/bad", [(f"x-amz-checksum-{algo.lower()}", wrong)], data)
    assert r.status == 400, r
    assert r.code == "BadDigest"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="bad")
    assert error_of(e)[0] == 404


def test_malformed_checksum_header_is_invalid_request(server, bucket):
    r = raw_request(server, "PUT", f"/{bucket}/bad", [("x-amz-checksum-crc32", "not base64!")], b"x")
    assert r.status == 400, r
    assert r.code == "InvalidRequest"


def test_unknown_sdk_checksum_algorithm(server, bucket):
    r = raw_request(server, "PUT", f"/{bucket}/bad", [("x-amz-sdk-checksum-algorithm", "MD4")], b"x")
    assert r.status == 400, r
    assert r.code == "InvalidRequest"


def test_content_md5_correct(s3, bucket):
    data = b"md5 me"
    r = s3.put_object(Bucket=bucket, Key="m", Body=data, ContentMD5=md5_b64(data))
    assert r["ETag"] == f'"{md5_hex(data)}"'


def test_content_md5_wrong_is_bad_digest(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="m", Body=b"md5 me", ContentMD5=md5_b64(b"other"))
    assert error_of(e) == (400, "BadDigest")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="m")
    assert error_of(e)[0] == 404


def test_content_md5_malformed_is_invalid_digest(server, bucket):
    r = raw_request(server, "PUT", f"/{bucket}/m", [("Content-MD5", "AAAA")], b"md5 me")
    assert r.status == 400, r
    assert r.code == "InvalidDigest"


def test_content_sha256_mismatch(server, s3, bucket):
    body = b"signed body"
    r = raw_request(server, "PUT", f"/{bucket}/sha", body=body, content_sha256=hashlib.sha256(b"a different body").hexdigest())
    assert r.status == 400, r
    assert r.code == "XAmzContentSHA256Mismatch"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="sha")
    assert error_of(e)[0] == 404


def test_content_sha256_correct(server, s3, bucket):
    body = b"signed body"
    r = raw_request(server, "PUT", f"/{bucket}/sha", body=body)
    assert r.status == 200, r
    assert r.headers["etag"] == f'"{md5_hex(body)}"'
    assert s3.get_object(Bucket=bucket, Key="sha")["Body"].read() == body
