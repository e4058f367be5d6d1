//! Reading a labelled set for `bertlens analyze`: CSV, TSV, JSON Lines or
//! one text per line, from a file or standard input. A row that cannot be
//! read as the header promises (too many or too few fields, a quote never
//! closed, text after a closing quote, a line that is not a JSON object or
//! not UTF-8) is a bad row, reported by its line in the file; the user
//! chooses whether bad rows stop the run or are skipped with a count.

use std::io::Read;
use std::path::{Path, PathBuf};

use bertlens_core::analysis::Row;
use clap::{Args, ValueEnum};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    Csv,
    Tsv,
    Jsonl,
    Text,
}

/// Where a labelled set is and how to read it (`analyze`, `probe`).
#[derive(Args)]
pub struct SetArgs {
    /// The labelled set: a .csv, .tsv, .jsonl or .txt file, or "-" for standard input (JSON Lines unless --format says).
    #[arg(long)]
    pub data: PathBuf,
    /// The file's format (default: from its extension).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// What a row that does not read as the header promises does (too many or too few fields,
    /// a quote never closed, a line that is not JSON): stop with the list, or skip it and say so.
    #[arg(long, value_enum, default_value_t = OnBadRow::Error)]
    pub on_bad_row: OnBadRow,
    /// The column (CSV/TSV header name, JSON key, or 0-based index) of the text (default: text, sentence, utterance, query…).
    #[arg(long)]
    pub text_column: Option<String>,
    /// The column of a second text (sentence pairs).
    #[arg(long)]
    pub pair_column: Option<String>,
    /// The column of the label (default: label, intent, class, category…).
    #[arg(long)]
    pub label_column: Option<String>,
}

impl SetArgs {
    /// The rows of the set (numbered from 0 in file order), as [`read`] reads them.
    pub fn read(&self) -> Result<Vec<Row>, String> {
        let cols = Columns {
            text: self.text_column.as_deref(),
            pair: self.pair_column.as_deref(),
            label: self.label_column.as_deref(),
        };
        read(&self.data, self.format, cols, self.on_bad_row)
    }
}

/// What a bad row does.
#[derive(Clone, Copy, ValueEnum, PartialEq, Eq, Default)]
pub enum OnBadRow {
    /// Stop before any row is run, listing the bad rows.
    #[default]
    Error,
    /// Leave them out, and say how many and which.
    Skip,
}

/// Which columns hold the text, the second text and the label (names or
/// 0-based indices; `None`: the usual names).
#[derive(Clone, Copy, Default)]
pub struct Columns<'a> {
    pub text: Option<&'a str>,
    pub pair: Option<&'a str>,
    pub label: Option<&'a str>,
}

const TEXT_NAMES: &[&str] = &[
    "text",
    "sentence",
    "utterance",
    "query",
    "question",
    "review",
    "content",
];
const LABEL_NAMES: &[&str] = &[
    "label", "labels", "intent", "class", "category", "target", "y",
];

/// A row that could not be read: its first line in the file, and why.
#[derive(Debug, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub reason: String,
}

/// The rows of a set, numbered from 0 in file order (bad rows skipped are
/// not numbered), and the bad rows found.
pub struct Table {
    pub rows: Vec<Row>,
    pub bad: Vec<BadRow>,
}

pub fn format_of(path: &Path, given: Option<Format>) -> Format {
    given.unwrap_or_else(|| {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_lowercase)
            .as_deref()
        {
            Some("csv") => Format::Csv,
            Some("tsv") | Some("tab") => Format::Tsv,
            Some("txt") => Format::Text,
            _ => Format::Jsonl,
        }
    })
}

