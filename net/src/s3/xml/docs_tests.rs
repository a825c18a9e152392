//! Exact-output tests for the documents in [`super::docs`].

use super::*;
use crate::s3::checksum::ChecksumAlgo;
use crate::s3::error::{S3Error, S3ErrorCode};

const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

fn s(v: Vec<u8>) -> String {
    String::from_utf8(v).unwrap()
}

fn owner() -> Owner {
    Owner {
        id: "id&1".into(),
        display_name: "me".into(),
    }
}

#[test]
fn location_and_versioning() {
    let ns = "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"";
    assert_eq!(
        s(location_constraint(None)),
        format!("{HEAD}<LocationConstraint {ns}/>")
    );
    assert_eq!(
        s(location_constraint(Some(""))),
        format!("{HEAD}<LocationConstraint {ns}/>")
    );
    assert_eq!(
        s(location_constraint(Some("eu-west-1"))),
        format!("{HEAD}<LocationConstraint {ns}>eu-west-1</LocationConstraint>")
    );
    assert_eq!(
        s(versioning_configuration()),
        format!("{HEAD}<VersioningConfiguration {ns}/>")
    );
}

#[test]
fn acl_documents() {
    let grantee = "<Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xsi:type=";
    let xml = s(access_control_policy(&owner(), CannedAcl::Private));
    assert_eq!(
        xml,
        format!(
            "{HEAD}<AccessControlPolicy xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <Owner><ID>id&amp;1</ID><DisplayName>me</DisplayName></Owner><AccessControlList>\
             <Grant>{grantee}\"CanonicalUser\"><ID>id&amp;1</ID><DisplayName>me</DisplayName>\
             </Grantee><Permission>FULL_CONTROL</Permission></Grant></AccessControlList>\
             </AccessControlPolicy>"
        )
    );
    let all = "<URI>http://acs.amazonaws.com/groups/global/AllUsers</URI></Grantee>";
    let xml = s(access_control_policy(&owner(), CannedAcl::PublicReadWrite));
    assert!(xml.contains(&format!(
        "<Grant>{grantee}\"Group\">{all}<Permission>READ</Permission></Grant>\
         <Grant>{grantee}\"Group\">{all}<Permission>WRITE</Permission></Grant>"
    )));
    assert_eq!(
        s(access_control_policy(&owner(), CannedAcl::PublicRead))
            .matches("<Grant>")
            .count(),
        2
    );
    assert!(s(access_control_policy(
        &owner(),
        CannedAcl::AuthenticatedRead
    ))
    .contains("AuthenticatedUsers"));
    assert_eq!(
        CannedAcl::parse(" Public-Read ").unwrap(),
        CannedAcl::PublicRead
    );
    assert_eq!(
        CannedAcl::parse("bucket-owner-read").unwrap_err().code,
        S3ErrorCode::InvalidArgument
    );
    assert_eq!(CannedAcl::default().as_str(), "private");
}

#[test]
fn delete_result() {
    let mut r = DeleteResult {
        quiet: false,
        deleted: vec![("a<".into(), None), ("b".into(), Some("v".into()))],
        errors: vec![DeleteError {
            key: "c".into(),
            version_id: None,
            error: S3Error::access_denied(),
        }],
    };
    let ns = "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"";
    let error =
        "<Error><Key>c</Key><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
    assert_eq!(
        s(r.to_xml()),
        format!(
            "{HEAD}<DeleteResult {ns}><Deleted><Key>a&lt;</Key></Deleted>\
             <Deleted><Key>b</Key><VersionId>v</VersionId></Deleted>{error}</DeleteResult>"
        )
    );
    r.quiet = true;
    assert_eq!(
        s(r.to_xml()),
        format!("{HEAD}<DeleteResult {ns}>{error}</DeleteResult>")
    );
}

#[test]
fn copy_results() {
    let r = CopyResult {
        last_modified_ms: 1_255_369_830_000,
        etag: "9b2cf535f27731c974343645a3985328".into(),
        checksums: vec![(ChecksumAlgo::Crc32c, "4waSgw==".into())],
    };
    let body = "<LastModified>2009-10-12T17:50:30.000Z</LastModified>\
                <ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>\
                <ChecksumCRC32C>4waSgw==</ChecksumCRC32C>";
    let ns = "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"";
    assert_eq!(
        s(r.to_copy_object_xml()),
        format!("{HEAD}<CopyObjectResult {ns}>{body}</CopyObjectResult>")
    );
    assert_eq!(
        s(r.to_copy_part_xml()),
        format!("{HEAD}<CopyPartResult {ns}>{body}</CopyPartResult>")
    );
}

