"""ListObjects (v1) and ListObjectsV2: prefix, delimiter, markers, pagination,
max-keys, encoding-type=url, fetch-owner."""

import concurrent.futures
import urllib.parse

import pytest
from botocore.exceptions import ClientError

from s3util import S3_NS, error_of, md5_hex, raw_request

TREE = [
    "a.txt",
    "b/1.txt",
    "b/2.txt",
    "b/c/3.txt",
    "b/c/4.txt",
    "b/d/5.txt",
    "bz.txt",
    "c/6.txt",
    "z",
]


def put_all(s3, bucket, keys):
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        list(ex.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=k.encode()), keys))


@pytest.fixture
def tree(s3, bucket):
    put_all(s3, bucket, TREE)
    return bucket


def keys_of(r):
    return [o["Key"] for o in r.get("Contents", [])]


def prefixes_of(r):
    return [p["Prefix"] for p in r.get("CommonPrefixes", [])]


def test_list_v2_all(s3, tree):
    r = s3.list_objects_v2(Bucket=tree)
    assert keys_of(r) == TREE
    assert r["KeyCount"] == len(TREE)
    assert r["IsTruncated"] is False
    assert r["MaxKeys"] == 1000
    assert r["Name"] == tree
    assert r["Prefix"] == ""
    o = r["Contents"][0]
    assert o["Size"] == len("a.txt")
    assert o["ETag"] == f'"{md5_hex(b"a.txt")}"'
    assert o["StorageClass"] == "STANDARD"
    assert "Owner" not in o


def test_list_v1_all(s3, tree):
    r = s3.list_objects(Bucket=tree)
    assert keys_of(r) == TREE
    assert r["IsTruncated"] is False
    assert r["Marker"] == ""
    assert r["MaxKeys"] == 1000
    assert r["Contents"][0]["Owner"]["ID"]


@pytest.mark.parametrize("lister", ["v1", "v2"])
def test_prefix(s3, tree, lister):
    f = s3.list_objects if lister == "v1" else s3.list_objects_v2
    assert keys_of(f(Bucket=tree, Prefix="b/c/")) == ["b/c/3.txt", "b/c/4.txt"]
    assert keys_of(f(Bucket=tree, Prefix="b")) == ["b/1.txt", "b/2.txt", "b/c/3.txt", "b/c/4.txt", "b/d/5.txt", "bz.txt"]
    assert keys_of(f(Bucket=tree, Prefix="nothing")) == []


@pytest.mark.parametrize("lister", ["v1", "v2"])
def test_delimiter(s3, tree, lister):
    f = s3.list_objects if lister == "v1" else s3.list_objects_v2
    r = f(Bucket=tree, Delimiter="/")
    assert keys_of(r) == ["a.txt", "bz.txt", "z"]
    assert prefixes_of(r) == ["b/", "c/"]
    assert r["Delimiter"] == "/"
    r = f(Bucket=tree, Delimiter="/", Prefix="b/")
    assert keys_of(r) == ["b/1.txt", "b/2.txt"]
    assert prefixes_of(r) == ["b/c/", "b/d/"]
    if lister == "v2":
        assert r["KeyCount"] == 4


def test_delimiter_other_than_slash(s3, tree):
    r = s3.list_objects_v2(Bucket=tree, Delimiter=".")
    assert keys_of(r) == ["z"]
    assert prefixes_of(r) == ["a.", "b/1.", "b/2.", "b/c/3.", "b/c/4.", "b/d/5.", "bz.", "c/6."]


def test_v1_marker(s3, tree):
    assert keys_of(s3.list_objects(Bucket=tree, Marker="b/c/4.txt")) == ["b/d/5.txt", "bz.txt", "c/6.txt", "z"]
    assert keys_of(s3.list_objects(Bucket=tree, Marker="b/c")) == ["b/c/3.txt", "b/c/4.txt", "b/d/5.txt", "bz.txt", "c/6.txt", "z"]
    assert keys_of(s3.list_objects(Bucket=tree, Marker="zz")) == []


