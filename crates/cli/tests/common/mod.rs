//! What the CLI's integration tests share: the binary, the repository's
//! files, scratch folders, and a run with its exit code and output.

#![allow(dead_code)] // each test file uses some of these

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bertlens"))
}

/// A path in the repository.
pub fn repo(path: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(path)
}

/// A fixture model's folder.
pub fn fixture(name: &str) -> PathBuf {
    repo("tests/fixtures").join(name)
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A fresh folder under the target directory.
pub fn scratch(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs the CLI with `stdin`: its exit code, stdout and stderr.
pub fn run_bytes(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// [`run_bytes`] with text, or nothing, on stdin.
pub fn run(args: &[&str], stdin: Option<&str>) -> (i32, String, String) {
    run_bytes(args, stdin.unwrap_or_default().as_bytes())
}
