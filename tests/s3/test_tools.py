"""Smoke tests with rclone and s3cmd (Debian packages; skipped when not installed)."""

import os
import shutil
import subprocess

import pytest

from s3util import empty_and_delete, md5_hex, unique_bucket_name


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

    def run(*args, check=True):
        p = subprocess.run([exe, "--retries", "1", "--low-level-retries", "1", *args], env=env, capture_output=True, text=True, timeout=120)
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


# --- s3cmd ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def s3cmd(server, tmp_path_factory):
    exe = shutil.which("s3cmd")
    if not exe:
        pytest.skip("s3cmd is not installed (apt-get install s3cmd)")
    home = tmp_path_factory.mktemp("s3cmd")
    cfg = home / "s3cfg"
    hostport = f"{server.host}:{server.port}"
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
        "enable_multipart = False\n"
        "progress_meter = False\n"
    )
    env = dict(os.environ, HOME=str(home))

    def run(*args, check=True):
        p = subprocess.run([exe, "-c", str(cfg), *args], env=env, capture_output=True, text=True, timeout=120)
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
