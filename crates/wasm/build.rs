//! Hands the wasm tests what the native core computed (see
//! examples/native_snapshot.rs): the file named by BERTLENS_NATIVE_SNAPSHOT,
//! or `null` when it is not set (then the tests compare with the goldens only).

use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=BERTLENS_NATIVE_SNAPSHOT");
    let out = PathBuf::from(std::env::var("OUT_DIR").expect("OUT_DIR")).join("native.json");
    match std::env::var("BERTLENS_NATIVE_SNAPSHOT") {
        Ok(path) => {
            println!("cargo:rerun-if-changed={path}");
            std::fs::copy(&path, &out).unwrap_or_else(|e| panic!("{path}: {e}"));
        }
        Err(_) => std::fs::write(&out, "null").expect("OUT_DIR is writable"),
    }
}