def test_v2_start_after(s3, tree):
    r = s3.list_objects_v2(Bucket=tree, StartAfter="bz.txt")
    assert keys_of(r) == ["c/6.txt", "z"]
    assert r["StartAfter"] == "bz.txt"


def test_v1_max_keys_and_next_marker(s3, tree):
    r = s3.list_objects(Bucket=tree, MaxKeys=2)
    assert keys_of(r) == ["a.txt", "b/1.txt"]
    assert r["IsTruncated"] is True
    assert r["MaxKeys"] == 2
    # Without a delimiter S3 sends no NextMarker: the client continues from the last key.
    assert "NextMarker" not in r
    r = s3.list_objects(Bucket=tree, MaxKeys=2, Delimiter="/")
    assert keys_of(r) == ["a.txt"]
    assert prefixes_of(r) == ["b/"]
    assert r["NextMarker"] == "b/"
    r = s3.list_objects(Bucket=tree, MaxKeys=2, Delimiter="/", Marker="b/")
    assert keys_of(r) == ["bz.txt"]
    assert prefixes_of(r) == ["c/"]


def test_max_keys_zero(s3, tree):
    r = s3.list_objects_v2(Bucket=tree, MaxKeys=0)
    assert keys_of(r) == []
    assert r["KeyCount"] == 0


def test_max_keys_invalid(server, tree):
    r = raw_request(server, "GET", f"/{tree}?list-type=2&max-keys=abc")
    assert r.status == 400
    assert r.code == "InvalidArgument"


def test_invalid_list_type(server, tree):
    r = raw_request(server, "GET", f"/{tree}?list-type=3")
    assert r.status == 400
    assert r.code == "InvalidArgument"


def test_invalid_encoding_type(server, tree):
    r = raw_request(server, "GET", f"/{tree}?list-type=2&encoding-type=base64")
    assert r.status == 400
    assert r.code == "InvalidArgument"


def test_empty_bucket_listing(s3, bucket):
    r = s3.list_objects_v2(Bucket=bucket)
    assert "Contents" not in r
    assert r["KeyCount"] == 0
    assert r["IsTruncated"] is False


PAGED = sorted(
    [f"k/{i:05d}" for i in range(250)]
    + [f"d{j}/x/{i}" for j in range(5) for i in range(4)]
    + ["k/ü-unicode", "k/with space", "k/plus+", "zz-last"]
)


@pytest.fixture(scope="module")
def paged(s3):
    from s3util import empty_and_delete, unique_bucket_name

    name = unique_bucket_name("paged")
    s3.create_bucket(Bucket=name)
    put_all(s3, name, PAGED)
    yield name
    empty_and_delete(s3, name)


def _utf8_sorted(keys):
    return sorted(keys, key=lambda k: k.encode())


