//! Listing responses: `ListAllMyBucketsResult` and `ListBucketResult` (v1 and v2).
//!
//! Inputs are plain structs that the handler fills; each has `to_xml()`. Element order
//! follows what AWS sends (captured responses), since a few strict clients care.

use super::{iso8601_ms, maybe_url_encode, quote_etag, XmlWriter};

/// A bucket or object owner (`<Owner><ID/><DisplayName/></Owner>`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Owner {
    pub id: String,
    pub display_name: String,
}

impl Owner {
    /// Writes `<tag><ID>…</ID><DisplayName>…</DisplayName></tag>`; `tag` is `Owner` or
    /// `Initiator`.
    pub(crate) fn write(&self, w: &mut XmlWriter, tag: &str) {
        w.open(tag);
        w.elem("ID", &self.id);
        w.elem("DisplayName", &self.display_name);
        w.close(tag);
    }
}

/// One bucket in `ListBuckets`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BucketEntry {
    pub name: String,
    /// Unix milliseconds.
    pub creation_date_ms: i64,
}

/// `GET /` response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListBucketsResult {
    pub owner: Owner,
    pub buckets: Vec<BucketEntry>,
}

impl ListBucketsResult {
    pub fn to_xml(&self) -> Vec<u8> {
        let mut w = XmlWriter::new();
        w.open_root("ListAllMyBucketsResult");
        self.owner.write(&mut w, "Owner");
        w.open("Buckets");
        for b in &self.buckets {
            w.open("Bucket");
            w.elem("Name", &b.name);
            w.elem("CreationDate", &iso8601_ms(b.creation_date_ms));
            w.close("Bucket");
        }
        w.close("Buckets");
        w.close("ListAllMyBucketsResult");
        w.finish()
    }
}

/// One `<Contents>` entry of an object listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectEntry {
    pub key: String,
    /// Unix milliseconds.
    pub last_modified_ms: i64,
    /// The ETag, quoted or not: it is written quoted.
    pub etag: String,
    pub size: u64,
    /// Written when `Some`: v1 always sets it, v2 only with `fetch-owner=true`.
    pub owner: Option<Owner>,
}

impl ObjectEntry {
    fn write(&self, w: &mut XmlWriter, url: bool) {
        w.open("Contents");
        w.elem("Key", &maybe_url_encode(&self.key, url));
        w.elem("LastModified", &iso8601_ms(self.last_modified_ms));
        w.elem("ETag", &quote_etag(&self.etag));
        w.display_elem("Size", self.size);
        if let Some(owner) = &self.owner {
            owner.write(w, "Owner");
        }
        w.elem("StorageClass", "STANDARD");
        w.close("Contents");
    }
}

fn write_common_prefixes(w: &mut XmlWriter, prefixes: &[String], url: bool) {
    for p in prefixes {
        w.open("CommonPrefixes");
        w.elem("Prefix", &maybe_url_encode(p, url));
        w.close("CommonPrefixes");
    }
}

/// `GET /bucket` (ListObjects v1) response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListObjectsV1Result {
    pub bucket: String,
    pub prefix: String,
    pub marker: String,
    /// Written only when truncated and a delimiter was given, as AWS does; clients
    /// otherwise continue from the last key.
    pub next_marker: Option<String>,
    pub max_keys: u32,
    pub delimiter: Option<String>,
    /// `encoding-type=url`: Key, Prefix, Delimiter, Marker and NextMarker are URL-encoded.
    pub encoding_url: bool,
    pub is_truncated: bool,
    pub contents: Vec<ObjectEntry>,
    pub common_prefixes: Vec<String>,
}

