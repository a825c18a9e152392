"""Authentication: SigV4 and SigV2 headers, presigned URLs (v4 and v2), bad keys and
signatures, clock skew, UNSIGNED-PAYLOAD, and the aws-chunked streaming uploads
(unsigned with a checksum trailer, and signed chunks)."""

import datetime
import http.client
import importlib
import os
import socket
import urllib.parse
import xml.etree.ElementTree as ET

import botocore.auth
import pytest
from botocore.exceptions import ClientError

from s3util import (
    Resp,
    aws_chunked_signed,
    aws_chunked_unsigned,
    build_request,
    checksum_b64,
    error_of,
    http_chunked,
    make_client,
    md5_hex,
    raw_request,
    send_bytes,
    sign_v4,
)


def fetch(url, method="GET", data=None, headers=None):
    """(status, headers, body) of one plain HTTP request to a (presigned) URL, as a
    browser or curl would send it: the URL exactly as given, no signing, no extra headers
    (urllib.request would add a form Content-Type to a PUT, which SigV2 signs)."""
    u = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request(method, u.path + ("?" + u.query if u.query else ""), body=data, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def err_code(body):
    return ET.fromstring(body).findtext("Code")


# --- SigV4 / SigV2 headers ------------------------------------------------------------------

def test_sigv4_header_client(s3, bucket):
    r = s3.put_object(Bucket=bucket, Key="v4", Body=b"four")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_object(Bucket=bucket, Key="v4")["Body"].read() == b"four"


def test_sigv2_client_object_operations(s3v2, s3, bucket):
    data = os.urandom(70_000)
    r = s3v2.put_object(Bucket=bucket, Key="v2/ö key", Body=data, Metadata={"sig": "v2"}, ContentType="text/x-v2")
    assert r["ETag"] == f'"{md5_hex(data)}"'
    g = s3v2.get_object(Bucket=bucket, Key="v2/ö key")
    assert g["Body"].read() == data
    assert g["Metadata"] == {"sig": "v2"}
    assert g["ContentType"] == "text/x-v2"
    assert s3v2.get_object(Bucket=bucket, Key="v2/ö key", Range="bytes=0-9")["Body"].read() == data[:10]
    assert s3v2.get_object(Bucket=bucket, Key="v2/ö key", ResponseContentType="a/b")["ContentType"] == "a/b"
    assert s3v2.head_object(Bucket=bucket, Key="v2/ö key")["ContentLength"] == len(data)
    s3v2.copy_object(Bucket=bucket, Key="v2copy", CopySource={"Bucket": bucket, "Key": "v2/ö key"})
    assert s3v2.get_object_acl(Bucket=bucket, Key="v2copy")["Grants"][0]["Permission"] == "FULL_CONTROL"
    s3v2.delete_object(Bucket=bucket, Key="v2/ö key")
    s3v2.delete_object(Bucket=bucket, Key="v2copy")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
    assert s3v2.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200




def test_sigv2_client_bucket_operations(s3v2, s3, bucket):
    s3.put_object(Bucket=bucket, Key="v2/ö key", Body=b"x")
    assert [o["Key"] for o in s3v2.list_objects(Bucket=bucket)["Contents"]] == ["v2/ö key"]
    assert [o["Key"] for o in s3v2.list_objects_v2(Bucket=bucket, Prefix="v2/")["Contents"]] == ["v2/ö key"]
    assert s3v2.get_bucket_acl(Bucket=bucket)["Grants"][0]["Permission"] == "FULL_CONTROL"
    s3v2.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "v2/ö key"}]})
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_sigv2_bucket_lifecycle(s3v2):
    from s3util import unique_bucket_name

    name = unique_bucket_name("v2bucket")
    s3v2.create_bucket(Bucket=name)
    assert s3v2.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3v2.delete_bucket(Bucket=name)


