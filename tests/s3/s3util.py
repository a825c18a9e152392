"""Helpers for the S3 client-compatibility suite: raw signed requests over a plain
socket (for what boto3 will not send), aws-chunked encoders, and checksums computed
independently of the clients under test."""

import base64
import datetime
import hashlib
import hmac
import http.client
import os
import re
import socket
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
import zlib

import boto3
import botocore
import botocore.auth
import botocore.credentials
import pytest
from boto3.s3.transfer import TransferConfig
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.exceptions import ClientError

REGION = "us-east-1"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
S3_NS = "{http://s3.amazonaws.com/doc/2006-03-01/}"
# Single-part transfers, for tests about plain PUT/GET (multipart: test_multipart.py).
NO_MULTIPART = TransferConfig(multipart_threshold=64 << 20, multipart_chunksize=64 << 20)


# --- boto3 clients and buckets ----------------------------------------------------------

def make_client(server, access_key=None, secret_key=None, **config):
    cfg = dict(
        region_name=REGION,
        s3={"addressing_style": "path"},
        retries={"max_attempts": 1, "mode": "standard"},
        connect_timeout=10,
        read_timeout=60,
    )
    cfg.update(config)
    return boto3.session.Session().client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=access_key or server.access_key,
        aws_secret_access_key=secret_key or server.secret_key,
        config=Config(**cfg),
    )


_NAME_CLEAN = re.compile(r"[^a-z0-9-]+")


def unique_bucket_name(hint="b"):
    hint = _NAME_CLEAN.sub("-", hint.lower()).strip("-")[:30].strip("-") or "b"
    return f"t-{hint}-{uuid.uuid4().hex[:10]}"


def empty_and_delete(s3, name):
    try:
        while True:
            r = s3.list_objects_v2(Bucket=name)
            keys = [{"Key": o["Key"]} for o in r.get("Contents", [])]
            if not keys:
                break
            s3.delete_objects(Bucket=name, Delete={"Objects": keys, "Quiet": True})
        s3.delete_bucket(Bucket=name)
    except ClientError as e:
        if e.response["Error"]["Code"] != "NoSuchBucket":
            raise


def error_of(excinfo):
    """(HTTP status, S3 error code) of a botocore ClientError."""
    r = excinfo.value.response
    return r["ResponseMetadata"]["HTTPStatusCode"], r["Error"]["Code"]



# --- checksums, written out here so a client's own bugs cannot hide a server's ---------

def _reflected_table(poly, bits):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC32C_TABLE = _reflected_table(0x82F63B78, 32)
_CRC64NVME_TABLE = _reflected_table(0x9A6C9329AC4BC9B5, 64)


def _crc_reflected(table, data, mask):
    c = mask
    for b in data:
        c = table[(c ^ b) & 0xFF] ^ (c >> 8)
    return c ^ mask


def crc32c(data):
    return _crc_reflected(_CRC32C_TABLE, data, 0xFFFFFFFF)


def crc64nvme(data):
    return _crc_reflected(_CRC64NVME_TABLE, data, 0xFFFFFFFFFFFFFFFF)


def checksum_b64(algorithm, data):
    """The base64 `x-amz-checksum-*` value of `data` for `algorithm` (S3's spelling)."""
    a = algorithm.upper()
    if a == "CRC32":
        raw = zlib.crc32(data).to_bytes(4, "big")
    elif a == "CRC32C":
        raw = crc32c(data).to_bytes(4, "big")
    elif a == "CRC64NVME":
        raw = crc64nvme(data).to_bytes(8, "big")
    elif a == "SHA1":
        raw = hashlib.sha1(data).digest()
    elif a == "SHA256":
        raw = hashlib.sha256(data).digest()
    else:
        raise ValueError(algorithm)
    return base64.b64encode(raw).decode()


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


# --- raw HTTP ---------------------------------------------------------------------------

