"""Object operations: PutObject/GetObject/HeadObject, stored headers and metadata,
ranges, conditionals, response-* overrides, DeleteObject(s), CopyObject."""

import concurrent.futures
import datetime
import email.utils
import io
import os
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from s3util import NO_MULTIPART, error_of, make_client, md5_b64, md5_hex, raw_request

SIZES = {"0B": 0, "1B": 1, "4KiB": 4096, "1MiB": 1 << 20, "5MiB": 5 << 20}


def headers_of(r):
    return r["ResponseMetadata"]["HTTPHeaders"]


@pytest.mark.parametrize("size", SIZES.values(), ids=SIZES.keys())
def test_put_get_roundtrip(s3, bucket, size):
    data = os.urandom(size)
    r = s3.put_object(Bucket=bucket, Key="obj", Body=data)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r["ETag"] == f'"{md5_hex(data)}"'
    g = s3.get_object(Bucket=bucket, Key="obj")
    body = g["Body"].read()
    assert len(body) == size
    assert body == data
    assert g["ETag"] == f'"{md5_hex(data)}"'
    assert g["ContentLength"] == size
    assert g["ContentType"] == "binary/octet-stream"
    assert headers_of(g)["accept-ranges"] == "bytes"
    h = s3.head_object(Bucket=bucket, Key="obj")
    assert h["ContentLength"] == size
    assert h["ETag"] == f'"{md5_hex(data)}"'
    assert h["LastModified"] == g["LastModified"]
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - h["LastModified"]).total_seconds()) < 300


def test_managed_transfer_single_part(s3, bucket, tmp_path):
    data = os.urandom(5 << 20 | 123)
    s3.upload_fileobj(io.BytesIO(data), bucket, "managed", Config=NO_MULTIPART)
    assert s3.head_object(Bucket=bucket, Key="managed")["ETag"] == f'"{md5_hex(data)}"'
    out = tmp_path / "out"
    s3.download_file(bucket, "managed", str(out), Config=NO_MULTIPART)
    assert out.read_bytes() == data


def test_empty_put_with_expect_then_more_puts_on_one_connection(server, bucket):
    # botocore sends Expect: 100-continue on every file-like PutObject, empty ones too, and
    # mis-parses the next response on the connection if an empty one got its final
    # response without an interim 100 (boto/botocore#3755): a 60 s stall in `aws s3 sync`.
    c = make_client(server, read_timeout=5, max_pool_connections=1)
    for i, size in enumerate((0, 10, 0, 5000, 0, 1)):
        t = time.monotonic()
        c.put_object(Bucket=bucket, Key=f"e{i}", Body=io.BytesIO(b"x" * size))
        assert time.monotonic() - t < 2.5, f"PUT #{i} ({size} B) stalled"
    assert c.get_object(Bucket=bucket, Key="e5")["Body"].read() == b"x"


def test_overwrite_replaces_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"first", Metadata={"v": "1"}, ContentType="text/plain")
    s3.put_object(Bucket=bucket, Key="k", Body=b"second!")
    g = s3.get_object(Bucket=bucket, Key="k")
    assert g["Body"].read() == b"second!"
    assert g["Metadata"] == {}
    assert g["ContentType"] == "binary/octet-stream"


KEYS = [
    "dir/sub/file.txt",
    "with space",
    "plus+sign",
    "ünïcødé/ключ/鍵",
    "quote's\"double",
    "percent%41%2F",
    "tilde~(paren)[br]{cb}",
    "a=b&c=d?e#f",
    "trailing/",
    "//double//slash",
    "emoji-\U0001F600",
    "semi;colon,comma:colon@at$dollar!bang*star",
]


@pytest.mark.parametrize("key", KEYS)
def test_special_keys_roundtrip(s3, bucket, key):
    s3.put_object(Bucket=bucket, Key=key, Body=key.encode())
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == key.encode()
    listed = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert listed == [key]
    s3.delete_object(Bucket=bucket, Key=key)
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_key_length_limit(s3, bucket):
    ok = "k" * 1024
    s3.put_object(Bucket=bucket, Key=ok, Body=b"x")
    assert s3.head_object(Bucket=bucket, Key=ok)["ContentLength"] == 1
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="k" * 1025, Body=b"x")
    assert error_of(e) == (400, "KeyTooLongError")


def test_get_missing_key(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="nope")
    assert error_of(e) == (404, "NoSuchKey")


def test_head_missing_key(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="nope")
    assert error_of(e) == (404, "404")


# --- stored headers and metadata -----------------------------------------------------------

