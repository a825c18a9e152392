"""HTTPS (--tls-cert/--tls-key). boto3 and the AWS CLI over HTTPS default to
STREAMING-UNSIGNED-PAYLOAD-TRAILER: aws-chunked inside HTTP chunked, with the CRC32 in a
trailer. This is the mode most users hit, so it runs against a real TLS server here."""

import hashlib
import os
import shutil
import signal
import subprocess
import time
import uuid
import warnings

import boto3
import pytest
from botocore.config import Config

from conftest import ACCESS_KEY, REGION, REPO, SECRET_KEY, _binary, _free_ports


@pytest.fixture(scope="module")
def tls_server():
    if shutil.which("openssl") is None:
        pytest.skip("openssl CLI not installed: cannot make a test certificate")
    run = REPO / "target" / "s3-tests" / f"tls-{os.getpid()}-{uuid.uuid4().hex[:6]}"
    run.mkdir(parents=True)
    cert, key = run / "cert.pem", run / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    port, admin = _free_ports(2)
    env = dict(os.environ, LEOFS_ROOT_ACCESS_KEY=ACCESS_KEY, LEOFS_ROOT_SECRET_KEY=SECRET_KEY)
    log = open(run / "server.log", "wb")
    proc = subprocess.Popen(
        [str(_binary()), "server", "--data-dir", str(run / "data"), "--listen", f"127.0.0.1:{port}",
         "--admin-listen", f"127.0.0.1:{admin}", "--shards", "2", "--segment-mib", "16",
         "--tls-cert", str(cert), "--tls-key", str(key)],
        stdout=log, stderr=subprocess.STDOUT, env=env,
    )
    log.close()
    deadline = time.monotonic() + 60
    while "serving S3 at https://" not in (run / "server.log").read_text(errors="replace"):
        assert proc.poll() is None and time.monotonic() < deadline, (run / "server.log").read_text()
        time.sleep(0.05)
    yield f"https://127.0.0.1:{port}"
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=20) == 0
    shutil.rmtree(run, ignore_errors=True)


def test_boto3_over_https_uses_trailer_checksums(tls_server):
    warnings.filterwarnings("ignore")
    s3 = boto3.client(
        "s3", endpoint_url=tls_server, verify=False, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY, region_name=REGION,
        config=Config(s3={"addressing_style": "path"}),
    )
    s3.create_bucket(Bucket="tls")
    for size in (0, 1, 70_000, 3_000_000):
        body = os.urandom(size)
        r = s3.put_object(Bucket="tls", Key=f"o{size}", Body=body)
        assert r["ETag"].strip('"') == hashlib.md5(body).hexdigest()
        g = s3.get_object(Bucket="tls", Key=f"o{size}", ChecksumMode="ENABLED")
        assert g["Body"].read() == body
        if size:
            assert g["ChecksumCRC32"] == r["ChecksumCRC32"]
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="tls")["Contents"]]
    assert keys == sorted(f"o{s}" for s in (0, 1, 70_000, 3_000_000))
