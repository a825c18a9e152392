"""Error responses are S3 XML documents with a request id; malformed HTTP gets a 4xx and
the server keeps serving."""

import socket
import time

import pytest

from s3util import S3_NS, build_request, raw_request, sign_v4


def check_error_shape(r, status, code):
    assert r.status == status, r
    assert r.headers["content-type"] == "application/xml"
    root = r.xml()
    assert root.tag == "Error"
    assert root.findtext("Code") == code
    assert root.findtext("Message")
    rid = root.findtext("RequestId")
    assert rid
    assert r.headers["x-amz-request-id"] == rid
    assert int(r.headers["content-length"]) == len(r.body)
    return root


def test_error_shapes(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"0123456789")
    cases = [
        (raw_request(server, "GET", f"/{bucket}/missing"), 404, "NoSuchKey"),
        (raw_request(server, "GET", "/no-such-bucket-for-errors/k"), 404, "NoSuchBucket"),
        (raw_request(server, "GET", f"/{bucket}/k", sign=False), 403, "AccessDenied"),
        (raw_request(server, "GET", f"/{bucket}/k", secret_key="wrong-secret-value"), 403, "SignatureDoesNotMatch"),
        (raw_request(server, "GET", f"/{bucket}/k", access_key="UNKNOWNKEY"), 403, "InvalidAccessKeyId"),
        (raw_request(server, "GET", f"/{bucket}/k", [("Range", "bytes=50-60")]), 416, "InvalidRange"),
        (raw_request(server, "DELETE", f"/{bucket}"), 409, "BucketNotEmpty"),
        (raw_request(server, "PUT", f"/{bucket}"), 409, "BucketAlreadyOwnedByYou"),
        (raw_request(server, "PUT", "/Bad_Name"), 400, "InvalidBucketName"),
        (raw_request(server, "GET", f"/{bucket}?tagging"), 501, "NotImplemented"),
        (raw_request(server, "POST", f"/{bucket}/k"), 405, "MethodNotAllowed"),
        (raw_request(server, "GET", f"/{bucket}/%zz"), 400, "InvalidURI"),
        (raw_request(server, "GET", f"/{bucket}/k", [("If-Match", '"nope"')]), 412, "PreconditionFailed"),
    ]
    rids = set()
    for r, status, code in cases:
        root = check_error_shape(r, status, code)
        rids.add(root.findtext("RequestId"))
    assert len(rids) == len(cases), "request ids must be unique"


def test_error_document_names_key_and_bucket(server, bucket):
    r = raw_request(server, "GET", f"/{bucket}/dir/missing%20key")
    check_error_shape(r, 404, "NoSuchKey")
    assert r.xml().findtext("Key") == "dir/missing key"
    r = raw_request(server, "GET", "/no-such-bucket-for-errors?list-type=2")
    check_error_shape(r, 404, "NoSuchBucket")
    assert r.xml().findtext("BucketName") == "no-such-bucket-for-errors"


def test_success_responses_carry_request_id(server, bucket):
    r = raw_request(server, "GET", f"/{bucket}?list-type=2")
    assert r.status == 200
    assert r.headers["x-amz-request-id"]
    assert r.xml().tag == f"{S3_NS}ListBucketResult"


def test_head_error_has_no_body_but_request_id(server, bucket):
    r = raw_request(server, "HEAD", f"/{bucket}/missing")
    assert r.status == 404
    assert r.body == b""
    assert r.headers["x-amz-request-id"]


def _still_serving(s3):
    assert s3.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def _send_raw(server, data, read_timeout=10):
    """Writes raw bytes, returns (status, whole response bytes)."""
    sock = socket.create_connection((server.host, server.port), timeout=read_timeout)
    try:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        out = b""
        try:
            while True:
                c = sock.recv(65536)
                if not c:
                    break
                out += c
        except (ConnectionResetError, socket.timeout):
            pass
        status = int(out.split(b" ", 2)[1]) if out.startswith(b"HTTP/1.") else None
        return status, out
    finally:
        sock.close()


