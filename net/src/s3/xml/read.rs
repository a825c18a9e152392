//! Readers for the XML bodies S3 clients send.
//!
//! Each body is first parsed into a small element tree (local names only, so any
//! namespace prefix is accepted), then walked. The tree is depth-limited, which also keeps
//! dropping it from recursing deeply. Anything that is not well-formed, or not the
//! expected document, becomes `MalformedXML`. The caller bounds the body size.

use quick_xml::events::Event;
use quick_xml::Reader;

use crate::s3::checksum::ChecksumAlgo;
use crate::s3::error::S3Error;

/// Most keys one `DeleteObjects` request may name (AWS's limit).
pub const MAX_DELETE_KEYS: usize = 1000;
/// Most parts one `CompleteMultipartUpload` may list (AWS's limit).
pub const MAX_PARTS: usize = 10_000;
/// Deepest element nesting accepted; real documents need 3.
const MAX_DEPTH: usize = 16;

/// A parsed `<Delete>` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteRequest {
    /// `<Quiet>true</Quiet>`: report only failures.
    pub quiet: bool,
    /// `(key, version_id)` in request order.
    pub objects: Vec<(String, Option<String>)>,
}

/// One `<Part>` of a `CompleteMultipartUpload` body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletedPart {
    pub part_number: u32,
    /// The ETag without surrounding quotes.
    pub etag: String,
    /// `<ChecksumCRC32>` and friends, base64 as sent.
    pub checksums: Vec<(ChecksumAlgo, String)>,
}

/// An element: its local name, its direct text (text and CDATA, unescaped, untrimmed:
/// keys may start or end with spaces) and its child elements.
#[derive(Debug, Default)]
struct Element {
    name: String,
    text: String,
    children: Vec<Element>,
}

impl Element {
    fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The only child called `name`: `None` if absent, MalformedXML if repeated.
    fn single<'a>(&'a self, name: &'a str) -> Result<Option<&'a Element>, S3Error> {
        let mut it = self.children_named(name);
        let first = it.next();
        if it.next().is_some() {
            return Err(S3Error::malformed_xml());
        }
        Ok(first)
    }
}

fn local_name(qname: &[u8]) -> Result<String, S3Error> {
    // `s3:Key` → `Key`: the namespace is ignored, as S3 itself is lenient about it.
    let local = match qname.iter().rposition(|&b| b == b':') {
        Some(i) => qname.get(i + 1..).unwrap_or_default(),
        None => qname,
    };
    String::from_utf8(local.to_vec()).map_err(|_| S3Error::malformed_xml())
}

/// Parses `body` into its root element, or `None` for a body that is empty or only
/// whitespace (some documents are optional).
fn parse_tree(body: &[u8]) -> Result<Option<Element>, S3Error> {
    let mut reader = Reader::from_reader(body);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    loop {
        let event = reader.read_event().map_err(|_| S3Error::malformed_xml())?;
        match event {
            Event::Start(_) | Event::Empty(_) if root.is_some() => {
                return Err(S3Error::malformed_xml()); // a second root element
            }
            Event::Start(e) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(S3Error::malformed_xml());
                }
                let name = local_name(e.name().as_ref())?;
                stack.push(Element {
                    name,
                    ..Element::default()
                });
            }
            Event::Empty(e) => {
                let el = Element {
                    name: local_name(e.name().as_ref())?,
                    ..Element::default()
                };
                attach(&mut stack, &mut root, el);
            }
            Event::End(_) => {
                // check_end_names guarantees the name matches the open element.
                let el = stack.pop().ok_or_else(S3Error::malformed_xml)?;
                attach(&mut stack, &mut root, el);
            }
            Event::Text(t) => {
                let text = t.unescape().map_err(|_| S3Error::malformed_xml())?;
                match stack.last_mut() {
                    Some(top) => top.text.push_str(&text),
                    // Outside the root only whitespace is allowed.
                    None if text.trim().is_empty() => {}
                    None => return Err(S3Error::malformed_xml()),
                }
            }
            Event::CData(c) => {
                let top = stack.last_mut().ok_or_else(S3Error::malformed_xml)?;
                let text = std::str::from_utf8(&c).map_err(|_| S3Error::malformed_xml())?;
                top.text.push_str(text);
            }
            // A DTD could declare entities; no S3 body has one, so refuse it outright.
            Event::DocType(_) => return Err(S3Error::malformed_xml()),
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return Err(S3Error::malformed_xml()); // truncated document
    }
    Ok(root)
}