impl ListObjectsV1Result {
    pub fn to_xml(&self) -> Vec<u8> {
        let url = self.encoding_url;
        let mut w = XmlWriter::new();
        w.open_root("ListBucketResult");
        w.elem("Name", &self.bucket);
        w.elem("Prefix", &maybe_url_encode(&self.prefix, url));
        w.elem("Marker", &maybe_url_encode(&self.marker, url));
        if self.is_truncated && self.delimiter.is_some() {
            if let Some(next) = &self.next_marker {
                w.elem("NextMarker", &maybe_url_encode(next, url));
            }
        }
        w.display_elem("MaxKeys", self.max_keys);
        if let Some(d) = &self.delimiter {
            w.elem("Delimiter", &maybe_url_encode(d, url));
        }
        if url {
            w.elem("EncodingType", "url");
        }
        w.display_elem("IsTruncated", self.is_truncated);
        for c in &self.contents {
            c.write(&mut w, url);
        }
        write_common_prefixes(&mut w, &self.common_prefixes, url);
        w.close("ListBucketResult");
        w.finish()
    }
}

/// `GET /bucket?list-type=2` response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListObjectsV2Result {
    pub bucket: String,
    pub prefix: String,
    pub start_after: Option<String>,
    pub continuation_token: Option<String>,
    pub next_continuation_token: Option<String>,
    pub max_keys: u32,
    pub delimiter: Option<String>,
    /// `encoding-type=url`: Key, Prefix, Delimiter and StartAfter are URL-encoded.
    pub encoding_url: bool,
    pub is_truncated: bool,
    /// Set `owner` on the entries for `fetch-owner=true`.
    pub contents: Vec<ObjectEntry>,
    pub common_prefixes: Vec<String>,
}

impl ListObjectsV2Result {
    /// KeyCount counts keys and common prefixes, as AWS does.
    pub fn key_count(&self) -> usize {
        self.contents
            .len()
            .saturating_add(self.common_prefixes.len())
    }

