//! The other response documents: bucket location and versioning, ACLs, `DeleteResult`,
//! copy results and the multipart family.

use super::list::Owner;
use super::{iso8601_ms, maybe_url_encode, quote_etag, XmlWriter};
use crate::s3::checksum::ChecksumAlgo;
use crate::s3::error::S3Error;

/// `GET ?location`: an empty element means us-east-1, as on AWS.
pub fn location_constraint(region: Option<&str>) -> Vec<u8> {
    let mut w = XmlWriter::new();
    match region.filter(|r| !r.is_empty()) {
        Some(region) => {
            w.open_root("LocationConstraint");
            w.text(region);
            w.close("LocationConstraint");
        }
        None => w.empty_root("LocationConstraint"),
    }
    w.finish()
}

/// `GET ?versioning`: versioning is never enabled, which S3 shows as an empty document.
pub fn versioning_configuration() -> Vec<u8> {
    let mut w = XmlWriter::new();
    w.empty_root("VersioningConfiguration");
    w.finish()
}

/// The canned ACLs LeoFS supports (bucket-level; object ACLs mirror the bucket's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum CannedAcl {
    #[default]
    Private,
    PublicRead,
    PublicReadWrite,
    AuthenticatedRead,
}

impl CannedAcl {
    /// The `x-amz-acl` value.
    pub fn as_str(self) -> &'static str {
        match self {
            CannedAcl::Private => "private",
            CannedAcl::PublicRead => "public-read",
            CannedAcl::PublicReadWrite => "public-read-write",
            CannedAcl::AuthenticatedRead => "authenticated-read",
        }
    }

    /// Parses an `x-amz-acl` header value; anything else is InvalidArgument.
    pub fn parse(value: &str) -> Result<CannedAcl, S3Error> {
        let v = value.trim();
        [
            Self::Private,
            Self::PublicRead,
            Self::PublicReadWrite,
            Self::AuthenticatedRead,
        ]
        .into_iter()
        .find(|acl| acl.as_str().eq_ignore_ascii_case(v))
        .ok_or_else(|| S3Error::invalid_argument("Invalid canned ACL").with_resource(v))
    }

    /// The group grants this ACL adds beyond the owner's FULL_CONTROL.
    fn group_grants(self) -> &'static [(&'static str, &'static str)] {
        const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
        const AUTH_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
        match self {
            CannedAcl::Private => &[],
            CannedAcl::PublicRead => &[(ALL_USERS, "READ")],
            CannedAcl::PublicReadWrite => &[(ALL_USERS, "READ"), (ALL_USERS, "WRITE")],
            CannedAcl::AuthenticatedRead => &[(AUTH_USERS, "READ")],
        }
    }
}

/// `GET ?acl` (bucket or object): the owner's FULL_CONTROL plus the canned ACL's grants.
pub fn access_control_policy(owner: &Owner, acl: CannedAcl) -> Vec<u8> {
    const XSI: &str = "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\"";
    let mut w = XmlWriter::new();
    w.open_root("AccessControlPolicy");
    owner.write(&mut w, "Owner");
    w.open("AccessControlList");
    w.open("Grant");
    w.raw(&format!("<Grantee {XSI} xsi:type=\"CanonicalUser\">"));
    w.elem("ID", &owner.id);
    w.elem("DisplayName", &owner.display_name);
    w.close("Grantee");
    w.elem("Permission", "FULL_CONTROL");
    w.close("Grant");
    for (uri, permission) in acl.group_grants() {
        w.open("Grant");
        w.raw(&format!("<Grantee {XSI} xsi:type=\"Group\">"));
        w.elem("URI", uri);
        w.close("Grantee");
        w.elem("Permission", permission);
        w.close("Grant");
    }
    w.close("AccessControlList");
    w.close("AccessControlPolicy");
    w.finish()
}

