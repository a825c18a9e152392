"""The S3 client-compatibility suite: one real `leofs server` for the whole session.

Builds nothing. The binary is `$LEOFS_BIN`, else `target/debug/leofs` (build it with
`cargo build -p leofs`). The server gets free loopback ports, fixed root credentials and a
fresh data directory under `target/s3-tests/` (a disk: leofs writes with O_DIRECT, which
tmpfs lacks). At the end it gets SIGTERM and must exit 0 within 20 s.
"""

import json
import os
import pathlib
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
import uuid

import botocore
import pytest

from s3util import empty_and_delete, make_client, unique_bucket_name

REPO = pathlib.Path(__file__).resolve().parents[2]
ACCESS_KEY = "LEOFSTESTROOTKEY0001"
SECRET_KEY = "leofs-test-root-secret/0123456789abcdefXYZ"
REGION = "us-east-1"


class Server:
    def __init__(self, host, port, admin_port, data_dir, log_path, proc):
        self.host = host
        self.port = port
        self.admin_port = admin_port
        self.data_dir = data_dir
        self.log_path = log_path
        self.proc = proc
        self.access_key = ACCESS_KEY
        self.secret_key = SECRET_KEY
        self.region = REGION

    @property
    def endpoint(self):
        return f"http://{self.host}:{self.port}"

    @property
    def admin_url(self):
        return f"http://{self.host}:{self.admin_port}"

    def log_tail(self, n=60):
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return "(no log)"


def _free_ports(n):
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def _binary():
    b = os.environ.get("LEOFS_BIN")
    path = (pathlib.Path(b) if b else REPO / "target" / "debug" / "leofs").resolve()
    if not path.is_file() or not os.access(path, os.X_OK):
        pytest.exit(
            f"leofs binary not found at {path}: build it first (`cargo build -p leofs`) "
            "or point LEOFS_BIN at one",
            returncode=3,
        )
    return path


def _start(binary, run_dir):
    data = run_dir / "data"
    log_path = run_dir / "server.log"
    port, admin_port = _free_ports(2)
    env = dict(os.environ)
    env.update(
        LEOFS_ROOT_ACCESS_KEY=ACCESS_KEY,
        LEOFS_ROOT_SECRET_KEY=SECRET_KEY,
        RUST_LOG=env.get("RUST_LOG", "info"),
    )
    for k in ("LEOFS_CONFIG", "LEOFS_DOMAIN", "LEOFS_REGION", "LEOFS_LISTEN", "LEOFS_DATA_DIR"):
        env.pop(k, None)
    cmd = [
        str(binary), "server",
        "--data-dir", str(data),
        "--listen", f"127.0.0.1:{port}",
        "--admin-listen", f"127.0.0.1:{admin_port}",
        "--shards", "2",
        # Small preallocated segments: the suite writes a few tens of MiB.
        "--segment-mib", "64",
    ]
    log = open(log_path, "wb")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=run_dir)
    log.close()
    srv = Server("127.0.0.1", port, admin_port, data, log_path, proc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return srv, False
        if "leofs is serving S3 at" in log_path.read_text(errors="replace"):
            return srv, True
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    pytest.exit(f"leofs did not become ready in 60 s; log:\n{srv.log_tail()}", returncode=3)


@pytest.fixture(scope="session")
def server(request):
    binary = _binary()
    root = REPO / "target" / "s3-tests"
    root.mkdir(parents=True, exist_ok=True)
    # Leftovers of earlier runs that died without cleaning up.
    for old in root.glob("run-*"):
        if time.time() - old.stat().st_mtime > 3600:
            shutil.rmtree(old, ignore_errors=True)
    run_dir = root / f"run-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    run_dir.mkdir()
    for _attempt in range(3):
        srv, ok = _start(binary, run_dir)
        if ok:
            break
        # Lost a race for a port to someone else: try new ones.
        if "address already in use" not in srv.log_tail():
            pytest.exit(f"leofs exited at startup (rc {srv.proc.returncode}); log:\n{srv.log_tail()}", returncode=3)
        shutil.rmtree(srv.data_dir, ignore_errors=True)
    else:
        pytest.exit(f"leofs could not bind free ports; log:\n{srv.log_tail()}", returncode=3)
    yield srv
    # Teardown: a clean, prompt exit on SIGTERM.
    srv.proc.send_signal(signal.SIGTERM)
    try:
        rc = srv.proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        srv.proc.kill()
        srv.proc.wait()
        pytest.fail(f"leofs did not exit within 20 s of SIGTERM; log:\n{srv.log_tail()}")
    assert rc == 0, f"leofs exited with {rc} after SIGTERM; log:\n{srv.log_tail()}"
    # Kept for a look when something failed (or LEOFS_S3_KEEP=1); removed otherwise.
    if request.session.testsfailed == 0 and not os.environ.get("LEOFS_S3_KEEP"):
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def s3(server):
    """boto3, SigV4, path-style, us-east-1."""
    return make_client(server)


@pytest.fixture(scope="session")
def s3v4(server):
    """boto3 with signature_version s3v4 set explicitly: presigned URLs are SigV4 too."""
    return make_client(server, signature_version="s3v4")


@pytest.fixture(scope="session")
def s3v2(server):
    """boto3 with AWS Signature Version 2 (HMAC-SHA1)."""
    return make_client(server, signature_version="s3")


@pytest.fixture(scope="session")
def anon(server):
    """boto3 sending unsigned (anonymous) requests."""
    return make_client(server, signature_version=botocore.UNSIGNED)


@pytest.fixture
def bucket(s3, request):
    """A fresh bucket for one test, emptied and deleted afterwards."""
    name = unique_bucket_name(request.node.name)
    s3.create_bucket(Bucket=name)
    yield name
    empty_and_delete(s3, name)


@pytest.fixture
def make_bucket(s3, request):
    """Creates extra buckets on demand; all are removed afterwards."""
    made = []

    def make(**kw):
        name = unique_bucket_name(request.node.name)
        s3.create_bucket(Bucket=name, **kw)
        made.append(name)
        return name

    yield make
    for name in made:
        empty_and_delete(s3, name)


@pytest.fixture
def second_user(server):
    """Keys of a second user, made through the admin API (POST /v1/users)."""
    uid = f"u2-{uuid.uuid4().hex[:8]}"
    req = urllib.request.Request(
        f"{server.admin_url}/v1/users",
        data=json.dumps({"user_id": uid}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        doc = json.loads(r.read())
    return make_client(server, access_key=doc["access_key_id"], secret_key=doc["secret_access_key"])

