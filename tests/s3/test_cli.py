"""The AWS CLI (v1, the Python one pinned in requirements.txt) against the server:
`aws s3` high-level commands and `aws s3api` calls, files compared byte for byte."""

import filecmp
import json
import os
import subprocess
import sys

import pytest

from s3util import aws_runner, md5_hex, unique_bucket_name


@pytest.fixture(scope="module")
def aws(server, tmp_path_factory):
    """Runs `aws ARGS...` (python -m awscli) with env credentials and a private config
    that keeps uploads single-part; returns the CompletedProcess."""
    run = aws_runner(server, tmp_path_factory.mktemp("awscli"))
    # Single-part uploads (multipart is covered by test_multipart.py); files here are < 8 MiB.
    run("configure", "set", "default.s3.multipart_threshold", "64MB", endpoint=False)
    run("configure", "set", "default.s3.addressing_style", "path", endpoint=False)
    return run


@pytest.fixture
def cli_bucket(aws, s3):
    name = unique_bucket_name("cli")
    yield name
    from s3util import empty_and_delete

    empty_and_delete(s3, name)


def test_s3_mb_cp_ls_rm_rb(aws, s3, cli_bucket, tmp_path):
    data = os.urandom((3 << 20) + 17)
    src = tmp_path / "upload.bin"
    src.write_bytes(data)
    p = aws("s3", "mb", f"s3://{cli_bucket}")
    assert f"make_bucket: {cli_bucket}" in p.stdout
    assert cli_bucket in aws("s3", "ls").stdout
    p = aws("s3", "cp", str(src), f"s3://{cli_bucket}/dir/upload file.bin")
    assert "upload:" in p.stdout
    assert s3.head_object(Bucket=cli_bucket, Key="dir/upload file.bin")["ETag"] == f'"{md5_hex(data)}"'
    ls = aws("s3", "ls", f"s3://{cli_bucket}/dir/").stdout
    assert f"{len(data)} upload file.bin" in " ".join(ls.split())
    assert "PRE dir/" in aws("s3", "ls", f"s3://{cli_bucket}").stdout
    out = tmp_path / "download.bin"
    aws("s3", "cp", f"s3://{cli_bucket}/dir/upload file.bin", str(out))
    assert out.read_bytes() == data
    # Server-side copy.
    aws("s3", "cp", f"s3://{cli_bucket}/dir/upload file.bin", f"s3://{cli_bucket}/copy.bin")
    assert s3.get_object(Bucket=cli_bucket, Key="copy.bin")["Body"].read() == data
    p = aws("s3", "rm", f"s3://{cli_bucket}/dir/upload file.bin")
    assert "delete:" in p.stdout
    p = aws("s3", "rb", f"s3://{cli_bucket}", check=False)
    assert p.returncode != 0 and "BucketNotEmpty" in p.stderr
    aws("s3", "rb", "--force", f"s3://{cli_bucket}")
    assert cli_bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_s3api_put_get_head_list(aws, s3, bucket, tmp_path):
    data = os.urandom(200_000)
    src = tmp_path / "in.bin"
    src.write_bytes(data)
    put = json.loads(aws(
        "s3api", "put-object", "--bucket", bucket, "--key", "api/obj.bin", "--body", str(src),
        "--content-type", "application/x-cli", "--metadata", "origin=cli,n=1",
    ).stdout)
    assert put["ETag"] == f'"{md5_hex(data)}"'
    head = json.loads(aws("s3api", "head-object", "--bucket", bucket, "--key", "api/obj.bin").stdout)
    assert head["ContentLength"] == len(data)
    assert head["ContentType"] == "application/x-cli"
    assert head["Metadata"] == {"origin": "cli", "n": "1"}
    out = tmp_path / "out.bin"
    got = json.loads(aws("s3api", "get-object", "--bucket", bucket, "--key", "api/obj.bin", str(out)).stdout)
    assert got["ContentLength"] == len(data)
    assert out.read_bytes() == data
    ranged = tmp_path / "range.bin"
    got = json.loads(aws("s3api", "get-object", "--bucket", bucket, "--key", "api/obj.bin", "--range", "bytes=10-19", str(ranged)).stdout)
    assert got["ContentRange"] == f"bytes 10-19/{len(data)}"
    assert ranged.read_bytes() == data[10:20]
    listed = json.loads(aws("s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "api/").stdout)
    assert [(o["Key"], o["Size"]) for o in listed["Contents"]] == [("api/obj.bin", len(data))]
    missing = aws("s3api", "head-object", "--bucket", bucket, "--key", "nope", check=False)
    assert missing.returncode != 0 and "404" in missing.stderr
    aws("s3api", "delete-object", "--bucket", bucket, "--key", "api/obj.bin")
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_s3api_bucket_calls(aws, bucket):
    loc = json.loads(aws("s3api", "get-bucket-location", "--bucket", bucket).stdout)
    assert loc["LocationConstraint"] is None
    acl = json.loads(aws("s3api", "get-bucket-acl", "--bucket", bucket).stdout)
    assert acl["Grants"][0]["Permission"] == "FULL_CONTROL"
    aws("s3api", "put-bucket-acl", "--bucket", bucket, "--acl", "public-read")
    acl = json.loads(aws("s3api", "get-bucket-acl", "--bucket", bucket).stdout)
    assert "READ" in [g["Permission"] for g in acl["Grants"]]
    aws("s3api", "head-bucket", "--bucket", bucket)


def _make_tree(root):
    files = {
        "top.txt": b"top level\n",
        "empty.dat": b"",
        "sub/a.bin": os.urandom(50_000),
        "sub/deeper/b.bin": os.urandom(1_000_000),
        "sub/deeper/with space.txt": b"space",
        "ünï/cødé.txt": "unicode".encode(),
    }
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return files


def _assert_same_tree(a, b):
    cmp = filecmp.dircmp(a, b)

    def walk(c):
        assert not c.left_only and not c.right_only, (c.left, c.left_only, c.right_only)
        _, mismatch, errors = filecmp.cmpfiles(c.left, c.right, c.common_files, shallow=False)
        assert not mismatch and not errors, (mismatch, errors)
        for sub in c.subdirs.values():
            walk(sub)

    walk(cmp)


def test_s3_sync_up_and_back(aws, s3, bucket, tmp_path):
    up = tmp_path / "up"
    files = _make_tree(up)
    aws("s3", "sync", str(up), f"s3://{bucket}/tree")
    listed = {o["Key"]: o["Size"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == {f"tree/{k}": len(v) for k, v in files.items()}
    down = tmp_path / "down"
    aws("s3", "sync", f"s3://{bucket}/tree", str(down))
    _assert_same_tree(up, down)
    # A second sync transfers nothing.
    assert aws("s3", "sync", str(up), f"s3://{bucket}/tree").stdout.strip() == ""
    # Changes and deletions propagate with --delete.
    (up / "top.txt").write_bytes(b"changed, and longer than before\n")
    (up / "sub" / "a.bin").unlink()
    p = aws("s3", "sync", "--delete", str(up), f"s3://{bucket}/tree")
    assert "delete: s3://" in p.stdout and "upload:" in p.stdout
    aws("s3", "sync", "--delete", f"s3://{bucket}/tree", str(down))
    _assert_same_tree(up, down)
