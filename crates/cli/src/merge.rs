//! `bertlens merge`: shard reports into the report of the whole set; and
//! how every report is written: `report.json`, and beside a whole set's a
//! self-contained `report.html` (the report and the page's workbench views
//! inlined, no request to anywhere: see `html`) that opens offline.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use bertlens_core::analysis::Report;

use crate::html;

/// Reads shard reports, merges them and writes the whole set's report.
pub fn run(files: &[PathBuf], out: &Path) -> Result<ExitCode, String> {
    check_out(out)?;
    let mut reports = Vec::with_capacity(files.len());
    for f in files {
        let text =
            std::fs::read_to_string(f).map_err(|e| format!("cannot read {}: {e}", f.display()))?;
        let r: Report = serde_json::from_str(&text)
            .map_err(|e| format!("{} is not a bertlens report: {e}", f.display()))?;
        reports.push(r);
    }
    let report = Report::merge(reports).map_err(|e| e.to_string())?;
    let path = write_report(&report, out)?;
    eprintln!(
        "bertlens: merged {} shard(s), {} rows; accuracy {:.4}; wrote {}",
        files.len(),
        report.rows_total,
        report.accuracy,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// Checks, before any work, that a report can be written into `dir`: a
/// folder (made if missing) in which a file can be created.
pub fn check_out(dir: &Path) -> Result<(), String> {
    if dir.exists() && !dir.is_dir() {
        return Err(format!(
            "--out {} is a file: give a folder, which the report is written into \
             (report.json, report.html)",
            dir.display()
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let probe = dir.join(format!(".bertlens-{}", std::process::id()));
    std::fs::write(&probe, b"").map_err(|e| format!("cannot write into {}: {e}", dir.display()))?;
    std::fs::remove_file(&probe).ok();
    Ok(())
}

/// Writes `report.json` and `report.html` into `dir` (a shard:
/// `report-K-of-N.json` alone); returns the JSON's path.
pub fn write_report(report: &Report, dir: &Path) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let json = serde_json::to_string(report).map_err(|e| e.to_string())?;
    let name = match report.shard {
        Some(s) => format!("report-{}-of-{}.json", s.index, s.count),
        None => "report.json".into(),
    };
    let path = dir.join(name);
    std::fs::write(&path, &json).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    if report.shard.is_none() {
        let page_path = dir.join("report.html");
        let heading = format!(
            "bertlens report: {}, {} rows, accuracy {:.1}%",
            report.model,
            report.rows_total,
            100.0 * report.accuracy
        );
        std::fs::write(
            &page_path,
            html::page(&heading, &[("view", "dataset")], &json),
        )
        .map_err(|e| format!("cannot write {}: {e}", page_path.display()))?;
    }
    Ok(path)
}