@pytest.mark.parametrize(
    "garbage",
    [
        b"GARBAGE\r\n\r\n",
        b"GET\r\n\r\n",
        b"GET / HTTP/9.9\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.1\r\nBad Header Without Colon\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # a TLS ClientHello
    ],
    ids=["garbage", "no-target", "bad-version", "no-colon", "bad-length", "two-lengths", "tls"],
)
def test_garbage_request_gets_4xx(server, s3, garbage):
    status, out = _send_raw(server, garbage)
    assert status is not None and 400 <= status < 500, out[:300]
    assert b"x-amz-request-id" in out.lower()
    _still_serving(s3)


def test_huge_header(server, s3):
    status, out = _send_raw(server, b"GET / HTTP/1.1\r\nHost: x\r\nX-Huge: " + b"a" * 200_000 + b"\r\n\r\n")
    assert status in (400, 431), out[:300]
    _still_serving(s3)


def test_too_many_headers(server, s3):
    hdrs = b"".join(b"X-H%d: v\r\n" % i for i in range(500))
    status, out = _send_raw(server, b"GET / HTTP/1.1\r\nHost: x\r\n" + hdrs + b"\r\n")
    assert status in (400, 431), out[:300]
    _still_serving(s3)


def test_invalid_chunked_framing(server, s3, bucket):
    hdrs, _ = sign_v4(server, "PUT", f"/{bucket}/chunky", [], content_sha256="UNSIGNED-PAYLOAD")
    hdrs += [("Transfer-Encoding", "chunked")]
    for body in (b"zz\r\nhello\r\n0\r\n\r\n", b"5\r\nhelloXX0\r\n\r\n", b"fffffffffffffffffff\r\n"):
        status, out = _send_raw(server, build_request("PUT", f"/{bucket}/chunky", hdrs, body))
        assert status == 400, out[:300]
    r = raw_request(server, "HEAD", f"/{bucket}/chunky")
    assert r.status == 404
    _still_serving(s3)


def test_truncated_body_is_not_stored(server, s3, bucket):
    hdrs, _ = sign_v4(server, "PUT", f"/{bucket}/short", [], content_sha256="UNSIGNED-PAYLOAD")
    hdrs += [("Content-Length", "100000")]
    sock = socket.create_connection((server.host, server.port), timeout=10)
    sock.sendall(build_request("PUT", f"/{bucket}/short", hdrs, b"only a few bytes"))
    sock.shutdown(socket.SHUT_WR)
    try:
        sock.recv(65536)
    except OSError:
        pass
    sock.close()
    time.sleep(0.2)
    r = raw_request(server, "HEAD", f"/{bucket}/short")
    assert r.status == 404, r
    _still_serving(s3)


def test_unknown_method(server, s3):
    status, out = _send_raw(server, b"BREW /pot HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
    assert status in (405, 501), out[:300]
    _still_serving(s3)


def test_pipelined_requests(server, bucket, s3):
    s3.put_object(Bucket=bucket, Key="p1", Body=b"first")
    s3.put_object(Bucket=bucket, Key="p2", Body=b"second")
    reqs = b""
    for key in ("p1", "p2"):
        hdrs, _ = sign_v4(server, "GET", f"/{bucket}/{key}", [])
        reqs += build_request("GET", f"/{bucket}/{key}", hdrs)
    hdrs, _ = sign_v4(server, "GET", f"/{bucket}/p1", [])
    reqs += build_request("GET", f"/{bucket}/p1", hdrs + [("Connection", "close")])
    status, out = _send_raw(server, reqs)
    assert status == 200
    assert out.count(b"HTTP/1.1 200") == 3
    assert out.index(b"first") < out.index(b"second") < out.rindex(b"first")


def test_keep_alive_connection_reused(server, bucket, s3):
    import http.client

    s3.put_object(Bucket=bucket, Key="ka", Body=b"keep")
    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        for _ in range(5):
            hdrs, _ = sign_v4(server, "GET", f"/{bucket}/ka", [])
            conn.putrequest("GET", f"/{bucket}/ka", skip_host=True, skip_accept_encoding=True)
            for k, v in hdrs:
                conn.putheader(k, v)
            conn.endheaders()
            r = conn.getresponse()
            assert r.status == 200
            assert r.read() == b"keep"
            assert not r.will_close
    finally:
        conn.close()


def test_server_still_serving_after_garbage(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="after", Body=b"ok")
    assert s3.get_object(Bucket=bucket, Key="after")["Body"].read() == b"ok"