def test_stored_headers_and_metadata_roundtrip(s3, bucket):
    expires = datetime.datetime(2037, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc)
    s3.put_object(
        Bucket=bucket,
        Key="meta",
        Body=b"payload",
        ContentType="text/x-leofs; charset=utf-8",
        ContentEncoding="x-custom-enc",
        ContentDisposition='attachment; filename="report.txt"',
        ContentLanguage="de-CH",
        CacheControl="max-age=3600, must-revalidate",
        Expires=expires,
        Metadata={"Mixed-Case": "Value With  Spaces", "empty": "", "k2": "v=2;x,y"},
    )
    for r in (s3.head_object(Bucket=bucket, Key="meta"), s3.get_object(Bucket=bucket, Key="meta")):
        h = headers_of(r)
        assert h["content-type"] == "text/x-leofs; charset=utf-8"
        assert h["content-encoding"] == "x-custom-enc"
        assert h["content-disposition"] == 'attachment; filename="report.txt"'
        assert h["content-language"] == "de-CH"
        assert h["cache-control"] == "max-age=3600, must-revalidate"
        assert h["expires"] == "Fri, 02 Jan 2037 03:04:05 GMT"
        # S3 lower-cases metadata names and keeps values as sent.
        assert r["Metadata"] == {"mixed-case": "Value With  Spaces", "empty": "", "k2": "v=2;x,y"}


def test_utf8_metadata_sent_raw(server, bucket):
    # boto3 refuses non-ASCII header values, so this goes out as a raw signed request with
    # the UTF-8 bytes on the wire. (AWS itself would return such values RFC 2047-encoded;
    # leofs stores and returns them exactly.)
    value = "héllo wörld ✓ 鍵"
    r = raw_request(server, "PUT", f"/{bucket}/utf8", [("x-amz-meta-greeting", value), ("Content-Type", "text/plain")], b"abc")
    assert r.status == 200, r
    g = raw_request(server, "GET", f"/{bucket}/utf8")
    assert g.status == 200, g
    assert g.headers["x-amz-meta-greeting"] == value
    assert g.body == b"abc"
    h = raw_request(server, "HEAD", f"/{bucket}/utf8")
    assert h.headers["x-amz-meta-greeting"] == value


def test_metadata_too_large(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="big-meta", Body=b"x", Metadata={"a": "v" * 2100})
    assert error_of(e) == (400, "MetadataTooLarge")
    s3.put_object(Bucket=bucket, Key="ok-meta", Body=b"x", Metadata={"a": "v" * 1900})


def test_put_without_content_length_is_411(server, bucket):
    r = raw_request(server, "PUT", f"/{bucket}/nolen", body=b"", content_length=False)
    assert r.status == 411, r
    assert r.code == "MissingContentLength"


# --- ranges ----------------------------------------------------------------------------------

@pytest.fixture
def ranged(s3, bucket):
    data = os.urandom(10000)
    s3.put_object(Bucket=bucket, Key="r", Body=data)
    return bucket, data


@pytest.mark.parametrize(
    "spec,start,end",
    [
        ("bytes=0-0", 0, 0),
        ("bytes=0-99", 0, 99),
        ("bytes=100-199", 100, 199),
        ("bytes=9990-20000", 9990, 9999),
        ("bytes=-1", 9999, 9999),
        ("bytes=-500", 9500, 9999),
        ("bytes=-20000", 0, 9999),
        ("bytes=9000-", 9000, 9999),
        ("bytes=0-", 0, 9999),
    ],
)
def test_range(s3, ranged, spec, start, end):
    bucket, data = ranged
    r = s3.get_object(Bucket=bucket, Key="r", Range=spec)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert r["ContentRange"] == f"bytes {start}-{end}/10000"
    assert r["ContentLength"] == end - start + 1
    assert r["Body"].read() == data[start:end + 1]
    assert r["ETag"] == f'"{md5_hex(data)}"'


@pytest.mark.parametrize("spec", ["bytes=10000-", "bytes=10000-10005", "bytes=20000-30000"])
def test_range_beyond_end_is_416(s3, ranged, spec):
    bucket, _ = ranged
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="r", Range=spec)
    assert error_of(e) == (416, "InvalidRange")
    assert headers_of(e.value.response)["content-range"] == "bytes */10000"


def test_range_on_empty_object_is_416(s3, bucket):
    s3.put_object(Bucket=bucket, Key="empty", Body=b"")
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="empty", Range="bytes=0-")
    assert error_of(e) == (416, "InvalidRange")


def test_multiple_ranges_serve_whole_object(s3, ranged):
    bucket, data = ranged
    r = s3.get_object(Bucket=bucket, Key="r", Range="bytes=0-1,5-6")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r["Body"].read() == data


