//! S3 XML bodies: readers for the few documents clients send, writers for the responses.
//!
//! * [`read`]: `Delete`, `CreateBucketConfiguration`, `CompleteMultipartUpload`. They take
//!   a body the caller has already size-bounded, tolerate namespaces, and turn anything
//!   unexpected into `MalformedXML` without panicking.
//! * [`list`]: `ListAllMyBucketsResult`, `ListBucketResult` (v1 and v2).
//! * [`docs`]: every other response document (ACL, delete result, multipart, copy…).
//!
//! The writers emit byte-exact AWS shapes: `<?xml …?>\n`, then the root with the S3
//! namespace and no whitespace between elements. This module also holds the shared
//! helpers: [`XmlWriter`], [`escape`], S3's `encoding-type=url` encoder and timestamps.

pub mod docs;
pub mod list;
pub mod read;

#[cfg(test)]
mod docs_tests;

pub use docs::*;
pub use list::*;
pub use read::*;

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use time::OffsetDateTime;

/// The namespace S3 puts on every response root element.
pub const S3_XMLNS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

const DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";

/// A minimal append-only XML writer. Element names are trusted constants; text is escaped.
#[derive(Debug)]
pub struct XmlWriter {
    buf: String,
}

impl Default for XmlWriter {
    fn default() -> Self {
        Self::new()
    }
}

impl XmlWriter {
    /// A writer that already holds the XML declaration.
    pub fn new() -> Self {
        let mut buf = String::with_capacity(256);
        buf.push_str(DECLARATION);
        XmlWriter { buf }
    }

    /// `<name>`
    pub fn open(&mut self, name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// `<name xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`, for root elements.
    pub fn open_root(&mut self, name: &str) {
        self.buf.push('<');
        self.buf.push_str(name);
        self.buf.push_str(" xmlns=\"");
        self.buf.push_str(S3_XMLNS);
        self.buf.push_str("\">");
    }

    /// `<name xmlns="…"/>`, a root element with no content.
    pub fn empty_root(&mut self, name: &str) {
        self.open_root(name);
        // Turn the just-written `>` into `/>`.
        self.buf.pop();
        self.buf.push_str("/>");
    }

    /// Appends pre-built markup verbatim (attributes the helpers do not cover).
    pub fn raw(&mut self, markup: &str) {
        self.buf.push_str(markup);
    }

    /// `</name>`
    pub fn close(&mut self, name: &str) {
        self.buf.push_str("</");
        self.buf.push_str(name);
        self.buf.push('>');
    }

    /// Escaped character data inside the current element.
    pub fn text(&mut self, text: &str) {
        escape_into(&mut self.buf, text);
    }

    /// `<name>text</name>` with `text` escaped.
    pub fn elem(&mut self, name: &str, text: &str) {
        self.open(name);
        self.text(text);
        self.close(name);
    }

    /// `<name>text</name>` when `text` is `Some`, nothing otherwise.
    pub fn opt_elem(&mut self, name: &str, text: Option<&str>) {
        if let Some(text) = text {
            self.elem(name, text);
        }
    }

    /// `<name>value</name>` for numbers and booleans.
    pub fn display_elem(&mut self, name: &str, value: impl std::fmt::Display) {
        self.elem(name, &value.to_string());
    }

    /// The finished document.
    pub fn finish(self) -> Vec<u8> {
        self.buf.into_bytes()
    }
}

/// Escapes text for element content or attribute values.
///
/// The five predefined entities, plus character references for control characters:
/// `\r` and `\n` would otherwise be normalised away by XML parsers (AWS also writes them as
/// references), and the other C0 controls cannot appear literally in XML 1.0 at all.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    escape_into(&mut out, text);
    out
}

fn escape_into(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 => {
                out.push_str("&#");
                out.push_str(&(c as u32).to_string());
                out.push(';');
            }
            c => out.push(c),
        }
    }
}

/// Bytes S3's `encoding-type=url` leaves alone: RFC 3986 unreserved plus `/`.
const URL_KEEP: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

/// S3's `encoding-type=url` form of a key or prefix: percent-encode every byte except
/// unreserved characters and `/`. `+` and space are both encoded, so clients that decode
/// with `unquote_plus` (botocore) and with plain percent-decoding (JS SDK) agree.
pub fn url_encode(value: &str) -> String {
    utf8_percent_encode(value, URL_KEEP).to_string()
}

/// `value` as written into a listing: URL-encoded when the client asked for it.
pub(crate) fn maybe_url_encode(value: &str, encode: bool) -> String {
    if encode {
        url_encode(value)
    } else {
        value.to_owned()
    }
}

/// `"etag"`: quotes an ETag for XML and headers, leaving an already quoted one alone.
pub fn quote_etag(etag: &str) -> String {
    if etag.len() >= 2 && etag.starts_with('"') && etag.ends_with('"') {
        etag.to_owned()
    } else {
        format!("\"{etag}\"")
    }
}