/// A key that `DeleteObjects` failed to delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteError {
    pub key: String,
    pub version_id: Option<String>,
    pub error: S3Error,
}

/// `POST ?delete` response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeleteResult {
    /// Quiet mode lists only the errors.
    pub quiet: bool,
    /// `(key, version_id)` of each deleted object.
    pub deleted: Vec<(String, Option<String>)>,
    pub errors: Vec<DeleteError>,
}

impl DeleteResult {
    pub fn to_xml(&self) -> Vec<u8> {
        let mut w = XmlWriter::new();
        w.open_root("DeleteResult");
        if !self.quiet {
            for (key, version) in &self.deleted {
                w.open("Deleted");
                w.elem("Key", key);
                w.opt_elem("VersionId", version.as_deref());
                w.close("Deleted");
            }
        }
        for e in &self.errors {
            w.open("Error");
            w.elem("Key", &e.key);
            w.opt_elem("VersionId", e.version_id.as_deref());
            w.elem("Code", e.error.code.as_str());
            w.elem("Message", &e.error.message);
            w.close("Error");
        }
        w.close("DeleteResult");
        w.finish()
    }
}

/// `CopyObject` / `UploadPartCopy` response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopyResult {
    pub last_modified_ms: i64,
    pub etag: String,
    pub checksums: Vec<(ChecksumAlgo, String)>,
}

impl CopyResult {
    /// `<CopyObjectResult>` for CopyObject.
    pub fn to_copy_object_xml(&self) -> Vec<u8> {
        self.write("CopyObjectResult")
    }

    /// `<CopyPartResult>` for UploadPartCopy.
    pub fn to_copy_part_xml(&self) -> Vec<u8> {
        self.write("CopyPartResult")
    }

    fn write(&self, root: &str) -> Vec<u8> {
        let mut w = XmlWriter::new();
        w.open_root(root);
        w.elem("LastModified", &iso8601_ms(self.last_modified_ms));
        w.elem("ETag", &quote_etag(&self.etag));
        write_checksums(&mut w, &self.checksums);
        w.close(root);
        w.finish()
    }
}

fn write_checksums(w: &mut XmlWriter, checksums: &[(ChecksumAlgo, String)]) {
    for (algo, value) in checksums {
        w.elem(algo.xml_element(), value);
    }
}

/// `POST ?uploads` response.
pub fn initiate_multipart_upload_result(bucket: &str, key: &str, upload_id: &str) -> Vec<u8> {
    let mut w = XmlWriter::new();
    w.open_root("InitiateMultipartUploadResult");
    w.elem("Bucket", bucket);
    w.elem("Key", key);
    w.elem("UploadId", upload_id);
    w.close("InitiateMultipartUploadResult");
    w.finish()
}

/// `POST ?uploadId` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompleteMultipartUploadResult {
    /// The object's URL, e.g. `http://host/bucket/key`.
    pub location: String,
    pub bucket: String,
    pub key: String,
    pub etag: String,
    pub checksums: Vec<(ChecksumAlgo, String)>,
}

impl CompleteMultipartUploadResult {
    pub fn to_xml(&self) -> Vec<u8> {
        let mut w = XmlWriter::new();
        w.open_root("CompleteMultipartUploadResult");
        w.elem("Location", &self.location);
        w.elem("Bucket", &self.bucket);
        w.elem("Key", &self.key);
        w.elem("ETag", &quote_etag(&self.etag));
        write_checksums(&mut w, &self.checksums);
        w.close("CompleteMultipartUploadResult");
        w.finish()
    }
}

/// One uploaded part in `ListParts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartEntry {
    pub part_number: u32,
    pub last_modified_ms: i64,
    pub etag: String,
    pub size: u64,
    pub checksums: Vec<(ChecksumAlgo, String)>,
}