def test_head_with_range(s3, ranged):
    bucket, _ = ranged
    r = s3.head_object(Bucket=bucket, Key="r", Range="bytes=10-19")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 206
    assert r["ContentLength"] == 10
    assert r["ContentRange"] == "bytes 10-19/10000"


# --- conditionals -----------------------------------------------------------------------------

@pytest.fixture
def cond(s3, bucket):
    s3.put_object(Bucket=bucket, Key="c", Body=b"conditional")
    h = s3.head_object(Bucket=bucket, Key="c")
    return bucket, h["ETag"], h["LastModified"]


def http_date(dt):
    return email.utils.format_datetime(dt.astimezone(datetime.timezone.utc), usegmt=True)


def test_if_match(s3, cond):
    bucket, etag, _ = cond
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=etag)["Body"].read() == b"conditional"
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch="*")["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_object(Bucket=bucket, Key="c", IfMatch=f'"0000", {etag}')["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"00000000000000000000000000000000"')
    assert error_of(e) == (412, "PreconditionFailed")
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="c", IfMatch='"00000000000000000000000000000000"')
    assert error_of(e)[0] == 412


def test_if_none_match(s3, cond):
    bucket, etag, lm = cond
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert error_of(e)[0] == 304
    h = headers_of(e.value.response)
    assert h["etag"] == etag
    assert h["last-modified"] == http_date(lm)
    with pytest.raises(ClientError) as e:
        s3.head_object(Bucket=bucket, Key="c", IfNoneMatch=etag)
    assert error_of(e)[0] == 304
    r = s3.get_object(Bucket=bucket, Key="c", IfNoneMatch='"00000000000000000000000000000000"')
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_not_modified_raw_has_no_body(server, cond):
    bucket, etag, _ = cond
    r = raw_request(server, "GET", f"/{bucket}/c", [("If-None-Match", etag)])
    assert r.status == 304
    assert r.body == b""


def test_if_modified_since(s3, cond):
    bucket, _, lm = cond
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=lm)
    assert error_of(e)[0] == 304
    r = s3.get_object(Bucket=bucket, Key="c", IfModifiedSince=lm - datetime.timedelta(days=1))
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_if_unmodified_since(s3, cond):
    bucket, _, lm = cond
    assert s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=lm)["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfUnmodifiedSince=lm - datetime.timedelta(days=1))
    assert error_of(e) == (412, "PreconditionFailed")


def test_if_match_true_overrides_if_unmodified_since_false(s3, cond):
    # S3: If-Match true and If-Unmodified-Since false -> 200.
    bucket, etag, lm = cond
    r = s3.get_object(Bucket=bucket, Key="c", IfMatch=etag, IfUnmodifiedSince=lm - datetime.timedelta(days=1))
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_if_none_match_false_and_if_modified_since_true_is_304(s3, cond):
    bucket, etag, lm = cond
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfNoneMatch=etag, IfModifiedSince=lm - datetime.timedelta(days=1))
    assert error_of(e)[0] == 304


def test_if_match_false_with_range_is_412(s3, cond):
    bucket, _, _ = cond
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="c", IfMatch='"abc"', Range="bytes=0-1")
    assert error_of(e) == (412, "PreconditionFailed")


# --- response-* overrides -------------------------------------------------------------------------

def test_response_header_overrides(s3, bucket):
    s3.put_object(Bucket=bucket, Key="o", Body=b"override", ContentType="text/plain", CacheControl="no-cache")
    exp = datetime.datetime(2030, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)
    r = s3.get_object(
        Bucket=bucket,
        Key="o",
        ResponseContentType="application/x-override",
        ResponseContentLanguage="fr-FR",
        ResponseExpires=exp,
        ResponseCacheControl="private, max-age=5",
        ResponseContentDisposition='attachment; filename="x y.bin"',
        ResponseContentEncoding="x-enc",
    )
    h = headers_of(r)
    assert h["content-type"] == "application/x-override"
    assert h["content-language"] == "fr-FR"
    assert h["expires"] == "Mon, 06 May 2030 07:08:09 GMT"
    assert h["cache-control"] == "private, max-age=5"
    assert h["content-disposition"] == 'attachment; filename="x y.bin"'
    assert h["content-encoding"] == "x-enc"
    assert r["Body"].read() == b"override"
    # The stored headers are unchanged.
    h = headers_of(s3.head_object(Bucket=bucket, Key="o"))
    assert h["content-type"] == "text/plain"
    assert h["cache-control"] == "no-cache"