@pytest.mark.parametrize("sigver", ["s3v4", "s3"])
def test_wrong_secret_is_signature_does_not_match(server, bucket, sigver):
    c = make_client(server, secret_key="definitely-not-the-secret", signature_version=sigver)
    with pytest.raises(ClientError) as e:
        c.list_objects_v2(Bucket=bucket)
    assert error_of(e) == (403, "SignatureDoesNotMatch")
    with pytest.raises(ClientError) as e:
        c.put_object(Bucket=bucket, Key="x", Body=b"x")
    assert error_of(e) == (403, "SignatureDoesNotMatch")


@pytest.mark.parametrize("sigver", ["s3v4", "s3"])
def test_unknown_access_key(server, bucket, sigver):
    c = make_client(server, access_key="NOSUCHACCESSKEY00000", signature_version=sigver)
    with pytest.raises(ClientError) as e:
        c.list_buckets()
    assert error_of(e) == (403, "InvalidAccessKeyId")


def test_malformed_authorization_header(server, bucket):
    r = raw_request(server, "GET", f"/{bucket}", sign=False, headers=[("Authorization", "AWS4-HMAC-SHA256 garbage"), ("x-amz-date", "20250101T000000Z")])
    assert r.status == 400, r
    assert r.code == "AuthorizationHeaderMalformed"


def test_header_changed_after_signing(server, bucket):
    hdrs, _ = sign_v4(server, "PUT", f"/{bucket}/k", [("x-amz-meta-a", "1")], b"x")
    hdrs = [(k, "2" if k.lower() == "x-amz-meta-a" else v) for k, v in hdrs] + [("Content-Length", "1")]
    r = send_bytes(server.host, server.port, build_request("PUT", f"/{bucket}/k", hdrs, b"x"), "PUT")
    assert r.status == 403
    assert r.code == "SignatureDoesNotMatch"


# --- clock skew -------------------------------------------------------------------------------

def _shift_botocore_clock(monkeypatch, delta):
    """Moves the clock botocore signs with (its own signers, and the CRT ones that replace
    them when awscrt is installed)."""
    real = botocore.auth.get_current_datetime

    def shifted(remove_tzinfo=True):
        return real(remove_tzinfo) + delta

    monkeypatch.setattr(botocore.auth, "get_current_datetime", shifted)
    try:
        crt_auth = importlib.import_module("botocore.crt.auth")
    except ImportError:
        crt_auth = None
    if crt_auth is not None:
        monkeypatch.setattr(crt_auth, "get_current_datetime", shifted)


@pytest.mark.parametrize("minutes", [20, -20])
def test_clock_skew_boto3(s3, bucket, monkeypatch, minutes):
    _shift_botocore_clock(monkeypatch, datetime.timedelta(minutes=minutes))
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=bucket)
    assert error_of(e) == (403, "RequestTimeTooSkewed")


def test_clock_skew_raw(server, bucket):
    r = raw_request(server, "GET", f"/{bucket}?list-type=2", skew=-20 * 60)
    assert r.status == 403, r
    assert r.code == "RequestTimeTooSkewed"
    r = raw_request(server, "GET", f"/{bucket}?list-type=2", skew=10 * 60)
    assert r.status == 200, r


def test_sigv2_clock_skew(server, bucket, monkeypatch):
    # SigV2 signs the Date header, which botocore's HmacV1Auth._get_date formats.
    import email.utils

    c = make_client(server, signature_version="s3")
    monkeypatch.setattr(botocore.auth.HmacV1Auth, "_get_date", lambda self: email.utils.formatdate(datetime.datetime.now().timestamp() - 20 * 60, usegmt=True))
    with pytest.raises(ClientError) as e:
        c.get_object(Bucket=bucket, Key="any")
    assert error_of(e) == (403, "RequestTimeTooSkewed")


# --- presigned URLs ---------------------------------------------------------------------------

