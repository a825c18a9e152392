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
}