fn attach(stack: &mut [Element], root: &mut Option<Element>, el: Element) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(el),
        None => *root = Some(el),
    }
}

/// The root element, which must be called `name`.
fn expect_root(body: &[u8], name: &str) -> Result<Option<Element>, S3Error> {
    match parse_tree(body)? {
        Some(root) if root.name == name => Ok(Some(root)),
        Some(_) => Err(S3Error::malformed_xml()),
        None => Ok(None),
    }
}

/// Parses a `DeleteObjects` (`POST ?delete`) body.
///
/// Errors (all MalformedXML): not well-formed, wrong root, no `<Object>` or more than
/// [`MAX_DELETE_KEYS`], an object without a non-empty `<Key>`, a `<Quiet>` that is not a
/// boolean.
pub fn parse_delete_objects(body: &[u8]) -> Result<DeleteRequest, S3Error> {
    let root = expect_root(body, "Delete")?.ok_or_else(S3Error::malformed_xml)?;
    let quiet = match root.single("Quiet")? {
        None => false,
        Some(q) => parse_bool(&q.text).ok_or_else(S3Error::malformed_xml)?,
    };
    let mut objects = Vec::new();
    for obj in root.children_named("Object") {
        if objects.len() >= MAX_DELETE_KEYS {
            return Err(S3Error::malformed_xml());
        }
        let key = obj.single("Key")?.ok_or_else(S3Error::malformed_xml)?;
        if key.text.is_empty() {
            return Err(S3Error::malformed_xml());
        }
        let version = obj.single("VersionId")?.map(|v| v.text.trim().to_owned());
        objects.push((key.text.clone(), version));
    }
    if objects.is_empty() {
        return Err(S3Error::malformed_xml());
    }
    Ok(DeleteRequest { quiet, objects })
}

fn parse_bool(s: &str) -> Option<bool> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// Parses a `CreateBucket` body: the `LocationConstraint`, or `None` when the body is
/// empty (the usual case) or the constraint is empty.
pub fn parse_create_bucket_configuration(body: &[u8]) -> Result<Option<String>, S3Error> {
    let Some(root) = expect_root(body, "CreateBucketConfiguration")? else {
        return Ok(None);
    };
    let location = root
        .single("LocationConstraint")?
        .map(|l| l.text.trim().to_owned());
    Ok(location.filter(|l| !l.is_empty()))
}

/// Parses a `CompleteMultipartUpload` body into its parts.
///
/// MalformedXML for a bad document, no parts, more than [`MAX_PARTS`], or a part missing
/// its number or ETag; InvalidArgument for a part number outside 1..=10000;
/// InvalidPartOrder unless the numbers are strictly ascending (as AWS requires).
pub fn parse_complete_multipart(body: &[u8]) -> Result<Vec<CompletedPart>, S3Error> {
    let root = expect_root(body, "CompleteMultipartUpload")?.ok_or_else(S3Error::malformed_xml)?;
    let mut parts: Vec<CompletedPart> = Vec::new();
    for part in root.children_named("Part") {
        if parts.len() >= MAX_PARTS {
            return Err(S3Error::malformed_xml());
        }
        let number = part
            .single("PartNumber")?
            .ok_or_else(S3Error::malformed_xml)?;
        let part_number = parse_part_number(number.text.trim())?;
        let etag = part.single("ETag")?.ok_or_else(S3Error::malformed_xml)?;
        let etag = etag.text.trim();
        let etag = etag
            .strip_prefix('"')
            .and_then(|e| e.strip_suffix('"'))
            .unwrap_or(etag);
        let mut checksums = Vec::new();
        for algo in ChecksumAlgo::ALL {
            if let Some(c) = part.single(algo.xml_element())? {
                checksums.push((algo, c.text.trim().to_owned()));
            }
        }
        if parts
            .last()
            .is_some_and(|prev| prev.part_number >= part_number)
        {
            return Err(S3Error::invalid_part_order());
        }
        parts.push(CompletedPart {
            part_number,
            etag: etag.to_owned(),
            checksums,
        });
    }
    if parts.is_empty() {
        return Err(S3Error::malformed_xml());
    }
    Ok(parts)
}