def test_presigned_v4_get(s3, s3v4, bucket):
    s3.put_object(Bucket=bucket, Key="pre/ö ?&=+.bin", Body=b"presigned body")
    url = s3v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "pre/ö ?&=+.bin"}, ExpiresIn=300)
    assert "X-Amz-Signature=" in url
    status, headers, body = fetch(url)
    assert status == 200
    assert body == b"presigned body"
    assert headers["etag"] == f'"{md5_hex(b"presigned body")}"'


def test_presigned_v4_get_with_response_override(s3, s3v4, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", ContentType="text/plain")
    url = s3v4.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "o", "ResponseContentDisposition": "attachment; filename=o.txt"}, ExpiresIn=300
    )
    status, headers, _ = fetch(url)
    assert status == 200
    assert headers["content-disposition"] == "attachment; filename=o.txt"


def test_presigned_v4_put(s3, s3v4, bucket):
    data = os.urandom(50_000)
    url = s3v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "pput"}, ExpiresIn=300)
    status, headers, _ = fetch(url, "PUT", data)
    assert status == 200
    assert headers["etag"] == f'"{md5_hex(data)}"'
    assert s3.get_object(Bucket=bucket, Key="pput")["Body"].read() == data


def test_presigned_v4_put_with_signed_content_type(s3, s3v4, bucket):
    url = s3v4.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "ct", "ContentType": "image/png"}, ExpiresIn=300)
    status, _, _ = fetch(url, "PUT", b"png", headers={"Content-Type": "image/png"})
    assert status == 200
    assert s3.head_object(Bucket=bucket, Key="ct")["ContentType"] == "image/png"
    status, _, body = fetch(url, "PUT", b"png", headers={"Content-Type": "text/html"})
    assert status == 403
    assert err_code(body) == "SignatureDoesNotMatch"


def test_presigned_v4_tampered(s3, s3v4, bucket):
    s3.put_object(Bucket=bucket, Key="a", Body=b"a")
    s3.put_object(Bucket=bucket, Key="b", Body=b"b")
    url = s3v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "a"}, ExpiresIn=300)
    status, _, body = fetch(url.replace(f"/{bucket}/a?", f"/{bucket}/b?"))
    assert status == 403
    assert err_code(body) == "SignatureDoesNotMatch"


def test_presigned_v4_expired(s3, s3v4, bucket, monkeypatch):
    s3.put_object(Bucket=bucket, Key="e", Body=b"e")
    _shift_botocore_clock(monkeypatch, datetime.timedelta(hours=-2))
    url = s3v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "e"}, ExpiresIn=60)
    monkeypatch.undo()
    status, headers, body = fetch(url)
    assert status == 403
    assert err_code(body) == "AccessDenied"
    assert headers.get("x-amz-request-id")


def test_presigned_v4_valid_for_a_week_minus_a_bit(s3, s3v4, bucket):
    s3.put_object(Bucket=bucket, Key="w", Body=b"w")
    url = s3v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "w"}, ExpiresIn=604800)
    assert fetch(url)[0] == 200


def test_presigned_v4_expires_too_long(s3, s3v4, bucket):
    s3.put_object(Bucket=bucket, Key="w", Body=b"w")
    url = s3v4.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "w"}, ExpiresIn=604801)
    status, _, body = fetch(url)
    assert (status, err_code(body)) == (400, "AuthorizationQueryParametersError"), body


def test_presigned_url_of_default_client(s3, bucket):
    # botocore's default presigner for S3 (SigV2 query auth in this version, SigV4 in others).
    s3.put_object(Bucket=bucket, Key="d k", Body=b"default presign")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "d k"}, ExpiresIn=300)
    status, _, body = fetch(url)
    assert status == 200
    assert body == b"default presign"


def test_presigned_v2_get_and_put(s3v2, s3, bucket):
    url = s3v2.generate_presigned_url("put_object", Params={"Bucket": bucket, "Key": "v2 pre"}, ExpiresIn=300)
    assert "AWSAccessKeyId=" in url and "Signature=" in url
    status, _, _ = fetch(url, "PUT", b"v2 presigned")
    assert status == 200
    url = s3v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "v2 pre"}, ExpiresIn=300)
    status, _, body = fetch(url)
    assert status == 200
    assert body == b"v2 presigned"