/// `GET ?uploadId` response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListPartsResult {
    pub bucket: String,
    pub key: String,
    pub upload_id: String,
    pub owner: Owner,
    pub part_number_marker: u32,
    pub next_part_number_marker: Option<u32>,
    pub max_parts: u32,
    pub is_truncated: bool,
    pub parts: Vec<PartEntry>,
}

impl ListPartsResult {
    pub fn to_xml(&self) -> Vec<u8> {
        let mut w = XmlWriter::new();
        w.open_root("ListPartsResult");
        w.elem("Bucket", &self.bucket);
        w.elem("Key", &self.key);
        w.elem("UploadId", &self.upload_id);
        self.owner.write(&mut w, "Initiator");
        self.owner.write(&mut w, "Owner");
        w.elem("StorageClass", "STANDARD");
        w.display_elem("PartNumberMarker", self.part_number_marker);
        if let Some(next) = self.next_part_number_marker {
            w.display_elem("NextPartNumberMarker", next);
        }
        w.display_elem("MaxParts", self.max_parts);
        w.display_elem("IsTruncated", self.is_truncated);
        for p in &self.parts {
            w.open("Part");
            w.display_elem("PartNumber", p.part_number);
            w.elem("LastModified", &iso8601_ms(p.last_modified_ms));
            w.elem("ETag", &quote_etag(&p.etag));
            w.display_elem("Size", p.size);
            write_checksums(&mut w, &p.checksums);
            w.close("Part");
        }
        w.close("ListPartsResult");
        w.finish()
    }
}

/// One in-progress upload in `ListMultipartUploads`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadEntry {
    pub key: String,
    pub upload_id: String,
    pub owner: Owner,
    pub initiated_ms: i64,
}

/// `GET /bucket?uploads` response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListMultipartUploadsResult {
    pub bucket: String,
    pub key_marker: String,
    pub upload_id_marker: String,
    pub next_key_marker: Option<String>,
    pub next_upload_id_marker: Option<String>,
    pub prefix: String,
    pub delimiter: Option<String>,
    pub max_uploads: u32,
    /// `encoding-type=url`: keys, markers, prefixes and the delimiter are URL-encoded.
    pub encoding_url: bool,
    pub is_truncated: bool,
    pub uploads: Vec<UploadEntry>,
    pub common_prefixes: Vec<String>,
}

impl ListMultipartUploadsResult {
    pub fn to_xml(&self) -> Vec<u8> {
        let url = self.encoding_url;
        let enc = |s: &str| maybe_url_encode(s, url);
        let mut w = XmlWriter::new();
        w.open_root("ListMultipartUploadsResult");
        w.elem("Bucket", &self.bucket);
        w.elem("KeyMarker", &enc(&self.key_marker));
        w.elem("UploadIdMarker", &self.upload_id_marker);
        if let Some(k) = &self.next_key_marker {
            w.elem("NextKeyMarker", &enc(k));
        }
        w.opt_elem("NextUploadIdMarker", self.next_upload_id_marker.as_deref());
        if let Some(d) = &self.delimiter {
            w.elem("Delimiter", &enc(d));
        }
        w.elem("Prefix", &enc(&self.prefix));
        w.display_elem("MaxUploads", self.max_uploads);
        if url {
            w.elem("EncodingType", "url");
        }
        w.display_elem("IsTruncated", self.is_truncated);
        for u in &self.uploads {
            w.open("Upload");
            w.elem("Key", &enc(&u.key));
            w.elem("UploadId", &u.upload_id);
            u.owner.write(&mut w, "Initiator");
            u.owner.write(&mut w, "Owner");
            w.elem("StorageClass", "STANDARD");
            w.elem("Initiated", &iso8601_ms(u.initiated_ms));
            w.close("Upload");
        }
        for p in &self.common_prefixes {
            w.open("CommonPrefixes");
            w.elem("Prefix", &enc(p));
            w.close("CommonPrefixes");
        }
        w.close("ListMultipartUploadsResult");
        w.finish()
    }
}
