//! Canonicalisation pieces shared by SigV4 header auth, presigned URLs and SigV2:
//! AWS URI encoding, query splitting/decoding, and header value normalisation.

use std::borrow::Cow;

use percent_encoding::{percent_decode, percent_encode, AsciiSet, NON_ALPHANUMERIC};

use super::HeaderSource;

/// Every byte except AWS's unreserved set `A-Za-z0-9-_.~` is `%XX`-encoded (uppercase hex).
pub(crate) const AWS_ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Appends the AWS URI encoding of `bytes` to `out`.
pub(crate) fn aws_encode_into(bytes: &[u8], out: &mut String) {
    for piece in percent_encode(bytes, AWS_ENCODE) {
        out.push_str(piece);
    }
}

/// The AWS URI encoding of `bytes`.
pub fn aws_encode(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len());
    aws_encode_into(bytes, &mut s);
    s
}

/// One `name[=value]` piece of a raw query string, still percent-encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RawParam<'a> {
    pub name: &'a str,
    /// `None` when the piece has no `=` at all (`?acl`), which SigV2 distinguishes.
    pub value: Option<&'a str>,
}

/// Splits a raw query on `&`, skipping empty pieces (`a=1&&b=2`, trailing `&`).
pub(crate) fn raw_params(query: &str) -> impl Iterator<Item = RawParam<'_>> {
    query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((name, value)) => RawParam {
                name,
                value: Some(value),
            },
            None => RawParam {
                name: p,
                value: None,
            },
        })
}

/// Decodes a query component: `+` means space (as Go's `url.Query`, hence MinIO and
/// aws-sdk-go, read it), then `%XX`. Invalid escapes are kept literally.
pub(crate) fn query_decode(s: &str) -> Cow<'_, [u8]> {
    let b = s.as_bytes();
    if !b.iter().any(|&c| c == b'+' || c == b'%') {
        return Cow::Borrowed(b);
    }
    let spaced: Vec<u8> = b
        .iter()
        .map(|&c| if c == b'+' { b' ' } else { c })
        .collect();
    Cow::Owned(percent_decode(&spaced).collect())
}

/// Decodes `%XX` only (no `+` → space): for base64 signatures, where `+` is data.
pub(crate) fn percent_only_decode(s: &str) -> Cow<'_, [u8]> {
    percent_decode(s.as_bytes()).into()
}

/// Finds the single parameter whose decoded name equals `name` and returns its decoded
/// value as UTF-8. `Ok(None)` if absent; `Err(())` if repeated or not UTF-8.
pub(crate) fn query_param(
    query: &str,
    name: &str,
    plus_is_space: bool,
) -> Result<Option<String>, ()> {
    let mut found = None;
    for p in raw_params(query) {
        if *query_decode(p.name) != *name.as_bytes() {
            continue;
        }
        if found.is_some() {
            return Err(());
        }
        let raw = p.value.unwrap_or("");
        let v = if plus_is_space {
            query_decode(raw)
        } else {
            percent_only_decode(raw)
        };
        found = Some(String::from_utf8(v.into_owned()).map_err(|_| ())?);
    }
    Ok(found)
}

/// Whether the query has a parameter with this (decoded) name.
pub(crate) fn has_param(query: &str, name: &str) -> bool {
    raw_params(query).any(|p| *query_decode(p.name) == *name.as_bytes())
}

/// SigV4 canonical query string: every parameter (except `skip`) decoded, re-encoded with
/// the AWS rules, a missing value as empty, sorted by name then value.
///
/// Decoding first and re-encoding makes the result independent of how the client chose to
/// escape the query on the wire (`%7e` vs `~`, `%2f` vs `%2F`).
pub(crate) fn canonical_query(raw_query: &str, skip: Option<&str>) -> String {
    let mut pairs: Vec<(String, String)> = raw_params(raw_query)
        .filter_map(|p| {
            let name = query_decode(p.name);
            if skip.is_some_and(|s| *name == *s.as_bytes()) {
                return None;
            }
            let value = query_decode(p.value.unwrap_or(""));
            Some((aws_encode(&name), aws_encode(&value)))
        })
        .collect();
    // Sorting the encoded forms is what the AWS SDKs do (botocore sorts the quoted pairs).
    pairs.sort_unstable();
    let mut out = String::with_capacity(raw_query.len() + 8);
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(n);
        out.push('=');
        out.push_str(v);
    }
    out
}

/// The alternative canonical URI for clients that escape the path differently from AWS:
/// each segment is decoded and re-encoded with the AWS rules (`%2F` inside a segment stays
/// `%2F`, so the segment structure, and thus the object addressed, is unchanged).
/// Returns `None` when it equals the path as sent.
pub(crate) fn normalized_path(raw_path: &str) -> Option<String> {
    let mut out = String::with_capacity(raw_path.len() + 8);
    for (i, seg) in raw_path.split('/').enumerate() {
        if i > 0 {
            out.push('/');
        }
        aws_encode_into(&percent_only_decode(seg), &mut out);
    }
    (out != raw_path && !out.is_empty()).then_some(out)
}

/// Appends a header value trimmed, with runs of spaces/tabs collapsed to one space
/// (the SigV4 "Trimall" rule).
pub(crate) fn push_trimmed(value: &[u8], out: &mut Vec<u8>) {
    let mut pending_space = false;
    let mut wrote = false;
    for &b in value {
        if b == b' ' || b == b'\t' {
            pending_space = wrote;
            continue;
        }
        if pending_space {
            out.push(b' ');
            pending_space = false;
        }
        out.push(b);
        wrote = true;
    }
}

/// The first value of header `name` (lowercase), if any.
pub(crate) fn header<'s, H: HeaderSource + ?Sized>(headers: &'s H, name: &str) -> Option<&'s [u8]> {
    headers.values(name).next()
}