def test_presigned_v2_expired(s3v2, s3, bucket):
    s3.put_object(Bucket=bucket, Key="e", Body=b"e")
    url = s3v2.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "e"}, ExpiresIn=-60)
    status, _, body = fetch(url)
    assert status == 403
    assert err_code(body) == "AccessDenied"


def test_presigned_v2_wrong_secret(server, bucket):
    c = make_client(server, secret_key="wrong-secret-123", signature_version="s3")
    url = c.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "x"}, ExpiresIn=300)
    status, _, body = fetch(url)
    assert status == 403
    assert err_code(body) == "SignatureDoesNotMatch"


# --- payload modes ----------------------------------------------------------------------------

def test_unsigned_payload(server, s3, bucket):
    data = os.urandom(30_000)
    r = raw_request(server, "PUT", f"/{bucket}/unsigned", [("Content-Type", "application/x-u")], data, content_sha256="UNSIGNED-PAYLOAD")
    assert r.status == 200, r
    assert r.headers["etag"] == f'"{md5_hex(data)}"'
    g = s3.get_object(Bucket=bucket, Key="unsigned")
    assert g["Body"].read() == data
    assert g["ContentType"] == "application/x-u"


def test_unsigned_payload_with_chunked_transfer_encoding(server, s3, bucket):
    data = os.urandom(20_000)
    hdrs, _ = sign_v4(server, "PUT", f"/{bucket}/te", [], content_sha256="UNSIGNED-PAYLOAD")
    hdrs += [("Transfer-Encoding", "chunked")]
    r = send_bytes(server.host, server.port, build_request("PUT", f"/{bucket}/te", hdrs, http_chunked(data, 3000)), "PUT")
    assert r.status == 200, r
    assert s3.get_object(Bucket=bucket, Key="te")["Body"].read() == data