/// Reads the whole set: the rows, and the bad rows as `on_bad` says. A set
/// with no rows to run is an error too.
pub fn read(
    path: &Path,
    format: Option<Format>,
    cols: Columns,
    on_bad: OnBadRow,
) -> Result<Vec<Row>, String> {
    let shown = path.display();
    let bytes = read_all(path)?;
    let format = format_of(path, format);
    let table = match format {
        Format::Csv => delimited(&bytes, b',', cols),
        Format::Tsv => delimited(&bytes, b'\t', cols),
        Format::Jsonl => json_lines(&bytes, cols),
        Format::Text => Ok(text_lines(&bytes)),
    }
    .map_err(|e| format!("{shown}: {e}"))?;
    if !table.bad.is_empty() {
        let listed: Vec<String> = table
            .bad
            .iter()
            .take(5)
            .map(|b| format!("line {}: {}", b.line, b.reason))
            .collect();
        let more = match table.bad.len() {
            n if n > 5 => format!(" (and {} more)", n - 5),
            _ => String::new(),
        };
        let n = table.bad.len();
        match on_bad {
            OnBadRow::Error => {
                return Err(format!(
                    "{shown}: {n} bad row(s): {}{more}; fix them, or leave them out with \
                     --on-bad-row skip",
                    listed.join("; ")
                ))
            }
            OnBadRow::Skip => {
                eprintln!(
                    "bertlens: warning: {shown}: skipped {n} bad row(s): {}{more}",
                    listed.join("; ")
                );
            }
        }
    }
    if table.rows.is_empty() {
        return Err(match (format, table.bad.len()) {
            (_, n) if n > 0 => format!("{shown}: no rows are left after skipping {n} bad row(s)"),
            (Format::Csv | Format::Tsv, _) => format!("{shown} has a header but no rows"),
            _ => format!("{shown} has no rows"),
        });
    }
    Ok(table.rows)
}

fn read_all(path: &Path) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    if path == Path::new("-") {
        std::io::stdin()
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
    } else {
        bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    }
    Ok(bytes)
}

/// A table's column: by name, else by 0-based index.
fn column(
    header: &[String],
    wanted: Option<&str>,
    defaults: &[&str],
    what: &str,
) -> Result<Option<usize>, String> {
    let Some(name) = wanted else {
        return Ok(defaults
            .iter()
            .find_map(|d| header.iter().position(|h| h.trim().eq_ignore_ascii_case(d))));
    };
    if let Some(i) = header
        .iter()
        .position(|h| h == name || h.trim() == name.trim())
    {
        return Ok(Some(i));
    }
    match name.parse::<usize>() {
        Ok(i) if i < header.len() => Ok(Some(i)),
        _ => Err(format!(
            "the {what} column {name:?} is not in the data; its columns are: {}",
            header.join(", ")
        )),
    }
}

fn no_text(keys: &[String], what: &str) -> String {
    format!(
        "no text {what} (looked for {}): name it with --text-column; the {what}s are: {}",
        TEXT_NAMES.join(", "),
        keys.join(", ")
    )
}