/// A part number: an integer in 1..=10000 (MalformedXML if not a number at all).
fn parse_part_number(s: &str) -> Result<u32, S3Error> {
    let n: u64 = s.parse().map_err(|_| S3Error::malformed_xml())?;
    match u32::try_from(n) {
        Ok(n) if (1..=10_000).contains(&n) => Ok(n),
        _ => Err(S3Error::invalid_argument(
            "Part number must be an integer between 1 and 10000, inclusive",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::s3::error::S3ErrorCode;

    fn code<T: std::fmt::Debug>(r: Result<T, S3Error>) -> S3ErrorCode {
        r.unwrap_err().code
    }

    #[test]
    fn delete_objects() {
        let body = br#"<?xml version="1.0" encoding="UTF-8"?>
<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Quiet>true</Quiet>
  <Object><Key> a&amp;b&lt;&gt;&quot;&apos;&#13;&#10; </Key></Object>
  <Object><Key><![CDATA[c<d]]></Key><VersionId>v1</VersionId><ETag>"x"</ETag></Object>
</Delete>"#;
        let r = parse_delete_objects(body).unwrap();
        assert!(r.quiet);
        assert_eq!(
            r.objects,
            vec![
                (" a&b<>\"'\r\n ".to_owned(), None),
                ("c<d".to_owned(), Some("v1".to_owned()))
            ]
        );
        let prefixed =
            b"<s3:Delete xmlns:s3=\"x\"><s3:Object><s3:Key>k</s3:Key></s3:Object></s3:Delete>";
        let r = parse_delete_objects(prefixed).unwrap();
        assert!(!r.quiet);
        assert_eq!(r.objects, vec![("k".to_owned(), None)]);
    }

    #[test]
    fn delete_objects_limits_and_garbage() {
        let many = |n: usize| {
            let mut s = String::from("<Delete>");
            for i in 0..n {
                s.push_str(&format!("<Object><Key>k{i}</Key></Object>"));
            }
            s.push_str("</Delete>");
            s
        };
        assert_eq!(
            parse_delete_objects(many(1000).as_bytes())
                .unwrap()
                .objects
                .len(),
            1000
        );
        let too_many = many(1001);
        let malformed: &[&[u8]] = &[
            too_many.as_bytes(),
            b"",
            b"<Delete></Delete>",
            b"<Delete><Object><Key>a</Key></Object>",
            b"<Delete><Object><Key>a</Object></Key></Delete>",
            b"<Delete><Object></Object></Delete>",
            b"<Delete><Object><Key></Key></Object></Delete>",
            b"<Delete><Object><Key>a</Key><Key>b</Key></Object></Delete>",
            b"<Delete><Quiet>maybe</Quiet><Object><Key>a</Key></Object></Delete>",
            b"<Other><Object><Key>a</Key></Object></Other>",
            b"<Delete><Object><Key>a&bogus;</Key></Object></Delete>",
            b"<!DOCTYPE d [<!ENTITY e \"x\">]><Delete><Object><Key>&e;</Key></Object></Delete>",
            b"<Delete><Object><Key>a</Key></Object></Delete><Delete/>",
            b"junk<Delete><Object><Key>a</Key></Object></Delete>",
            b"<Delete><Object><Key>\xff</Key></Object></Delete>",
            b"<a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a><a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a></a>",
        ];
        for body in malformed {
            assert_eq!(
                code(parse_delete_objects(body)),
                S3ErrorCode::MalformedXML,
                "{body:?}"
            );
        }
    }

    #[test]
    fn create_bucket_configuration() {
        assert_eq!(parse_create_bucket_configuration(b"").unwrap(), None);
        assert_eq!(parse_create_bucket_configuration(b" \r\n").unwrap(), None);
        let body = b"<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">\
            <LocationConstraint> eu-west-1 </LocationConstraint></CreateBucketConfiguration>";
        assert_eq!(
            parse_create_bucket_configuration(body).unwrap().as_deref(),
            Some("eu-west-1")
        );
        let empty = b"<CreateBucketConfiguration><LocationConstraint/></CreateBucketConfiguration>";
        assert_eq!(parse_create_bucket_configuration(empty).unwrap(), None);
        assert_eq!(
            parse_create_bucket_configuration(b"<CreateBucketConfiguration/>").unwrap(),
            None
        );
        for bad in [&b"<Foo/>"[..], b"<CreateBucketConfiguration>", b"not xml"] {
            assert_eq!(
                code(parse_create_bucket_configuration(bad)),
                S3ErrorCode::MalformedXML
            );
        }
    }

    #[test]
    fn complete_multipart() {
        let body = br#"<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Part><ETag>"a54357aff0632cce46d942af68356b38"</ETag><PartNumber>1</PartNumber>
        <ChecksumCRC32>/8xC1Q==</ChecksumCRC32></Part>
  <Part><PartNumber> 3 </PartNumber><ETag>&quot;0c78aef83f66abc1fa1e8477f296d394&quot;</ETag></Part>
</CompleteMultipartUpload>"#;
        let parts = parse_complete_multipart(body).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].part_number, 1);
        assert_eq!(parts[0].etag, "a54357aff0632cce46d942af68356b38");
        assert_eq!(
            parts[0].checksums,
            vec![(ChecksumAlgo::Crc32, "/8xC1Q==".to_owned())]
        );
        assert_eq!(parts[1].part_number, 3);
        assert_eq!(parts[1].etag, "0c78aef83f66abc1fa1e8477f296d394");
        assert!(parts[1].checksums.is_empty());
    }

    #[test]
    fn complete_multipart_errors() {
        let p = |n: &str| format!("<Part><PartNumber>{n}</PartNumber><ETag>e</ETag></Part>");
        let doc =
            |parts: &str| format!("<CompleteMultipartUpload>{parts}</CompleteMultipartUpload>");
        let cases = [
            (doc(""), S3ErrorCode::MalformedXML),
            (doc(&p("x")), S3ErrorCode::MalformedXML),
            (doc(&p("-1")), S3ErrorCode::MalformedXML),
            (doc(&p("0")), S3ErrorCode::InvalidArgument),
            (doc(&p("10001")), S3ErrorCode::InvalidArgument),
            (doc(&p("99999999999999999999")), S3ErrorCode::MalformedXML),
            (doc(&(p("2") + &p("1"))), S3ErrorCode::InvalidPartOrder),
            (doc(&(p("2") + &p("2"))), S3ErrorCode::InvalidPartOrder),
            (
                doc("<Part><PartNumber>1</PartNumber></Part>"),
                S3ErrorCode::MalformedXML,
            ),
            ("<Complete/>".to_owned(), S3ErrorCode::MalformedXML),
            (String::new(), S3ErrorCode::MalformedXML),
        ];
        for (body, want) in cases {
            assert_eq!(
                code(parse_complete_multipart(body.as_bytes())),
                want,
                "{body}"
            );
        }
        let all: String = (1..=10_000).map(|n| p(&n.to_string())).collect();
        assert_eq!(
            parse_complete_multipart(doc(&all).as_bytes())
                .unwrap()
                .len(),
            10_000
        );
    }
}