    pub fn to_xml(&self) -> Vec<u8> {
        let url = self.encoding_url;
        let mut w = XmlWriter::new();
        w.open_root("ListBucketResult");
        w.elem("Name", &self.bucket);
        w.elem("Prefix", &maybe_url_encode(&self.prefix, url));
        if let Some(s) = &self.start_after {
            w.elem("StartAfter", &maybe_url_encode(s, url));
        }
        // Tokens are opaque and never URL-encoded.
        w.opt_elem("ContinuationToken", self.continuation_token.as_deref());
        w.opt_elem(
            "NextContinuationToken",
            self.next_continuation_token.as_deref(),
        );
        w.display_elem("KeyCount", self.key_count());
        w.display_elem("MaxKeys", self.max_keys);
        if let Some(d) = &self.delimiter {
            w.elem("Delimiter", &maybe_url_encode(d, url));
        }
        if url {
            w.elem("EncodingType", "url");
        }
        w.display_elem("IsTruncated", self.is_truncated);
        for c in &self.contents {
            c.write(&mut w, url);
        }
        write_common_prefixes(&mut w, &self.common_prefixes, url);
        w.close("ListBucketResult");
        w.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

    fn s(v: Vec<u8>) -> String {
        String::from_utf8(v).unwrap()
    }

    fn owner() -> Owner {
        Owner {
            id: "05236".into(),
            display_name: "_test_leofs".into(),
        }
    }

    #[test]
    fn list_buckets_exact() {
        let r = ListBucketsResult {
            owner: owner(),
            buckets: vec![
                BucketEntry {
                    name: "photos".into(),
                    creation_date_ms: 1_255_369_830_000,
                },
                BucketEntry {
                    name: "docs".into(),
                    creation_date_ms: 1_255_369_830_042,
                },
            ],
        };
        assert_eq!(
            s(r.to_xml()),
            format!(
                "{HEAD}<ListAllMyBucketsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <Owner><ID>05236</ID><DisplayName>_test_leofs</DisplayName></Owner><Buckets>\
                 <Bucket><Name>photos</Name><CreationDate>2009-10-12T17:50:30.000Z</CreationDate></Bucket>\
                 <Bucket><Name>docs</Name><CreationDate>2009-10-12T17:50:30.042Z</CreationDate></Bucket>\
                 </Buckets></ListAllMyBucketsResult>"
            )
        );
        let empty = ListBucketsResult {
            owner: owner(),
            buckets: vec![],
        };
        assert!(s(empty.to_xml()).contains("<Buckets></Buckets>"));
    }

    fn entry(key: &str) -> ObjectEntry {
        ObjectEntry {
            key: key.into(),
            last_modified_ms: 1_296_685_780_000,
            etag: "bf1d737a4d46a19f3bced6905cc8b902".into(),
            size: 142_863,
            owner: None,
        }
    }

    #[test]
    fn list_v2_exact() {
        let r = ListObjectsV2Result {
            bucket: "example-bucket".into(),
            max_keys: 1000,
            delimiter: Some("/".into()),
            contents: vec![entry("sample.jpg")],
            common_prefixes: vec!["photos/".into()],
            ..Default::default()
        };
        assert_eq!(
            s(r.to_xml()),
            format!(
                "{HEAD}<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
                 <Name>example-bucket</Name><Prefix></Prefix><KeyCount>2</KeyCount>\
                 <MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter><IsTruncated>false</IsTruncated>\
                 <Contents><Key>sample.jpg</Key><LastModified>2011-02-02T22:29:40.000Z</LastModified>\
                 <ETag>&quot;bf1d737a4d46a19f3bced6905cc8b902&quot;</ETag><Size>142863</Size>\
                 <StorageClass>STANDARD</StorageClass></Contents>\
                 <CommonPrefixes><Prefix>photos/</Prefix></CommonPrefixes></ListBucketResult>"
            )
        );
    }

    #[test]
    fn list_v2_tokens_owner_and_url_encoding() {
        let mut e = entry("a b+c/ü&<");
        e.owner = Some(owner());
        let r = ListObjectsV2Result {
            bucket: "b".into(),
            prefix: "a b".into(),
            start_after: Some("a+".into()),
            continuation_token: Some("tok/+=".into()),
            next_continuation_token: Some("n&xt".into()),
            max_keys: 1,
            delimiter: Some(" ".into()),
            encoding_url: true,
            is_truncated: true,
            contents: vec![e],
            common_prefixes: vec![],
        };
        let xml = s(r.to_xml());
        assert!(
            xml.contains(
                "<Name>b</Name><Prefix>a%20b</Prefix><StartAfter>a%2B</StartAfter>\
             <ContinuationToken>tok/+=</ContinuationToken>\
             <NextContinuationToken>n&amp;xt</NextContinuationToken><KeyCount>1</KeyCount>\
             <MaxKeys>1</MaxKeys><Delimiter>%20</Delimiter><EncodingType>url</EncodingType>\
             <IsTruncated>true</IsTruncated><Contents><Key>a%20b%2Bc/%C3%BC%26%3C</Key>"
            ),
            "{xml}"
        );
        assert!(xml.contains(
            "<Size>142863</Size><Owner><ID>05236</ID><DisplayName>_test_leofs</DisplayName>\
             </Owner><StorageClass>STANDARD</StorageClass></Contents></ListBucketResult>"
        ));
    }

    #[test]
    fn list_v1_markers_and_escaping() {
        let mut r = ListObjectsV1Result {
            bucket: "b".into(),
            prefix: "p<".into(),
            marker: "m&".into(),
            next_marker: Some("n\"".into()),
            max_keys: 2,
            delimiter: None,
            is_truncated: true,
            contents: vec![entry("k'\r")],
            ..Default::default()
        };
        let xml = s(r.to_xml());
        assert!(
            xml.contains(
                "<Name>b</Name><Prefix>p&lt;</Prefix><Marker>m&amp;</Marker><MaxKeys>2</MaxKeys>\
             <IsTruncated>true</IsTruncated><Contents><Key>k&apos;&#13;</Key>"
            ),
            "NextMarker needs a delimiter: {xml}"
        );
        r.delimiter = Some("/".into());
        r.encoding_url = true;
        let xml = s(r.to_xml());
        assert!(
            xml.contains(
                "<Prefix>p%3C</Prefix><Marker>m%26</Marker><NextMarker>n%22</NextMarker>\
             <MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><EncodingType>url</EncodingType>\
             <IsTruncated>true</IsTruncated><Contents><Key>k%27%0D</Key>"
            ),
            "{xml}"
        );
    }
}