/// CSV or TSV with a header line. The csv crate reads leniently (a record
/// of any length, text after a closing quote, a quote open at the end of
/// the file); each record's bytes are checked here as RFC 4180 has them.
fn delimited(bytes: &[u8], delimiter: u8, cols: Columns) -> Result<Table, String> {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .has_headers(false)
        .from_reader(bytes);
    let mut records = Vec::new();
    let mut rec = csv::ByteRecord::new();
    loop {
        let start = r.position().clone();
        match r.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {
                let begin = rec.position().map_or(start.byte(), |p| p.byte()) as usize;
                let line = rec.position().map_or(start.line(), |p| p.line());
                records.push((line, begin, rec.clone()));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    let ends: Vec<usize> = records
        .iter()
        .skip(1)
        .map(|(_, b, _)| *b)
        .chain([bytes.len()])
        .collect();
    let mut it = records.into_iter().zip(ends);
    let Some(((_, _, head), _)) = it.next() else {
        return Err("the file is empty: a header line naming the columns comes first".into());
    };
    let header: Vec<String> = head
        .iter()
        .map(|f| String::from_utf8_lossy(f).into_owned())
        .collect();
    let text = column(&header, cols.text, TEXT_NAMES, "text")?
        .ok_or_else(|| no_text(&header, "column"))?;
    let pair = column(&header, cols.pair, &[], "pair")?;
    let label = column(&header, cols.label, LABEL_NAMES, "label")?;
    let mut table = Table {
        rows: Vec::new(),
        bad: Vec::new(),
    };
    for ((line, begin, rec), end) in it {
        let problem = quoting(&bytes[begin..end], delimiter, line)
            .or_else(|| {
                (rec.len() != header.len()).then(|| {
                    format!(
                        "{} field(s) where the header has {}",
                        rec.len(),
                        header.len()
                    )
                })
            })
            .or_else(|| {
                rec.iter()
                    .any(|f| std::str::from_utf8(f).is_err())
                    .then(|| "it is not valid UTF-8".to_string())
            });
        if let Some(reason) = problem {
            table.bad.push(BadRow { line, reason });
            continue;
        }
        let get = |c: Option<usize>| {
            c.and_then(|c| rec.get(c))
                .map(|f| String::from_utf8_lossy(f).into_owned())
        };
        table.rows.push(Row {
            index: table.rows.len(),
            text: get(Some(text)).unwrap_or_default(),
            pair: get(pair).filter(|p| !p.is_empty()),
            label: get(label).filter(|l| !l.trim().is_empty()),
        });
    }
    Ok(table)
}

/// What is wrong with the quoting of one record's bytes (RFC 4180: a quoted
/// field ends with a quote followed by the delimiter or the end of the
/// line; a quote inside it is doubled), if anything. `line` is the
/// record's first line.
fn quoting(raw: &[u8], delimiter: u8, line: u64) -> Option<String> {
    let mut i = 0;
    let mut at_line = line;
    let mut field_start = true;
    while i < raw.len() {
        let c = raw[i];
        if field_start && c == b'"' {
            let opened = at_line;
            i += 1;
            loop {
                match raw.get(i) {
                    None => {
                        return Some(format!(
                            "a quote opened on line {opened} is never closed (the rest of the \
                             file would be one field)"
                        ))
                    }
                    Some(b'"') if raw.get(i + 1) == Some(&b'"') => i += 2,
                    Some(b'"') => break,
                    Some(b'\n') => {
                        at_line += 1;
                        i += 1;
                    }
                    Some(_) => i += 1,
                }
            }
            i += 1;
            match raw.get(i) {
                None | Some(b'\n') | Some(b'\r') => {}
                Some(&c) if c == delimiter => {}
                Some(_) => {
                    return Some(format!(
                        "the quoted field opened on line {opened} is closed on line {at_line} \
                         with text after its closing quote (a quote missing or not doubled?)"
                    ))
                }
            }
            field_start = false;
            continue;
        }
        field_start = c == delimiter;
        if c == b'\n' {
            at_line += 1;
            field_start = true;
        }
        i += 1;
    }
    None
}

/// One JSON object a line; the first object's keys pick the columns.
fn json_lines(bytes: &[u8], cols: Columns) -> Result<Table, String> {
    let mut table = Table {
        rows: Vec::new(),
        bad: Vec::new(),
    };
    let mut picked: Option<(String, Option<String>, Option<String>)> = None;
    for (n, raw) in lines(bytes) {
        let Ok(line) = std::str::from_utf8(raw) else {
            table.bad.push(BadRow {
                line: n,
                reason: "it is not valid UTF-8".into(),
            });
            continue;
        };
        if line.trim().is_empty() {
            continue;
        }
        let obj = match serde_json::from_str::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(o)) => o,
            Ok(_) => {
                table.bad.push(BadRow {
                    line: n,
                    reason: "not a JSON object".into(),
                });
                continue;
            }
            Err(e) => {
                table.bad.push(BadRow {
                    line: n,
                    reason: format!("not a JSON object: {e}"),
                });
                continue;
            }
        };
        if picked.is_none() {
            let keys: Vec<String> = obj.keys().cloned().collect();
            let pick = |c: Option<usize>| c.map(|i| keys[i].clone());
            let text = pick(column(&keys, cols.text, TEXT_NAMES, "text")?)
                .ok_or_else(|| no_text(&keys, "key"))?;
            picked = Some((
                text,
                pick(column(&keys, cols.pair, &[], "pair")?),
                pick(column(&keys, cols.label, LABEL_NAMES, "label")?),
            ));
        }
        let (t, p, l) = picked.as_ref().expect("set above");
        let as_text = |key: &str| match obj.get(key) {
            Some(serde_json::Value::String(s)) => Some(s.clone()),
            Some(serde_json::Value::Null) | None => None,
            Some(other) => Some(other.to_string()),
        };
        table.rows.push(Row {
            index: table.rows.len(),
            text: as_text(t).unwrap_or_default(),
            pair: p.as_deref().and_then(as_text),
            label: l.as_deref().and_then(as_text),
        });
    }
    Ok(table)
}