def test_response_overrides_refused_for_anonymous(s3, anon, bucket):
    # S3: "Request specific response headers cannot be used for anonymous GET requests."
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    s3.put_object(Bucket=bucket, Key="o", Body=b"x", ContentType="text/plain")
    with pytest.raises(ClientError) as e:
        anon.get_object(Bucket=bucket, Key="o", ResponseContentType="application/evil")
    assert error_of(e) == (400, "InvalidRequest")


# --- PutObject If-None-Match: * -------------------------------------------------------------------

def test_put_if_none_match_star(s3, bucket):
    r = s3.put_object(Bucket=bucket, Key="once", Body=b"first", IfNoneMatch="*")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="once", Body=b"second", IfNoneMatch="*")
    assert error_of(e) == (412, "PreconditionFailed")
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"first"
    s3.delete_object(Bucket=bucket, Key="once")
    s3.put_object(Bucket=bucket, Key="once", Body=b"third", IfNoneMatch="*")
    assert s3.get_object(Bucket=bucket, Key="once")["Body"].read() == b"third"


def test_put_if_match(s3, bucket):
    first = s3.put_object(Bucket=bucket, Key="cas", Body=b"one")["ETag"]
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="cas", Body=b"two", IfMatch='"00000000000000000000000000000000"')
    assert error_of(e) == (412, "PreconditionFailed")
    s3.put_object(Bucket=bucket, Key="cas", Body=b"three", IfMatch=first)
    assert s3.get_object(Bucket=bucket, Key="cas")["Body"].read() == b"three"


def test_put_if_match_never_overwrites_unconditionally(s3, bucket):
    s3.put_object(Bucket=bucket, Key="cas", Body=b"one")
    with pytest.raises(ClientError) as e:
        s3.put_object(Bucket=bucket, Key="cas", Body=b"two", IfMatch='"00000000000000000000000000000000"')
    assert error_of(e)[0] in (412, 501)
    assert s3.get_object(Bucket=bucket, Key="cas")["Body"].read() == b"one"


# --- DeleteObject / DeleteObjects -----------------------------------------------------------------

def test_delete_object(s3, bucket):
    s3.put_object(Bucket=bucket, Key="d", Body=b"x")
    r = s3.delete_object(Bucket=bucket, Key="d")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        s3.get_object(Bucket=bucket, Key="d")
    assert error_of(e) == (404, "NoSuchKey")


def test_delete_missing_key_is_204(s3, bucket):
    r = s3.delete_object(Bucket=bucket, Key="never-existed")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204


def _put_many(s3, bucket, keys, body=b"x"):
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=body), keys))


def test_delete_objects_verbose_1000(s3, bucket):
    keys = [f"del/{i:04d}" for i in range(1000)]
    _put_many(s3, bucket, keys)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 1000
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert sorted(d["Key"] for d in r["Deleted"]) == keys
    assert "Errors" not in r
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_delete_objects_more_than_1000_keys(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"k{i}"} for i in range(1001)]})
    assert error_of(e) == (400, "MalformedXML")