class Resp:
    """A response read off the socket: status, headers (lowercase names; values decoded
    as UTF-8 where they are), body bytes."""

    def __init__(self, status, reason, headers, body):
        self.status = status
        self.reason = reason
        self.header_list = headers
        self.headers = {}
        for k, v in headers:
            k = k.lower()
            self.headers[k] = self.headers[k] + ", " + v if k in self.headers else v
        self.body = body

    def xml(self):
        return ET.fromstring(self.body)

    def error(self):
        """(Code, Message, RequestId) of an S3 error document."""
        root = self.xml()
        assert root.tag == "Error", self.body
        return root.findtext("Code"), root.findtext("Message"), root.findtext("RequestId")

    @property
    def code(self):
        return self.error()[0]

    def __repr__(self):
        return f"<Resp {self.status} {self.headers} {self.body[:300]!r}>"


def _decode_header_value(v):
    # http.client decodes header bytes as latin-1; undo that to see UTF-8 values.
    try:
        return v.encode("latin-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return v


def send_bytes(host, port, data, method="GET", timeout=30):
    """Writes `data` (a whole request) to a fresh connection and reads one response."""
    sock = socket.create_connection((host, port), timeout=timeout)
    try:
        sock.sendall(data)
        r = http.client.HTTPResponse(sock, method=method)
        r.begin()
        body = r.read()
        headers = [(k, _decode_header_value(v)) for k, v in r.getheaders()]
        return Resp(r.status, r.reason, headers, body)
    finally:
        sock.close()


def build_request(method, target, headers, body=b""):
    lines = [f"{method} {target} HTTP/1.1".encode()]
    for k, v in headers:
        if isinstance(v, str):
            v = v.encode("utf-8")
        lines.append(k.encode() + b": " + v)
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


class RawSigV4(botocore.auth.SigV4Auth):
    """botocore's SigV4 signer, with S3's canonical URI (the path as sent, no
    re-encoding), an `X-Amz-Content-SHA256` taken as given, and a clock offset."""

    def __init__(self, access_key, secret_key, skew_seconds=0):
        super().__init__(botocore.credentials.Credentials(access_key, secret_key), "s3", REGION)
        self.skew = skew_seconds
        self.signature_hex = None
        self.timestamp = None

    def _normalize_url_path(self, path):
        return path

    def add_auth(self, request):
        now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        now += datetime.timedelta(seconds=self.skew)
        request.context["timestamp"] = now.strftime(botocore.auth.SIGV4_TIMESTAMP)
        self._modify_request_before_signing(request)
        canonical = self.canonical_request(request)
        sts = self.string_to_sign(request, canonical)
        self.signature_hex = self.signature(sts, request)
        self.timestamp = request.context["timestamp"]
        self._inject_signature_to_request(request, self.signature_hex)

    def signing_key(self):
        k = self.credentials.secret_key
        d = self.timestamp[:8]
        key = hmac.new(f"AWS4{k}".encode(), d.encode(), hashlib.sha256).digest()
        for part in (REGION, "s3", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        return key

    def chunk_scope(self):
        return f"{self.timestamp[:8]}/{REGION}/s3/aws4_request"


def sign_v4(server, method, target, headers, body=b"", content_sha256=None, skew=0, access_key=None, secret_key=None):
    """Signs a request with SigV4 (botocore) and returns (headers list, signer).

    `headers` is a list of (name, str value); the Host header and x-amz-date are added.
    `content_sha256`: the X-Amz-Content-SHA256 value; default the body's real SHA-256.
    """
    if content_sha256 is None:
        content_sha256 = hashlib.sha256(body if isinstance(body, bytes) else b"").hexdigest()
    url = f"http://{server.host}:{server.port}{target}"
    hdrs = {"Host": f"{server.host}:{server.port}", "X-Amz-Content-SHA256": content_sha256}
    for k, v in headers:
        hdrs[k] = v
    req = AWSRequest(method=method, url=url, headers=hdrs, data=body)
    signer = RawSigV4(access_key or server.access_key, secret_key or server.secret_key, skew)
    signer.add_auth(req)
    return list(req.headers.items()), signer


def raw_request(server, method, target, headers=(), body=b"", sign=True, content_sha256=None, skew=0,
                access_key=None, secret_key=None, extra_unsigned=(), content_length=True):
    """Sends one request over a fresh socket and returns the Resp.

    `target` is the request target exactly as sent (path already percent-encoded, with
    the query). Header values may hold raw UTF-8: they go on the wire as UTF-8 bytes."""
    headers = list(headers)
    if sign:
        hdrs, _ = sign_v4(server, method, target, headers, body, content_sha256, skew, access_key, secret_key)
    else:
        hdrs = [("Host", f"{server.host}:{server.port}")] + headers
    hdrs = list(hdrs) + list(extra_unsigned)
    names = {k.lower() for k, _ in hdrs}
    if content_length and "content-length" not in names and "transfer-encoding" not in names:
        hdrs.append(("Content-Length", str(len(body))))
    hdrs.append(("Connection", "close"))
    return send_bytes(server.host, server.port, build_request(method, target, hdrs, body), method)


# --- aws-chunked ------------------------------------------------------------------------

def http_chunked(payload, piece=4096):
    """HTTP/1.1 Transfer-Encoding: chunked framing of `payload`."""
    out = bytearray()
    for i in range(0, len(payload), piece):
        p = payload[i:i + piece]
        out += b"%x\r\n" % len(p) + p + b"\r\n"
    out += b"0\r\n\r\n"
    return bytes(out)


def aws_chunked_unsigned(data, trailers, chunk=64 << 10):
    """An unsigned aws-chunked stream with trailing headers (STREAMING-UNSIGNED-PAYLOAD-TRAILER)."""
    out = bytearray()
    for i in range(0, len(data), chunk):
        p = data[i:i + chunk]
        out += b"%x\r\n" % len(p) + p + b"\r\n"
    out += b"0\r\n"
    for k, v in trailers:
        out += f"{k}:{v}\r\n".encode()
    out += b"\r\n"
    return bytes(out)


def _hmac_hex(key, msg):
    return hmac.new(key, msg.encode(), hashlib.sha256).hexdigest()


def aws_chunked_signed(data, signer, chunk=64 << 10, trailers=None):
    """A STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER] body: each chunk signed over the
    previous signature, starting from the request's (seed) signature."""
    key = signer.signing_key()
    scope = signer.chunk_scope()
    prev = signer.signature_hex
    out = bytearray()
    pieces = [data[i:i + chunk] for i in range(0, len(data), chunk)] + [b""]
    for p in pieces:
        sts = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", signer.timestamp, scope, prev, EMPTY_SHA256, hashlib.sha256(p).hexdigest()])
        sig = _hmac_hex(key, sts)
        out += b"%x;chunk-signature=%s\r\n" % (len(p), sig.encode()) + p
        if p or trailers is None:
            out += b"\r\n"
        prev = sig
    if trailers is not None:
        canonical = "".join(f"{k}:{v}\n" for k, v in trailers)
        for k, v in trailers:
            out += f"{k}:{v}\r\n".encode()
        sts = "\n".join(["AWS4-HMAC-SHA256-TRAILER", signer.timestamp, scope, prev, hashlib.sha256(canonical.encode()).hexdigest()])
        out += f"x-amz-trailer-signature:{_hmac_hex(key, sts)}\r\n\r\n".encode()
    return bytes(out)


def signed_chunked_length(n, chunk=64 << 10):
    """Encoded length of a signed aws-chunked body of `n` bytes (no trailers)."""
    total = 0
    sizes = [min(chunk, n - i) for i in range(0, n, chunk)] + [0]
    for s in sizes:
        total += len(b"%x" % s) + len(";chunk-signature=") + 64 + 2 + s + 2
    return total


def aws_runner(server, home, timeout=120):
    """`aws ARGS...` (python -m awscli) against `server`, with env credentials and a config
    and HOME of its own under `home`. Returns run(*args, check=True, endpoint=True), which
    fails the test when the CLI exits non-zero (with check) and returns the CompletedProcess."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=server.access_key,
        AWS_SECRET_ACCESS_KEY=server.secret_key,
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        AWS_CONFIG_FILE=str(home / "config"),
        AWS_SHARED_CREDENTIALS_FILE=str(home / "credentials"),
        AWS_PAGER="",
        HOME=str(home),
    )

    def run(*args, check=True, endpoint=True):
        cmd = [sys.executable, "-m", "awscli", *args]
        if endpoint:
            cmd += ["--endpoint-url", server.endpoint]
        p = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            pytest.fail(f"{' '.join(args)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p

    return run