def test_v2_continuation_pagination(s3, paged):
    got, token, pages = [], None, 0
    while True:
        kw = {"ContinuationToken": token} if token else {}
        r = s3.list_objects_v2(Bucket=paged, MaxKeys=37, **kw)
        pages += 1
        assert r["KeyCount"] == len(r.get("Contents", []))
        got += keys_of(r)
        if not r["IsTruncated"]:
            assert "NextContinuationToken" not in r
            break
        assert r["KeyCount"] == 37
        token = r["NextContinuationToken"]
        if kw:
            assert r["ContinuationToken"] == kw["ContinuationToken"]
    assert got == _utf8_sorted(PAGED)
    assert pages == -(-len(PAGED) // 37)


def test_v2_paginator_with_delimiter(s3, paged):
    pager = s3.get_paginator("list_objects_v2")
    keys, prefixes = [], []
    for page in pager.paginate(Bucket=paged, Delimiter="/", PaginationConfig={"PageSize": 2}):
        keys += keys_of(page)
        prefixes += prefixes_of(page)
    assert keys == ["zz-last"]
    assert prefixes == ["d0/", "d1/", "d2/", "d3/", "d4/", "k/"]


def test_v1_paginator(s3, paged):
    pager = s3.get_paginator("list_objects")
    got = []
    for page in pager.paginate(Bucket=paged, PaginationConfig={"PageSize": 50}):
        got += keys_of(page)
    assert got == _utf8_sorted(PAGED)


def test_v2_start_after_with_pagination(s3, paged):
    expected = [k for k in _utf8_sorted(PAGED) if k.encode() > b"k/00199"]
    pager = s3.get_paginator("list_objects_v2")
    got = []
    for page in pager.paginate(Bucket=paged, StartAfter="k/00199", PaginationConfig={"PageSize": 20}):
        got += keys_of(page)
    assert got == expected


def test_invalid_continuation_token(s3, paged):
    with pytest.raises(ClientError) as e:
        s3.list_objects_v2(Bucket=paged, ContinuationToken="!!!not-a-token!!!")
    assert error_of(e) == (400, "InvalidArgument")


ODD_KEYS = ["sp ace/a b", "plus+/c+d", "ünï/кл", "amp&/eq=", "pct%/x", "tab\tkey", "<xml>&'\""]


@pytest.fixture
def odd(s3, bucket):
    put_all(s3, bucket, ODD_KEYS)
    return bucket


def test_odd_keys_listed_exactly_without_encoding(s3, odd):
    # boto3 asks for encoding-type=url by itself and decodes what comes back.
    assert keys_of(s3.list_objects_v2(Bucket=odd)) == _utf8_sorted(ODD_KEYS)
    assert keys_of(s3.list_objects(Bucket=odd)) == _utf8_sorted(ODD_KEYS)


@pytest.mark.parametrize("lister", ["v1", "v2"])
def test_encoding_type_url(s3, odd, lister):
    f = s3.list_objects if lister == "v1" else s3.list_objects_v2
    # Explicit EncodingType: botocore leaves the values as the server sent them.
    r = f(Bucket=odd, EncodingType="url", Delimiter="/", Prefix="")
    assert r["EncodingType"] == "url"
    raw = keys_of(r) + prefixes_of(r)
    for v in raw:
        assert all(0x21 <= ord(c) < 0x7F for c in v), v
    decoded = sorted(urllib.parse.unquote_plus(v) for v in raw)
    expected = sorted({k.split("/")[0] + "/" if "/" in k else k for k in ODD_KEYS})
    assert decoded == expected
    r = f(Bucket=odd, EncodingType="url", Prefix="sp ace/", Delimiter="/")
    assert urllib.parse.unquote_plus(r["Prefix"]) == "sp ace/"
    assert [urllib.parse.unquote_plus(k) for k in keys_of(r)] == ["sp ace/a b"]


def test_fetch_owner(s3, tree):
    r = s3.list_objects_v2(Bucket=tree, FetchOwner=True, MaxKeys=1)
    owner = r["Contents"][0]["Owner"]
    assert owner["ID"] == s3.list_buckets()["Owner"]["ID"]
    assert "DisplayName" in owner
    r = s3.list_objects_v2(Bucket=tree, FetchOwner=False, MaxKeys=1)
    assert "Owner" not in r["Contents"][0]


def test_list_xml_shape(server, tree):
    r = raw_request(server, "GET", f"/{tree}?list-type=2&max-keys=1")
    assert r.status == 200
    assert r.headers["content-type"] == "application/xml"
    root = r.xml()
    assert root.tag == f"{S3_NS}ListBucketResult"
    assert root.findtext(f"{S3_NS}Name") == tree
    assert root.findtext(f"{S3_NS}KeyCount") == "1"
    assert root.findtext(f"{S3_NS}IsTruncated") == "true"
    assert root.findtext(f"{S3_NS}Contents/{S3_NS}Key") == "a.txt"
    lm = root.findtext(f"{S3_NS}Contents/{S3_NS}LastModified")
    assert lm.endswith("Z") and "T" in lm and len(lm) == 24, lm
