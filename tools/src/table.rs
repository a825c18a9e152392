//! Output formatting in the style of LeoFS's `leofs-adm`: `|`-separated tables under a
//! dashed rule, timestamps as `YYYY-MM-DD HH:MM:SS +0000`, permissions as
//! `Me(full_control), Everyone(read)`.

/// Renders a table: a header line, a `-+-` rule, then one line per row. Columns are as wide
/// as their widest cell; trailing blanks are trimmed.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let line = |cells: &mut dyn Iterator<Item = &str>| -> String {
        let padded: Vec<String> = cells.zip(&widths).map(|(c, w)| format!("{c:<w$}")).collect();
        padded.join(" | ").trim_end().to_owned()
    };
    let mut out = line(&mut headers.iter().copied());
    out.push('\n');
    // Each column's dashes also cover the blanks around its `|`, as LeoFS draws it.
    let last = widths.len().saturating_sub(1);
    let rule: Vec<String> = widths
        .iter()
        .enumerate()
        .map(|(i, w)| "-".repeat(w + usize::from(i > 0) + usize::from(i < last)))
        .collect();
    out.push_str(&rule.join("+"));
    out.push('\n');
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
        out.push('\n');
    }
    out
}

/// `2024-05-06T07:08:09.123Z` (the API's form) as `2024-05-06 07:08:09 +0000` (LeoFS's);
/// anything else is shown as it came.
pub fn leofs_time(iso: &str) -> String {
    let ok = iso.len() >= 19 && iso.is_char_boundary(10) && iso.is_char_boundary(19) && iso.ends_with('Z');
    if !ok || iso.as_bytes()[10] != b'T' {
        return iso.to_owned();
    }
    format!("{} {} +0000", &iso[..10], &iso[11..19])
}

/// A canned ACL as LeoFS's `get-buckets` shows it.
pub fn permissions(acl: &str) -> String {
    match acl {
        "private" => "Me(full_control)".to_owned(),
        "public-read" => "Me(full_control), Everyone(read)".to_owned(),
        "public-read-write" => "Me(full_control), Everyone(read,write)".to_owned(),
        other => other.to_owned(),
    }
}

/// A role as LeoFS's numeric `role_id` (1 = general user, 9 = admin).
pub fn role_id(role: &str) -> String {
    match role {
        "admin" => "9".to_owned(),
        "normal" => "1".to_owned(),
        other => other.to_owned(),
    }
}

/// A RING checksum as the node table shows it: its first 8 hex digits (LeoFS shows 8);
/// `-` for none yet (all zeros: no RING).
pub fn short_checksum(hex: &str) -> String {
    if hex.is_empty() || hex.bytes().all(|b| b == b'0') {
        return "-".to_owned();
    }
    hex.chars().take(8).collect()
}

/// Unix microseconds as `YYYY-MM-DD HH:MM:SS +0000`.
pub fn utc_time_us(us: i64) -> String {
    let secs = us.div_euclid(1_000_000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} +0000", rem / 3600, rem % 3600 / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_like_leofs() {
        let rows = vec![
            vec!["root".to_owned(), "9".to_owned(), "LEOAAAAAAAAAAAAAAAAA".to_owned()],
            vec!["alice@example.com".to_owned(), "1".to_owned(), String::new()],
        ];
        let t = render(&["user_id", "role_id", "access_key_id"], &rows);
        let expected = "\
user_id           | role_id | access_key_id
------------------+---------+---------------------
root              | 9       | LEOAAAAAAAAAAAAAAAAA
alice@example.com | 1       |
";
        assert_eq!(t, expected);
    }

    #[test]
    fn empty_table_has_header_and_rule() {
        assert_eq!(render(&["bucket", "owner"], &[]), "bucket | owner\n-------+------\n");
    }

    #[test]
    fn times_permissions_and_roles() {
        assert_eq!(leofs_time("2024-05-06T07:08:09.123Z"), "2024-05-06 07:08:09 +0000");
        assert_eq!(leofs_time("yesterday"), "yesterday");
        assert_eq!(leofs_time("2024-05-06 07:08:09.123Z"), "2024-05-06 07:08:09.123Z");
        assert_eq!(permissions("public-read"), "Me(full_control), Everyone(read)");
        assert_eq!(permissions("private"), "Me(full_control)");
        assert_eq!(role_id("admin"), "9");
        assert_eq!(role_id("auditor"), "auditor");
    }

    #[test]
    fn checksums_and_clock_times() {
        assert_eq!(short_checksum("433fe365a0b1c2d3"), "433fe365");
        assert_eq!(short_checksum("0000000000000000"), "-");
        assert_eq!(short_checksum(""), "-");
        assert_eq!(utc_time_us(0), "1970-01-01 00:00:00 +0000");
        assert_eq!(utc_time_us(1_717_243_200_123_456), "2024-06-01 12:00:00 +0000");
        assert_eq!(utc_time_us(951_782_400_000_000), "2000-02-29 00:00:00 +0000");
        assert_eq!(utc_time_us(-1), "1969-12-31 23:59:59 +0000");
    }
}