/// Unix milliseconds clamped to years 1..=9999, the range both formats can express.
fn datetime(unix_ms: i64) -> OffsetDateTime {
    const MIN_MS: i64 = -62_135_596_800_000; // 0001-01-01T00:00:00Z
    const MAX_MS: i64 = 253_402_300_799_999; // 9999-12-31T23:59:59.999Z
    let ms = unix_ms.clamp(MIN_MS, MAX_MS);
    let nanos = i128::from(ms) * 1_000_000;
    OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

/// ISO 8601 with milliseconds, as in listings: `2009-10-12T17:50:30.000Z`.
pub fn iso8601_ms(unix_ms: i64) -> String {
    let t = datetime(unix_ms);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// RFC 1123 HTTP-date for `Last-Modified`: `Mon, 12 Oct 2009 17:50:30 GMT`.
///
/// Written here rather than with `httpdate`, whose formatter panics outside 1970..9999.
pub fn http_date(unix_ms: i64) -> String {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let t = datetime(unix_ms);
    let day = DAYS
        .get(usize::from(t.weekday().number_days_from_monday()))
        .unwrap_or(&"Mon");
    let month = MONTHS
        .get(usize::from(u8::from(t.month())).saturating_sub(1))
        .unwrap_or(&"Jan");
    format!(
        "{day}, {:02} {month} {:04} {:02}:{:02}:{:02} GMT",
        t.day(),
        t.year(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Parses an HTTP-date (`If-Modified-Since` and friends) into unix milliseconds.
pub fn parse_http_date(value: &str) -> Option<i64> {
    let t = httpdate::parse_http_date(value.trim()).ok()?;
    let secs = t.duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
    i64::try_from(secs).ok()?.checked_mul(1000)
}

/// Fuzz entry point: runs every reader on `data` and the escapers on its text; none of
/// them may panic, whatever the bytes.
pub fn fuzz_xml(data: &[u8]) {
    let _ = read::parse_delete_objects(data);
    let _ = read::parse_create_bucket_configuration(data);
    let _ = read::parse_complete_multipart(data);
    let text = String::from_utf8_lossy(data);
    let _ = escape(&text);
    let _ = url_encode(&text);
    let _ = parse_http_date(&text);
    if let Some(chunk) = data.get(..8).and_then(|b| <[u8; 8]>::try_from(b).ok()) {
        let ms = i64::from_le_bytes(chunk);
        let _ = (iso8601_ms(ms), http_date(ms));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_specials_and_controls() {
        assert_eq!(escape("<&>\"'"), "&lt;&amp;&gt;&quot;&apos;");
        assert_eq!(escape("a\r\nb\tc\u{1}"), "a&#13;&#10;b&#9;c&#1;");
        assert_eq!(escape("héllo/ü"), "héllo/ü");
    }

    #[test]
    fn url_encoding_keeps_slash_only() {
        assert_eq!(url_encode("a b+c/d~e_f-g.h"), "a%20b%2Bc/d~e_f-g.h");
        assert_eq!(url_encode("ü&="), "%C3%BC%26%3D");
        assert_eq!(url_encode("\n"), "%0A");
    }

    #[test]
    fn timestamps() {
        assert_eq!(iso8601_ms(1_255_369_830_000), "2009-10-12T17:50:30.000Z");
        assert_eq!(iso8601_ms(1_255_369_830_123), "2009-10-12T17:50:30.123Z");
        assert_eq!(iso8601_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(iso8601_ms(-1), "1969-12-31T23:59:59.999Z");
        assert_eq!(iso8601_ms(i64::MAX), "9999-12-31T23:59:59.999Z");
        assert_eq!(iso8601_ms(i64::MIN), "0001-01-01T00:00:00.000Z");
        assert_eq!(
            http_date(1_255_369_830_999),
            "Mon, 12 Oct 2009 17:50:30 GMT"
        );
        assert_eq!(http_date(784_111_777_000), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(i64::MAX), "Fri, 31 Dec 9999 23:59:59 GMT");
        assert_eq!(
            parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"),
            Some(784_111_777_000)
        );
        assert_eq!(parse_http_date("yesterday"), None);
    }

    #[test]
    fn writer_shapes() {
        let mut w = XmlWriter::new();
        w.empty_root("VersioningConfiguration");
        assert_eq!(
            String::from_utf8(w.finish()).unwrap(),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"/>"
        );
        assert_eq!(quote_etag("abc"), "\"abc\"");
        assert_eq!(quote_etag("\"abc\""), "\"abc\"");
        assert_eq!(quote_etag("\""), "\"\"\"");
    }

    /// xorshift64*: deterministic, so a failure reproduces from the seed alone.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn fuzz_xml_never_panics() {
        let seeds: [&[u8]; 4] = [
            b"<Delete><Quiet>true</Quiet><Object><Key>a&amp;b</Key></Object></Delete>",
            b"<CreateBucketConfiguration><LocationConstraint>eu</LocationConstraint></CreateBucketConfiguration>",
            b"<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>\"x\"</ETag></Part></CompleteMultipartUpload>",
            b"<a><b><![CDATA[x]]></b><!-- c --><?pi?></a>",
        ];
        let alphabet = b"<>/&;#x\"'= ![]?-CDATAKeyPart01\x00\xff\n";
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        for i in 0..4000 {
            let mut data = seeds[i % seeds.len()].to_vec();
            let edits = xorshift(&mut state) % 6;
            for _ in 0..edits {
                let r = xorshift(&mut state);
                let pos = (r >> 8) as usize % (data.len() + 1);
                let byte = alphabet[(r % alphabet.len() as u64) as usize];
                match r % 3 {
                    0 => data.insert(pos, byte),
                    1 if pos < data.len() => {
                        data.remove(pos);
                    }
                    _ => data.truncate(pos),
                }
            }
            fuzz_xml(&data);
        }
    }
}
