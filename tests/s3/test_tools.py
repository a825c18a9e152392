"""Smoke tests with rclone and s3cmd (Debian packages; skipped when not installed), and
multipart uploads with each, verified byte for byte on download."""

import base64
import hashlib
import os
import random
import shutil
import subprocess

import pytest

from s3util import empty_and_delete, md5_hex, unique_bucket_name


# A ~23 MiB object in 5 MiB parts: four full parts and a short, odd-sized fifth.
MP_PART = 5 << 20
MP_SIZE = 23 * (1 << 20) + 12_345
MP_PARTS = -(-MP_SIZE // MP_PART)


def _mp_source(path):
    data = os.urandom(MP_SIZE)
    path.write_bytes(data)
    return data


def _mp_etag(data, part=MP_PART):
    """The S3 multipart ETag of `data` uploaded in `part`-byte parts: md5 of the parts' md5s, -N."""
    digests = b"".join(hashlib.md5(data[i:i + part]).digest() for i in range(0, len(data), part))
    return f'"{hashlib.md5(digests).hexdigest()}-{-(-len(data) // part)}"'


def _assert_same(got, want, what):
    """Byte-for-byte equality without pytest diffing megabytes: reports the first difference."""
    if got == want:
        return
    n = min(len(got), len(want))
    first = next((i for i in range(n) if got[i] != want[i]), n)
    pytest.fail(f"{what}: {len(got)} bytes, expected {len(want)}; first difference at offset {first}")


def _check_mp_object(s3, bucket, key, data):
    """The stored object is a multipart one (ETag with -N) and reads back exactly, whole
    and in ranges (random offsets, part boundaries, the tail, a suffix, an open end)."""
    head = s3.head_object(Bucket=bucket, Key=key)
    assert head["ContentLength"] == len(data)
    assert head["ETag"].endswith(f'-{MP_PARTS}"'), f"not a {MP_PARTS}-part multipart ETag: {head['ETag']}"
    assert head["ETag"] == _mp_etag(data)
    r = s3.get_object(Bucket=bucket, Key=key)
    assert r["ETag"] == head["ETag"] and r["ContentLength"] == len(data)
    _assert_same(r["Body"].read(), data, "boto3 GET")

    seed = int.from_bytes(os.urandom(4), "big")
    rng = random.Random(seed)
    ranges = []
    for _ in range(6):
        start = rng.randrange(len(data))
        ranges.append((start, min(len(data) - 1, start + rng.randrange(1, 300_000))))
    for b in range(1, MP_PARTS):  # straddling each part boundary
        ranges.append((b * MP_PART - 7, b * MP_PART + 6))
    ranges += [(0, 0), (len(data) - 1, len(data) - 1), (MP_PART, 2 * MP_PART - 1)]
    for first, last in ranges:
        spec = f"bytes={first}-{last}"
        r = s3.get_object(Bucket=bucket, Key=key, Range=spec)
        assert r["ResponseMetadata"]["HTTPStatusCode"] == 206, spec
        assert r["ContentRange"] == f"bytes {first}-{last}/{len(data)}", spec
        assert r["ContentLength"] == last - first + 1, spec
        _assert_same(r["Body"].read(), data[first:last + 1], f"range {spec} (seed {seed})")
    suffix = rng.randrange(1, MP_PART + 100)
    r = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes=-{suffix}")
    assert r["ContentRange"] == f"bytes {len(data) - suffix}-{len(data) - 1}/{len(data)}"
    _assert_same(r["Body"].read(), data[-suffix:], f"suffix range -{suffix} (seed {seed})")
    start = rng.randrange(len(data))
    r = s3.get_object(Bucket=bucket, Key=key, Range=f"bytes={start}-")
    assert r["ContentRange"] == f"bytes {start}-{len(data) - 1}/{len(data)}"
    _assert_same(r["Body"].read(), data[start:], f"open range {start}- (seed {seed})")
    return head


def _files(root):
    files = {"a.txt": b"alpha\n", "b/c.bin": os.urandom(300_000), "b/d e.txt": b"with space", "empty": b""}
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


@pytest.fixture
def tool_bucket(s3):
    name = unique_bucket_name("tool")
    yield name
    empty_and_delete(s3, name)


# --- rclone -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def rclone(server, tmp_path_factory):
    exe = shutil.which("rclone")
    if not exe:
        pytest.skip("rclone is not installed (apt-get install rclone)")
    home = tmp_path_factory.mktemp("rclone")
    conf = home / "rclone.conf"
    conf.write_text("")
    # Only our settings: AWS_* variables (a CA bundle, a profile) would reach its AWS SDK.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RCLONE_"))}
    env.update(
        HOME=str(home),
        RCLONE_CONFIG=str(conf),
        RCLONE_CONFIG_LEO_TYPE="s3",
        RCLONE_CONFIG_LEO_PROVIDER="Other",
        RCLONE_CONFIG_LEO_ENV_AUTH="false",
        RCLONE_CONFIG_LEO_ACCESS_KEY_ID=server.access_key,
        RCLONE_CONFIG_LEO_SECRET_ACCESS_KEY=server.secret_key,
        RCLONE_CONFIG_LEO_ENDPOINT=server.endpoint,
        RCLONE_CONFIG_LEO_REGION="us-east-1",
        RCLONE_CONFIG_LEO_FORCE_PATH_STYLE="true",
    )

    def run(*args, check=True, text=True):
        p = subprocess.run([exe, "--retries", "1", "--low-level-retries", "1", *args], env=env, capture_output=True, text=text, timeout=120)
        if check and p.returncode != 0:
            pytest.fail(f"rclone {' '.join(args)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p

    return run


def test_rclone_roundtrip(rclone, s3, tool_bucket, tmp_path):
    src = tmp_path / "src"
    files = _files(src)
    rclone("mkdir", f"leo:{tool_bucket}")
    assert tool_bucket in rclone("lsd", "leo:").stdout
    rclone("copy", str(src), f"leo:{tool_bucket}/dir")
    listed = {}
    for line in rclone("ls", f"leo:{tool_bucket}").stdout.splitlines():
        size, name = line.strip().split(" ", 1)
        listed[name] = int(size)
    assert listed == {f"dir/{k}": len(v) for k, v in files.items()}
    for k, v in files.items():
        assert s3.head_object(Bucket=tool_bucket, Key=f"dir/{k}")["ETag"] == f'"{md5_hex(v)}"'
    # rclone compares sizes and MD5s (ETags) of both sides.
    rclone("check", str(src), f"leo:{tool_bucket}/dir")
    assert rclone("cat", f"leo:{tool_bucket}/dir/a.txt").stdout == "alpha\n"
    dst = tmp_path / "dst"
    rclone("copy", f"leo:{tool_bucket}/dir", str(dst))
    for k, v in files.items():
        assert (dst / k).read_bytes() == v
    assert "dir/a.txt" in rclone("lsf", "-R", f"leo:{tool_bucket}").stdout
    rclone("deletefile", f"leo:{tool_bucket}/dir/a.txt")
    assert "a.txt" not in rclone("lsf", "-R", f"leo:{tool_bucket}").stdout
    rclone("purge", f"leo:{tool_bucket}")
    assert tool_bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_rclone_multipart(rclone, s3, tool_bucket, tmp_path):
    src = tmp_path / "big.bin"
    data = _mp_source(src)
    rclone("mkdir", f"leo:{tool_bucket}")
    # Multipart forced: a 5 MiB cutoff and 5 MiB chunks, several parts in flight at once.
    rclone("copyto", "--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M", "--s3-upload-concurrency", "4",
           str(src), f"leo:{tool_bucket}/mp/big.bin")
    head = _check_mp_object(s3, tool_bucket, "mp/big.bin", data)
    assert not s3.list_multipart_uploads(Bucket=tool_bucket).get("Uploads")
    # rclone keeps the whole-file MD5 as metadata beside a multipart ETag, and checks it.
    assert head["Metadata"].get("md5chksum") == base64.b64encode(hashlib.md5(data).digest()).decode()
    assert rclone("md5sum", f"leo:{tool_bucket}/mp").stdout.split() == [hashlib.md5(data).hexdigest(), "big.bin"]
    rclone("check", str(tmp_path), f"leo:{tool_bucket}/mp", "--include", "big.bin")
    dst = tmp_path / "dst" / "big.bin"
    rclone("copyto", f"leo:{tool_bucket}/mp/big.bin", str(dst))
    _assert_same(dst.read_bytes(), data, "rclone download")
    # rclone's own ranged reads.
    off = MP_PART - 1000
    got = rclone("cat", "--offset", str(off), "--count", "5000", f"leo:{tool_bucket}/mp/big.bin", text=False).stdout
    _assert_same(got, data[off:off + 5000], "rclone cat --offset --count")


# --- s3cmd ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def s3cmd(server, tmp_path_factory):
    exe = shutil.which("s3cmd")
    if not exe:
        pytest.skip("s3cmd is not installed (apt-get install s3cmd)")
    home = tmp_path_factory.mktemp("s3cmd")
    hostport = f"{server.host}:{server.port}"
    # Two configs: single-part uploads only, and multipart allowed (`multipart=True`).
    cfgs = {}
    for multipart in (False, True):
        cfg = cfgs[multipart] = home / ("s3cfg-mp" if multipart else "s3cfg")
        cfg.write_text(
            "[default]\n"
            f"access_key = {server.access_key}\n"
            f"secret_key = {server.secret_key}\n"
            f"host_base = {hostport}\n"
            f"host_bucket = {hostport}\n"
            "bucket_location = us-east-1\n"
            "use_https = False\n"
            "signature_v2 = False\n"
            "check_ssl_certificate = False\n"
            f"enable_multipart = {multipart}\n"
            "progress_meter = False\n"
        )
    env = dict(os.environ, HOME=str(home))

    def run(*args, check=True, multipart=False):
        p = subprocess.run([exe, "-c", str(cfgs[multipart]), *args], env=env, capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            pytest.fail(f"s3cmd {' '.join(args)} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}")
        return p

    return run


def test_s3cmd_roundtrip(s3cmd, s3, tool_bucket, tmp_path):
    src = tmp_path / "src"
    files = _files(src)
    s3cmd("mb", f"s3://{tool_bucket}")
    assert f"s3://{tool_bucket}" in s3cmd("ls").stdout
    for k in files:
        s3cmd("put", str(src / k), f"s3://{tool_bucket}/dir/{k}")
    for k, v in files.items():
        assert s3.head_object(Bucket=tool_bucket, Key=f"dir/{k}")["ETag"] == f'"{md5_hex(v)}"'
    la = s3cmd("ls", "-r", f"s3://{tool_bucket}").stdout
    for k, v in files.items():
        assert f"s3://{tool_bucket}/dir/{k}" in la
    info = s3cmd("info", f"s3://{tool_bucket}/dir/b/c.bin").stdout
    assert md5_hex(files["b/c.bin"]) in info
    dst = tmp_path / "dst"
    dst.mkdir()
    for k, v in files.items():
        out = dst / k.replace("/", "_")
        s3cmd("get", f"s3://{tool_bucket}/dir/{k}", str(out))
        assert out.read_bytes() == v
    s3cmd("del", f"s3://{tool_bucket}/dir/a.txt")
    assert "a.txt" not in s3cmd("ls", "-r", f"s3://{tool_bucket}").stdout
    s3cmd("sync", str(src) + "/", f"s3://{tool_bucket}/synced/")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=tool_bucket, Prefix="synced/")["Contents"])
    assert keys == sorted(f"synced/{k}" for k in files)
    s3cmd("del", "-r", "--force", f"s3://{tool_bucket}")
    s3cmd("rb", f"s3://{tool_bucket}")
    assert tool_bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_s3cmd_multipart(s3cmd, s3, tool_bucket, tmp_path):
    src = tmp_path / "big.bin"
    data = _mp_source(src)
    s3cmd("mb", f"s3://{tool_bucket}")
    # Multipart: 5 MiB parts (the ETag checked below says how many really went up).
    s3cmd("put", "--multipart-chunk-size-mb=5", str(src), f"s3://{tool_bucket}/mp/big.bin", multipart=True)
    head = _check_mp_object(s3, tool_bucket, "mp/big.bin", data)
    # s3cmd records the whole-file MD5 in its attrs metadata (the ETag is not one) and
    # checks a download against it.
    assert f"md5:{hashlib.md5(data).hexdigest()}" in head["Metadata"].get("s3cmd-attrs", "")
    assert hashlib.md5(data).hexdigest() in s3cmd("info", f"s3://{tool_bucket}/mp/big.bin").stdout
    dst = tmp_path / "dst.bin"
    s3cmd("get", f"s3://{tool_bucket}/mp/big.bin", str(dst))
    _assert_same(dst.read_bytes(), data, "s3cmd download")
    assert not s3.list_multipart_uploads(Bucket=tool_bucket).get("Uploads")