def _unsigned_trailer_request(server, bucket, key, data, trailer_value=None, algo="crc32", encoding="aws-chunked"):
    """The request boto3 sends over HTTPS (see the wire capture in the reference doc)."""
    trailer_name = f"x-amz-checksum-{algo}"
    value = trailer_value or checksum_b64(algo.upper(), data)
    hdrs, _ = sign_v4(
        server, "PUT", f"/{bucket}/{key}",
        [
            ("Content-Encoding", encoding),
            ("X-Amz-Trailer", trailer_name),
            ("X-Amz-Decoded-Content-Length", str(len(data))),
            ("x-amz-sdk-checksum-algorithm", algo.upper()),
        ],
        content_sha256="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    )
    hdrs += [("Expect", "100-continue"), ("Transfer-Encoding", "chunked")]
    inner = aws_chunked_unsigned(data, [(trailer_name, value)])
    head = build_request("PUT", f"/{bucket}/{key}", hdrs)
    return head, http_chunked(inner, len(inner))


def _send_with_expect(server, head, body):
    """Sends the head, waits for 100 Continue, then the body; returns the final Resp."""
    sock = socket.create_connection((server.host, server.port), timeout=30)
    try:
        sock.sendall(head)
        sock.settimeout(5)
        first = b""
        while b"\r\n\r\n" not in first:
            chunk = sock.recv(4096)
            if not chunk:
                break
            first += chunk
        assert first.startswith(b"HTTP/1.1 100"), first
        sock.sendall(body)
        sock.settimeout(30)
        r = http.client.HTTPResponse(sock, method="PUT")
        r.begin()
        return Resp(r.status, r.reason, r.getheaders(), r.read())
    finally:
        sock.close()


def test_streaming_unsigned_payload_trailer_like_boto3_https(server, s3, bucket):
    data = os.urandom(1400)
    head, body = _unsigned_trailer_request(server, bucket, "trailer", data)
    # The framing matches the capture: one HTTP chunk wrapping the aws-chunked stream.
    assert body.startswith(b"5a3\r\n578\r\n")
    assert body.endswith(f"0\r\nx-amz-checksum-crc32:{checksum_b64('CRC32', data)}\r\n\r\n\r\n0\r\n\r\n".encode())
    r = _send_with_expect(server, head, body)
    assert r.status == 200, r
    assert r.headers["etag"] == f'"{md5_hex(data)}"'
    assert r.headers["x-amz-checksum-crc32"] == checksum_b64("CRC32", data)
    g = s3.get_object(Bucket=bucket, Key="trailer", ChecksumMode="ENABLED")
    assert g["Body"].read() == data
    assert g["ChecksumCRC32"] == checksum_b64("CRC32", data)
    assert g["ContentLength"] == 1400
    # aws-chunked is transport framing: S3 does not store it as the object's encoding.
    assert "ContentEncoding" not in g


@pytest.mark.parametrize("algo", ["crc32", "crc32c", "sha256", "crc64nvme"])
def test_streaming_unsigned_trailer_multi_chunk(server, s3, bucket, algo):
    data = os.urandom(300_000)
    head, body = _unsigned_trailer_request(server, bucket, "big", data, algo=algo)
    r = send_bytes(server.host, server.port, head + body, "PUT")
    assert r.status == 200, r
    g = s3.get_object(Bucket=bucket, Key="big", ChecksumMode="ENABLED")
    assert g["Body"].read() == data
    assert g[f"Checksum{algo.upper()}"] == checksum_b64(algo.upper(), data)


def test_streaming_keeps_other_content_encodings(server, s3, bucket):
    data = os.urandom(2000)
    head, body = _unsigned_trailer_request(server, bucket, "gz", data, encoding="aws-chunked,gzip")
    r = send_bytes(server.host, server.port, head + body, "PUT")
    assert r.status == 200, r
    g = s3.get_object(Bucket=bucket, Key="gz")
    assert g["ContentEncoding"] == "gzip"
    assert g["Body"].read() == data


def test_streaming_unsigned_trailer_wrong_checksum(server, s3, bucket):
    data = os.urandom(1400)
    head, body = _unsigned_trailer_request(server, bucket, "bad", data, trailer_value=checksum_b64("CRC32", b"other"))
    r = send_bytes(server.host, server.port, head + body, "PUT")
    assert r.status == 400, r
    assert r.code == "BadDigest"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="bad")


def _signed_streaming(server, bucket, key, data, chunk=64 << 10, trailer=False, tamper=None, decoded_len=None):
    extra = [
        ("Content-Encoding", "aws-chunked"),
        ("X-Amz-Decoded-Content-Length", str(len(data) if decoded_len is None else decoded_len)),
    ]
    mode = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    if trailer:
        mode += "-TRAILER"
        extra.append(("X-Amz-Trailer", "x-amz-checksum-crc32"))
    hdrs, signer = sign_v4(server, "PUT", f"/{bucket}/{key}", extra, content_sha256=mode)
    trailers = [("x-amz-checksum-crc32", checksum_b64("CRC32", data))] if trailer else None
    body = aws_chunked_signed(data, signer, chunk, trailers)
    if tamper is not None:
        body = tamper(body)
    hdrs += [("Content-Length", str(len(body)))]
    return send_bytes(server.host, server.port, build_request("PUT", f"/{bucket}/{key}", hdrs, body), "PUT")


def test_streaming_signed_payload(server, s3, bucket):
    data = os.urandom(200_000)
    r = _signed_streaming(server, bucket, "signed", data)
    assert r.status == 200, r
    assert r.headers["etag"] == f'"{md5_hex(data)}"'
    g = s3.get_object(Bucket=bucket, Key="signed")
    assert g["Body"].read() == data
    assert "ContentEncoding" not in g