#[test]
fn multipart_documents() {
    let ns = "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"";
    assert_eq!(
        s(initiate_multipart_upload_result("b", "k&", "u1")),
        format!(
            "{HEAD}<InitiateMultipartUploadResult {ns}><Bucket>b</Bucket><Key>k&amp;</Key>\
             <UploadId>u1</UploadId></InitiateMultipartUploadResult>"
        )
    );
    let done = CompleteMultipartUploadResult {
        location: "http://h/b/k".into(),
        bucket: "b".into(),
        key: "k".into(),
        etag: "abc-2".into(),
        checksums: vec![(ChecksumAlgo::Crc32, "AAAAAA==-2".into())],
    };
    assert_eq!(
        s(done.to_xml()),
        format!(
            "{HEAD}<CompleteMultipartUploadResult {ns}><Location>http://h/b/k</Location>\
             <Bucket>b</Bucket><Key>k</Key><ETag>&quot;abc-2&quot;</ETag>\
             <ChecksumCRC32>AAAAAA==-2</ChecksumCRC32></CompleteMultipartUploadResult>"
        )
    );
    let parts = ListPartsResult {
        bucket: "b".into(),
        key: "k".into(),
        upload_id: "u".into(),
        owner: owner(),
        part_number_marker: 0,
        next_part_number_marker: Some(1),
        max_parts: 1,
        is_truncated: true,
        parts: vec![PartEntry {
            part_number: 1,
            last_modified_ms: 0,
            etag: "e".into(),
            size: 5,
            checksums: vec![],
        }],
    };
    let who = "<ID>id&amp;1</ID><DisplayName>me</DisplayName>";
    assert_eq!(
        s(parts.to_xml()),
        format!(
            "{HEAD}<ListPartsResult {ns}><Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId>\
             <Initiator>{who}</Initiator><Owner>{who}</Owner><StorageClass>STANDARD</StorageClass>\
             <PartNumberMarker>0</PartNumberMarker><NextPartNumberMarker>1</NextPartNumberMarker>\
             <MaxParts>1</MaxParts><IsTruncated>true</IsTruncated><Part><PartNumber>1</PartNumber>\
             <LastModified>1970-01-01T00:00:00.000Z</LastModified><ETag>&quot;e&quot;</ETag>\
             <Size>5</Size></Part></ListPartsResult>"
        )
    );
}

#[test]
fn list_multipart_uploads() {
    let r = ListMultipartUploadsResult {
        bucket: "b".into(),
        next_key_marker: Some("a b".into()),
        next_upload_id_marker: Some("u".into()),
        delimiter: Some("/".into()),
        prefix: "p q".into(),
        max_uploads: 1,
        encoding_url: true,
        is_truncated: true,
        uploads: vec![UploadEntry {
            key: "a b".into(),
            upload_id: "u".into(),
            owner: owner(),
            initiated_ms: 0,
        }],
        common_prefixes: vec!["p q/".into()],
        ..Default::default()
    };
    let who = "<ID>id&amp;1</ID><DisplayName>me</DisplayName>";
    assert_eq!(
        s(r.to_xml()),
        format!(
            "{HEAD}<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
             <Bucket>b</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>\
             <NextKeyMarker>a%20b</NextKeyMarker><NextUploadIdMarker>u</NextUploadIdMarker>\
             <Delimiter>/</Delimiter><Prefix>p%20q</Prefix><MaxUploads>1</MaxUploads>\
             <EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><Upload>\
             <Key>a%20b</Key><UploadId>u</UploadId><Initiator>{who}</Initiator><Owner>{who}</Owner>\
             <StorageClass>STANDARD</StorageClass><Initiated>1970-01-01T00:00:00.000Z</Initiated>\
             </Upload><CommonPrefixes><Prefix>p%20q/</Prefix></CommonPrefixes>\
             </ListMultipartUploadsResult>"
        )
    );
}

#[test]
fn delete_keys_round_trip_through_the_reader() {
    // Every key a client can name must come back unchanged after escaping.
    let keys = [
        "plain",
        " spaced ",
        "<&>\"'",
        "tab\tcr\rlf\n",
        "ctl\u{1}\u{1f}",
        "ünï/💾",
    ];
    let mut body = String::from("<Delete>");
    for k in keys {
        body.push_str(&format!("<Object><Key>{}</Key></Object>", escape(k)));
    }
    body.push_str("</Delete>");
    let parsed = parse_delete_objects(body.as_bytes()).unwrap();
    let got: Vec<&str> = parsed.objects.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(got, keys);
}
