"""Bucket operations: ListBuckets, CreateBucket, HeadBucket, DeleteBucket,
GetBucketLocation, GetBucketVersioning."""

import datetime

import pytest
from botocore.exceptions import ClientError

from s3util import error_of, raw_request, unique_bucket_name


def test_list_buckets_shows_created_bucket(s3, bucket):
    r = s3.list_buckets()
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    by_name = {b["Name"]: b for b in r["Buckets"]}
    assert bucket in by_name
    created = by_name[bucket]["CreationDate"]
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - created).total_seconds()) < 300
    assert r["Owner"]["ID"]
    names = [b["Name"] for b in r["Buckets"]]
    assert names == sorted(names)


def test_create_and_delete_bucket(s3):
    name = unique_bucket_name("create")
    r = s3.create_bucket(Bucket=name)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r["Location"] == f"/{name}"
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPStatusCode"] == 200
    r = s3.delete_bucket(Bucket=name)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=name)
    assert error_of(e) == (404, "404")
    assert name not in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_create_bucket_with_location_constraint_us_east_1(s3, make_bucket):
    name = make_bucket(CreateBucketConfiguration={"LocationConstraint": "us-east-1"})
    assert s3.head_bucket(Bucket=name)["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"


def test_create_bucket_with_foreign_location_constraint_is_refused(s3):
    name = unique_bucket_name("foreign")
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert error_of(e)[0] == 400
    with pytest.raises(ClientError):
        s3.head_bucket(Bucket=name)


@pytest.mark.parametrize(
    "name",
    ["ab", "UpperCase", "under_score", "-leading-dash", "trailing-dash-", "two..dots",
     "192.168.10.1", "x" * 64, "dash-.dot", "dot.-dash"],
)
def test_create_bucket_invalid_name(s3, name):
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=name)
    assert error_of(e) == (400, "InvalidBucketName")


@pytest.mark.parametrize("name", ["a%20b", "caf%C3%A9", "a!b"])
def test_create_bucket_invalid_name_raw(server, name):
    r = raw_request(server, "PUT", f"/{name}")
    assert r.status == 400, r
    assert r.code == "InvalidBucketName"


def test_create_bucket_valid_name_edges(s3):
    for name in ["abc", "a" * 63, "my.dotted.bucket-1", "0numeric-first9"]:
        s3.create_bucket(Bucket=name)
        s3.delete_bucket(Bucket=name)


def test_create_bucket_twice_is_already_owned_by_you(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.create_bucket(Bucket=bucket)
    assert error_of(e) == (409, "BucketAlreadyOwnedByYou")


def test_create_bucket_with_canned_acl(s3, make_bucket):
    name = make_bucket(ACL="public-read")
    grants = s3.get_bucket_acl(Bucket=name)["Grants"]
    assert {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"} in grants


def test_head_bucket(s3, bucket):
    r = s3.head_bucket(Bucket=bucket)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r["ResponseMetadata"]["HTTPHeaders"]["x-amz-bucket-region"] == "us-east-1"


def test_head_missing_bucket_is_404(s3):
    with pytest.raises(ClientError) as e:
        s3.head_bucket(Bucket=unique_bucket_name("missing"))
    assert error_of(e) == (404, "404")


def test_head_missing_bucket_raw_has_no_body(server):
    r = raw_request(server, "HEAD", f"/{unique_bucket_name('missing')}")
    assert r.status == 404
    assert r.body == b""
    assert r.headers.get("x-amz-request-id")


def test_delete_bucket_not_empty(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=bucket)
    assert error_of(e) == (409, "BucketNotEmpty")
    s3.delete_object(Bucket=bucket, Key="k")
    assert s3.delete_bucket(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204


def test_delete_missing_bucket(s3):
    name = unique_bucket_name("missing")
    with pytest.raises(ClientError) as e:
        s3.delete_bucket(Bucket=name)
    assert error_of(e) == (404, "NoSuchBucket")


def test_object_ops_on_missing_bucket(s3):
    name = unique_bucket_name("missing")
    for call in (
        lambda: s3.put_object(Bucket=name, Key="k", Body=b"x"),
        lambda: s3.get_object(Bucket=name, Key="k"),
        lambda: s3.list_objects_v2(Bucket=name),
        lambda: s3.list_objects(Bucket=name),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e) == (404, "NoSuchBucket")


def test_get_bucket_location_us_east_1_is_empty(s3, bucket):
    # S3 reports us-east-1 as an empty LocationConstraint (null in the SDKs).
    r = s3.get_bucket_location(Bucket=bucket)
    assert r["LocationConstraint"] is None


def test_get_bucket_location_missing_bucket(s3):
    with pytest.raises(ClientError) as e:
        s3.get_bucket_location(Bucket=unique_bucket_name("missing"))
    assert error_of(e) == (404, "NoSuchBucket")


def test_get_bucket_versioning_never_enabled(s3, bucket):
    r = s3.get_bucket_versioning(Bucket=bucket)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert "Status" not in r
    assert "MFADelete" not in r


def test_put_bucket_versioning_not_implemented(s3, bucket):
    with pytest.raises(ClientError) as e:
        s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    assert error_of(e) == (501, "NotImplemented")


@pytest.mark.parametrize("call", ["get_bucket_tagging", "get_bucket_policy", "get_bucket_cors", "get_bucket_lifecycle_configuration"])
def test_unsupported_subresources_are_not_implemented(s3, bucket, call):
    with pytest.raises(ClientError) as e:
        getattr(s3, call)(Bucket=bucket)
    assert error_of(e) == (501, "NotImplemented")
