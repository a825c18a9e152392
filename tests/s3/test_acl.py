"""Canned bucket ACLs and who may do what: the owner, anonymous callers, another user."""

import pytest
from botocore.exceptions import ClientError

from s3util import empty_and_delete, error_of, raw_request, unique_bucket_name

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"


def group_grants(s3, bucket):
    return sorted(g["Permission"] for g in s3.get_bucket_acl(Bucket=bucket)["Grants"] if g["Grantee"]["Type"] == "Group")


def test_get_bucket_acl_private(s3, bucket):
    r = s3.get_bucket_acl(Bucket=bucket)
    owner = s3.list_buckets()["Owner"]
    assert r["Owner"]["ID"] == owner["ID"]
    assert r["Grants"] == [
        {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"], "DisplayName": r["Owner"]["DisplayName"]}, "Permission": "FULL_CONTROL"}
    ]


@pytest.mark.parametrize("acl,perms", [("public-read", ["READ"]), ("public-read-write", ["READ", "WRITE"]), ("private", [])])
def test_put_bucket_acl_canned(s3, bucket, acl, perms):
    assert s3.put_bucket_acl(Bucket=bucket, ACL=acl)["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert group_grants(s3, bucket) == perms
    for g in s3.get_bucket_acl(Bucket=bucket)["Grants"]:
        if g["Grantee"]["Type"] == "Group":
            assert g["Grantee"]["URI"] == ALL_USERS


def test_get_object_acl_shows_owner(s3, bucket):
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    r = s3.get_object_acl(Bucket=bucket, Key="k")
    assert r["Owner"]["ID"] == s3.list_buckets()["Owner"]["ID"]
    assert {"FULL_CONTROL"} <= {g["Permission"] for g in r["Grants"]}


def test_put_bucket_acl_with_policy_document_not_implemented(s3, bucket):
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]
    with pytest.raises(ClientError) as e:
        s3.put_bucket_acl(
            Bucket=bucket,
            AccessControlPolicy={"Owner": owner, "Grants": [{"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"}]},
        )
    assert error_of(e) == (501, "NotImplemented")


def test_put_bucket_acl_unknown_canned(server, bucket):
    r = raw_request(server, "PUT", f"/{bucket}?acl", [("x-amz-acl", "everyone-may-do-anything")])
    assert r.status == 400, r
    assert r.code in ("InvalidArgument", "MalformedACLError")


def test_anonymous_refused_on_private_bucket(s3, anon, bucket):
    s3.put_object(Bucket=bucket, Key="secret", Body=b"s")
    for call in (
        lambda: anon.get_object(Bucket=bucket, Key="secret"),
        lambda: anon.list_objects_v2(Bucket=bucket),
        lambda: anon.list_objects(Bucket=bucket),
        lambda: anon.put_object(Bucket=bucket, Key="new", Body=b"n"),
        lambda: anon.delete_object(Bucket=bucket, Key="secret"),
        lambda: anon.get_bucket_acl(Bucket=bucket),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e) == (403, "AccessDenied")
    with pytest.raises(ClientError) as e:
        anon.head_object(Bucket=bucket, Key="secret")
    assert error_of(e)[0] == 403
    assert s3.get_object(Bucket=bucket, Key="secret")["Body"].read() == b"s"


def test_anonymous_list_buckets_refused(anon):
    with pytest.raises(ClientError) as e:
        anon.list_buckets()
    assert error_of(e) == (403, "AccessDenied")


def test_anonymous_create_bucket_refused(anon):
    with pytest.raises(ClientError) as e:
        anon.create_bucket(Bucket="anon-made-bucket-xyz")
    assert error_of(e) == (403, "AccessDenied")


def test_public_read(s3, anon, bucket):
    s3.put_object(Bucket=bucket, Key="pub", Body=b"public data")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    g = anon.get_object(Bucket=bucket, Key="pub")
    assert g["Body"].read() == b"public data"
    assert anon.head_object(Bucket=bucket, Key="pub")["ContentLength"] == 11
    assert [o["Key"] for o in anon.list_objects_v2(Bucket=bucket)["Contents"]] == ["pub"]
    assert [o["Key"] for o in anon.list_objects(Bucket=bucket)["Contents"]] == ["pub"]
    assert anon.get_object(Bucket=bucket, Key="pub", Range="bytes=0-5")["Body"].read() == b"public"
    with pytest.raises(ClientError) as e:
        anon.put_object(Bucket=bucket, Key="anon-write", Body=b"no")
    assert error_of(e) == (403, "AccessDenied")
    with pytest.raises(ClientError) as e:
        anon.delete_object(Bucket=bucket, Key="pub")
    assert error_of(e) == (403, "AccessDenied")
    with pytest.raises(ClientError) as e:
        anon.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    assert error_of(e) == (403, "AccessDenied")
    with pytest.raises(ClientError) as e:
        anon.delete_bucket(Bucket=bucket)
    assert error_of(e) == (403, "AccessDenied")
    # Back to private: anonymous reads stop.
    s3.put_bucket_acl(Bucket=bucket, ACL="private")
    with pytest.raises(ClientError) as e:
        anon.get_object(Bucket=bucket, Key="pub")
    assert error_of(e) == (403, "AccessDenied")


def test_public_read_raw_unsigned_get(server, s3, bucket):
    s3.put_object(Bucket=bucket, Key="plain", Body=b"plain")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    r = raw_request(server, "GET", f"/{bucket}/plain", sign=False)
    assert r.status == 200
    assert r.body == b"plain"


def test_public_read_write(s3, anon, bucket):
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    r = anon.put_object(Bucket=bucket, Key="anon", Body=b"from anonymous")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert s3.get_object(Bucket=bucket, Key="anon")["Body"].read() == b"from anonymous"
    assert anon.get_object(Bucket=bucket, Key="anon")["Body"].read() == b"from anonymous"
    anon.delete_object(Bucket=bucket, Key="anon")
    with pytest.raises(ClientError) as e:
        anon.get_bucket_acl(Bucket=bucket)
    assert error_of(e) == (403, "AccessDenied")
    with pytest.raises(ClientError) as e:
        anon.delete_bucket(Bucket=bucket)
    assert error_of(e) == (403, "AccessDenied")




def test_second_user_refused_on_private_bucket(s3, second_user, bucket):
    s3.put_object(Bucket=bucket, Key="mine", Body=b"mine")
    for call in (
        lambda: second_user.get_object(Bucket=bucket, Key="mine"),
        lambda: second_user.list_objects_v2(Bucket=bucket),
        lambda: second_user.put_object(Bucket=bucket, Key="theirs", Body=b"t"),
        lambda: second_user.delete_object(Bucket=bucket, Key="mine"),
        lambda: second_user.get_bucket_acl(Bucket=bucket),
        lambda: second_user.put_bucket_acl(Bucket=bucket, ACL="public-read-write"),
        lambda: second_user.delete_bucket(Bucket=bucket),
        lambda: second_user.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "mine"}),
    ):
        with pytest.raises(ClientError) as e:
            call()
        assert error_of(e) == (403, "AccessDenied")
    with pytest.raises(ClientError) as e:
        second_user.head_bucket(Bucket=bucket)
    assert error_of(e)[0] == 403
    assert bucket not in [b["Name"] for b in second_user.list_buckets()["Buckets"]]


