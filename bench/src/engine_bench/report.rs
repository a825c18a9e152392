//! The report table.

use super::*;

pub(crate) fn info_row(workload: &str, unit: &str, v: f64) -> Row {
    Row {
        workload: workload.into(),
        unit: unit.into(),
        leofs: v,
        reference: None,
        reference_name: None,
        reference_cmd: None,
        ratio: None,
        goal: "(info)".into(),
        pass: None,
        leofs_runs: vec![v],
        reference_runs: vec![],
        note: None,
    }
}

/// The order of the two sides in one run: `true` is the engine.
pub(crate) fn sides(engine_first: bool, fio: bool) -> Vec<bool> {
    match (fio, engine_first) {
        (false, _) => vec![true],
        (true, true) => vec![true, false],
        (true, false) => vec![false, true],
    }
}

pub(crate) fn fmt_num(v: f64, unit: &str) -> String {
    match unit {
        "ops/s" => format!("{v:.0}/s"),
        "MB/s" => format!("{v:.1} MB/s"),
        "s" => format!("{v:.3} s"),
        "B" => format!("{v:.1} B"),
        _ => format!("{v:.2} {unit}"),
    }
}

/// The human table.
pub fn table(r: &Report) -> String {
    let mut lines = vec![[
        "workload".to_string(),
        "leofs".to_string(),
        "reference".to_string(),
        "ratio".to_string(),
        "goal".to_string(),
        "result".to_string(),
    ]];
    for row in &r.rows {
        lines.push([
            row.workload.clone(),
            fmt_num(row.leofs, &row.unit),
            match (&row.reference, &row.reference_name) {
                (Some(v), Some(n)) => format!("{} ({n})", fmt_num(*v, &row.unit)),
                _ => "-".into(),
            },
            row.ratio
                .map(|x| format!("{x:.2}x"))
                .unwrap_or_else(|| "-".into()),
            row.goal.clone(),
            match row.pass {
                Some(true) => "pass".into(),
                Some(false) => "FAIL".into(),
                None => "-".into(),
            },
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    let m = &r.machine;
    out.push_str(&format!(
        "machine: {} cores ({}), {:.1} GiB RAM, kernel {}, {} on {} ({}), io driver {}, {}\n",
        m.nproc,
        m.cpu_model,
        m.mem_total_gib,
        m.kernel,
        m.dir,
        m.filesystem,
        m.device,
        m.io_driver,
        m.fio_version.as_deref().unwrap_or("fio not run")
    ));
    out.push_str(&format!(
        "runs: {} x {} s per phase, medians\n\n",
        r.options.runs, r.options.seconds
    ));
    for (i, l) in lines.iter().enumerate() {
        let cells: Vec<String> = l
            .iter()
            .enumerate()
            .map(|(c, s)| {
                if c == 0 || c == 2 || c == 4 {
                    format!("{s:<w$}", w = widths[c])
                } else {
                    format!("{s:>w$}", w = widths[c])
                }
            })
            .collect();
        out.push_str(cells.join(" | ").trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(
                &widths
                    .iter()
                    .map(|w| "-".repeat(*w))
                    .collect::<Vec<_>>()
                    .join("-|-"),
            );
            out.push('\n');
        }
    }
    for row in &r.rows {
        if let Some(n) = &row.note {
            out.push_str(&format!("note on \"{}\": {n}\n", row.workload.trim()));
        }
    }
    let mut refs: Vec<(&str, &str)> = Vec::new();
    for row in &r.rows {
        if let (Some(n), Some(c)) = (&row.reference_name, &row.reference_cmd) {
            if !refs.iter().any(|(rn, _)| rn == n) {
                refs.push((n, c));
            }
        }
    }
    if !refs.is_empty() {
        out.push_str("\nreference commands:\n");
        for (n, c) in refs {
            out.push_str(&format!("  {n}: {c}\n"));
        }
    }
    let d = &r.details;
    let detail = |name: &str, v: &[Phase]| -> String {
        if v.is_empty() {
            return String::new();
        }
        let p50 = median(&v.iter().map(|p| p.lat_p50_us).collect::<Vec<_>>());
        let p99 = median(&v.iter().map(|p| p.lat_p99_us).collect::<Vec<_>>());
        let mut s = format!("  {name}: latency p50 {p50:.0} us, p99 {p99:.0} us");
        if v.iter().any(|p| p.batches > 0) {
            let rpb = median(&v.iter().map(|p| p.records_per_batch).collect::<Vec<_>>());
            let fs = median(&v.iter().map(|p| p.avg_fsync_us).collect::<Vec<_>>());
            s.push_str(&format!(
                ", {rpb:.1} records per group commit, fdatasync avg {fs:.0} us"
            ));
        }
        s.push('\n');
        s
    };
    let engine_details = [
        detail("put4k", &d.put4k),
        detail("get4k", &d.get4k),
        detail("write1m", &d.write1m),
        detail("read1m", &d.read1m),
    ]
    .concat();
    if !engine_details.is_empty() {
        out.push_str("\nengine details (medians):\n");
        out.push_str(&engine_details);
    }
    if let Some(ix) = &d.index {
        out.push_str(&format!(
            "\nindex: {} objects, avg key {:.1} B, {:.0} inserts/s (durability none), log {:.1} MB, checkpoint {:.1} MB written by close() in {:.3} s\n",
            ix.objects,
            ix.avg_key_bytes,
            ix.inserts_per_sec,
            ix.log_bytes as f64 / 1e6,
            ix.checkpoint_bytes as f64 / 1e6,
            ix.close_checkpoint_secs
        ));
        if let Some(h) = ix.heap_per_object {
            out.push_str(&format!("  index heap {h:.1} B/object including the key (bytes requested from the allocator, malloc overhead not counted)\n"));
        }
    }
    out
}