def test_streaming_signed_payload_small_chunks_and_empty(server, s3, bucket):
    for key, data, chunk in [("small", os.urandom(10_000), 8192), ("empty", b"", 8192), ("exact", os.urandom(16384), 8192)]:
        r = _signed_streaming(server, bucket, key, data, chunk)
        assert r.status == 200, (key, r)
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == data


def test_streaming_signed_payload_tampered_chunk(server, s3, bucket):
    data = os.urandom(200_000)

    def flip(body):
        i = body.index(b"\r\n") + 2 + 1000  # a byte inside the first chunk's data
        return body[:i] + bytes([body[i] ^ 0x01]) + body[i + 1:]

    r = _signed_streaming(server, bucket, "tampered", data, tamper=flip)
    assert r.status == 403, r
    assert r.code == "SignatureDoesNotMatch"
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="tampered")
    assert error_of(e)[0] == 404


def test_streaming_signed_payload_tampered_signature(server, s3, bucket):
    data = os.urandom(100_000)

    def resign(body):
        i = body.index(b";chunk-signature=") + len(b";chunk-signature=")
        return body[:i] + b"0" * 64 + body[i + 64:]

    r = _signed_streaming(server, bucket, "tampered", data, tamper=resign)
    assert r.status == 403, r
    assert r.code == "SignatureDoesNotMatch"


def test_streaming_signed_payload_reordered_chunks(server, s3, bucket):
    data = os.urandom(3 * 8192)

    def swap(body):
        # Chunks are equal-sized: swap the first two whole chunk records.
        n = len(body.split(b"\r\n", 1)[0]) + 2 + 8192 + 2
        return body[n:2 * n] + body[:n] + body[2 * n:]

    r = _signed_streaming(server, bucket, "reordered", data, chunk=8192, tamper=swap)
    assert r.status == 403, r
    assert r.code == "SignatureDoesNotMatch"


def test_streaming_signed_payload_wrong_decoded_length(server, s3, bucket):
    data = os.urandom(10_000)
    for n in (9_999, 10_001):
        r = _signed_streaming(server, bucket, "len", data, decoded_len=n)
        assert r.status == 400, r
        assert r.code == "IncompleteBody"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="len")


def test_streaming_signed_payload_with_trailer(server, s3, bucket):
    data = os.urandom(150_000)
    r = _signed_streaming(server, bucket, "signed-trailer", data, trailer=True)
    assert r.status == 200, r
    g = s3.get_object(Bucket=bucket, Key="signed-trailer", ChecksumMode="ENABLED")
    assert g["Body"].read() == data
    assert g["ChecksumCRC32"] == checksum_b64("CRC32", data)


def test_streaming_signed_payload_tampered_trailer(server, s3, bucket):
    data = os.urandom(10_000)
    good = checksum_b64("CRC32", data).encode()

    def change_trailer(body):
        return body.replace(b"x-amz-checksum-crc32:" + good, b"x-amz-checksum-crc32:" + checksum_b64("CRC32", b"x").encode())

    r = _signed_streaming(server, bucket, "tt", data, trailer=True, tamper=change_trailer)
    assert r.status == 403, r
    assert r.code == "SignatureDoesNotMatch"
    with pytest.raises(ClientError):
        s3.head_object(Bucket=bucket, Key="tt")


def test_streaming_sha256_header_value_is_signed(server, bucket):
    # Swapping the payload mode after signing breaks the seed signature.
    data = b"x" * 100
    hdrs, signer = sign_v4(server, "PUT", f"/{bucket}/k", [("X-Amz-Decoded-Content-Length", "100"), ("Content-Encoding", "aws-chunked")],
                           content_sha256="STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
    hdrs = [(k, "UNSIGNED-PAYLOAD" if k.lower() == "x-amz-content-sha256" else v) for k, v in hdrs]
    hdrs += [("Content-Length", "100")]
    r = send_bytes(server.host, server.port, build_request("PUT", f"/{bucket}/k", hdrs, data), "PUT")
    assert r.status == 403, r
    assert r.code == "SignatureDoesNotMatch"