def test_delete_objects_quiet(s3, bucket):
    keys = [f"q/{i}" for i in range(20)]
    _put_many(s3, bucket, keys)
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys] + [{"Key": "missing"}], "Quiet": True})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "Deleted" not in r
    assert "Errors" not in r
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_delete_objects_missing_key_reported_deleted(s3, bucket):
    s3.put_object(Bucket=bucket, Key="there", Body=b"x")
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "there"}, {"Key": "not there"}, {"Key": "ü/ß"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["not there", "there", "ü/ß"]


def test_delete_objects_malformed_xml(server, bucket):
    body = b"<Delete><Object><Key>a</Key></Object>"
    r = raw_request(server, "POST", f"/{bucket}?delete", [("Content-MD5", md5_b64(body))], body)
    assert r.status == 400, r
    assert r.code == "MalformedXML"


# --- CopyObject -----------------------------------------------------------------------------------

@pytest.fixture
def src(s3, bucket):
    data = os.urandom(3000)
    s3.put_object(Bucket=bucket, Key="src/ö key", Body=data, ContentType="text/x-src", Metadata={"origin": "src"}, CacheControl="max-age=1")
    return bucket, "src/ö key", data


def test_copy_object_copy_directive(s3, src):
    bucket, key, data = src
    r = s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": key})
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r["CopyObjectResult"]["ETag"] == f'"{md5_hex(data)}"'
    assert abs((datetime.datetime.now(datetime.timezone.utc) - r["CopyObjectResult"]["LastModified"]).total_seconds()) < 300
    g = s3.get_object(Bucket=bucket, Key="dst")
    assert g["Body"].read() == data
    assert g["ContentType"] == "text/x-src"
    assert g["Metadata"] == {"origin": "src"}
    assert g["CacheControl"] == "max-age=1"


def test_copy_object_ignores_new_metadata_without_replace(s3, src):
    bucket, key, _ = src
    s3.copy_object(Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": key}, Metadata={"new": "x"}, MetadataDirective="COPY")
    assert s3.head_object(Bucket=bucket, Key="dst")["Metadata"] == {"origin": "src"}


def test_copy_object_replace_directive(s3, src):
    bucket, key, data = src
    s3.copy_object(
        Bucket=bucket, Key="dst", CopySource={"Bucket": bucket, "Key": key},
        MetadataDirective="REPLACE", Metadata={"new": "yes"}, ContentType="application/x-new",
    )
    g = s3.get_object(Bucket=bucket, Key="dst")
    assert g["Body"].read() == data
    assert g["Metadata"] == {"new": "yes"}
    assert g["ContentType"] == "application/x-new"
    assert "CacheControl" not in g


def test_copy_object_across_buckets(s3, src, make_bucket):
    bucket, key, data = src
    other = make_bucket()
    s3.copy_object(Bucket=other, Key=key, CopySource={"Bucket": bucket, "Key": key})
    assert s3.get_object(Bucket=other, Key=key)["Body"].read() == data


def test_copy_object_raw_copy_source_forms(server, s3, src):
    bucket, key, data = src
    quoted = urllib.parse.quote(f"{bucket}/{key}")
    for i, cs in enumerate([quoted, "/" + quoted]):
        r = raw_request(server, "PUT", f"/{bucket}/raw{i}", [("x-amz-copy-source", cs)])
        assert r.status == 200, r
        assert r.xml().tag.endswith("CopyObjectResult")
        assert s3.get_object(Bucket=bucket, Key=f"raw{i}")["Body"].read() == data


def test_copy_onto_itself_without_replace_is_invalid(s3, src):
    bucket, key, _ = src
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key})
    assert error_of(e) == (400, "InvalidRequest")


def test_copy_onto_itself_with_replace(s3, src):
    bucket, key, data = src
    s3.copy_object(Bucket=bucket, Key=key, CopySource={"Bucket": bucket, "Key": key}, MetadataDirective="REPLACE", Metadata={"v": "2"})
    g = s3.get_object(Bucket=bucket, Key=key)
    assert g["Metadata"] == {"v": "2"}
    assert g["Body"].read() == data


def test_copy_source_if_match(s3, src):
    bucket, key, data = src
    etag = f'"{md5_hex(data)}"'
    s3.copy_object(Bucket=bucket, Key="d1", CopySource={"Bucket": bucket, "Key": key}, CopySourceIfMatch=etag)
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d2", CopySource={"Bucket": bucket, "Key": key}, CopySourceIfMatch='"deadbeef"')
    assert error_of(e) == (412, "PreconditionFailed")


def test_copy_source_if_none_match(s3, src):
    bucket, key, data = src
    etag = f'"{md5_hex(data)}"'
    s3.copy_object(Bucket=bucket, Key="d1", CopySource={"Bucket": bucket, "Key": key}, CopySourceIfNoneMatch='"deadbeef"')
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d2", CopySource={"Bucket": bucket, "Key": key}, CopySourceIfNoneMatch=etag)
    assert error_of(e) == (412, "PreconditionFailed")


def test_copy_source_if_modified_since(s3, src):
    bucket, key, _ = src
    lm = s3.head_object(Bucket=bucket, Key=key)["LastModified"]
    s3.copy_object(Bucket=bucket, Key="d1", CopySource={"Bucket": bucket, "Key": key}, CopySourceIfUnmodifiedSince=lm)
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d2", CopySource={"Bucket": bucket, "Key": key}, CopySourceIfModifiedSince=lm)
    assert error_of(e) == (412, "PreconditionFailed")


def test_copy_missing_source(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": bucket, "Key": "missing"})
    assert error_of(e) == (404, "NoSuchKey")


def test_copy_from_missing_bucket(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.copy_object(Bucket=bucket, Key="d", CopySource={"Bucket": "no-such-bucket-xyz-123", "Key": "k"})
    assert error_of(e) == (404, "NoSuchBucket")


def test_copy_invalid_metadata_directive(server, src):
    bucket, key, _ = src
    r = raw_request(server, "PUT", f"/{bucket}/d", [("x-amz-copy-source", urllib.parse.quote(f"{bucket}/{key}")), ("x-amz-metadata-directive", "MERGE")])
    assert r.status == 400
    assert r.code == "InvalidArgument"