/// One text a line, unlabelled.
fn text_lines(bytes: &[u8]) -> Table {
    let mut table = Table {
        rows: Vec::new(),
        bad: Vec::new(),
    };
    for (n, raw) in lines(bytes) {
        match std::str::from_utf8(raw) {
            Ok(line) => table.rows.push(Row::new(table.rows.len(), line, None)),
            Err(_) => table.bad.push(BadRow {
                line: n,
                reason: "it is not valid UTF-8".into(),
            }),
        }
    }
    table
}

/// The file's lines, numbered from 1, without their `\n` or `\r\n`; no
/// empty last line for a file that ends with a newline.
pub fn lines(bytes: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let empty = bytes.is_empty();
    body.split(|&b| b == b'\n')
        .filter(move |_| !empty)
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .zip(1u64..)
        .map(|(l, n)| (n, l))
}

/// A command's report on standard output: as JSON, or as `text` draws it.
pub fn print_report<T: serde::Serialize>(
    json: bool,
    report: &T,
    text: impl FnOnce() -> String,
) -> Result<std::process::ExitCode, String> {
    if json {
        let out = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
        println!("{out}");
    } else {
        print!("{}", text());
    }
    Ok(std::process::ExitCode::SUCCESS)
}

/// `--threads N`: the global pool's size (default: every core).
pub fn use_threads(n: Option<usize>) -> Result<(), String> {
    if let Some(n) = n {
        rayon::ThreadPoolBuilder::new()
            .num_threads(n.max(1))
            .build_global()
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &str) -> Table {
        delimited(text.as_bytes(), b',', Columns::default()).unwrap()
    }

    #[test]
    fn ragged_rows_are_bad_rows_with_their_lines() {
        let t = csv("text,label\na,x\nb,y,extra\nc\n\"d, quoted\",z\n");
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].text, "d, quoted");
        assert_eq!(
            t.bad,
            [
                BadRow {
                    line: 3,
                    reason: "3 field(s) where the header has 2".into()
                },
                BadRow {
                    line: 4,
                    reason: "1 field(s) where the header has 2".into()
                },
            ]
        );
    }

    #[test]
    fn an_unterminated_quote_is_one_bad_row_not_a_swallowed_one() {
        // Five data lines: the quote on line 3 runs to the end of the file.
        let t = csv("text,label\na,x\n\"b,y\nc,z\nd,w\ne,v\n");
        assert_eq!(t.rows.len(), 1);
        assert_eq!(t.bad.len(), 1);
        assert_eq!(t.bad[0].line, 3);
        assert!(t.bad[0].reason.contains("never closed"), "{:?}", t.bad);
        // Closed later, with text after the quote: that record is bad, the rest is read.
        let t = csv("text,label\na,x\n\"b,y\nc,z\n\"d,w\ne,v\n");
        assert_eq!(t.bad.len(), 1, "{:?}", t.bad);
        assert_eq!(t.bad[0].line, 3);
        assert!(
            t.bad[0].reason.contains("closed on line 5 with text after"),
            "{:?}",
            t.bad
        );
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.rows[1].text, "e");
    }

    #[test]
    fn quoted_fields_over_lines_and_doubled_quotes_are_fine() {
        let t = csv("text,label\n\"one\nline \"\"two\"\"\",x\nnext,y\r\nlast,z");
        assert!(t.bad.is_empty(), "{:?}", t.bad);
        assert_eq!(t.rows.len(), 3);
        assert_eq!(t.rows[0].text, "one\nline \"two\"");
        assert_eq!(t.rows[2].label.as_deref(), Some("z"));
    }

    #[test]
    fn json_lines_and_text_lines_report_bad_lines() {
        let t = json_lines(
            b"{\"text\":\"a\"}\n[1]\n\xff\n{\"text\":\"b\"}\n",
            Columns::default(),
        )
        .unwrap();
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.bad.iter().map(|b| b.line).collect::<Vec<_>>(), [2, 3]);
        let t = text_lines(b"good\n\xff bad\nlast\n");
        assert_eq!(t.rows.len(), 2);
        assert_eq!(t.bad[0].line, 2);
    }
}