def test_second_user_cannot_copy_out_of_private_bucket(s3, second_user, bucket, make_bucket):
    s3.put_object(Bucket=bucket, Key="mine", Body=b"mine")
    theirs = unique_bucket_name("theirs")
    second_user.create_bucket(Bucket=theirs)
    try:
        with pytest.raises(ClientError) as e:
            second_user.copy_object(Bucket=theirs, Key="stolen", CopySource={"Bucket": bucket, "Key": "mine"})
        assert error_of(e) == (403, "AccessDenied")
    finally:
        empty_and_delete(second_user, theirs)


def test_second_user_cannot_take_existing_bucket_name(s3, second_user, bucket):
    with pytest.raises(ClientError) as e:
        second_user.create_bucket(Bucket=bucket)
    assert error_of(e) == (409, "BucketAlreadyExists")


def test_second_user_on_public_buckets(s3, second_user, bucket):
    s3.put_object(Bucket=bucket, Key="pub", Body=b"p")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    assert second_user.get_object(Bucket=bucket, Key="pub")["Body"].read() == b"p"
    with pytest.raises(ClientError) as e:
        second_user.put_object(Bucket=bucket, Key="x", Body=b"x")
    assert error_of(e) == (403, "AccessDenied")
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read-write")
    second_user.put_object(Bucket=bucket, Key="x", Body=b"x")
    second_user.copy_object(Bucket=bucket, Key="y", CopySource={"Bucket": bucket, "Key": "x"})
    assert s3.get_object(Bucket=bucket, Key="y")["Body"].read() == b"x"
