//! The model's files as the page holds them: `[{name, bytes: Uint8Array}]`,
//! read by the core at offsets, in place.

use bertlens_core::weights::Source;
use js_sys::{Array, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;

/// A file the page holds, read at offsets without copying it whole.
struct JsBytes(Uint8Array);

impl Source for JsBytes {
    fn len(&self) -> u64 {
        self.0.length() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<(), String> {
        let end = offset + buf.len() as u64;
        if end > self.len() {
            return Err(format!(
                "bytes {offset}..{end} are past the end of the file ({} bytes)",
                self.len()
            ));
        }
        self.0.subarray(offset as u32, end as u32).copy_to(buf);
        Ok(())
    }
}

/// Files by name, their bytes where the page keeps them.
type Named = Vec<(String, Box<dyn Source>)>;

/// `[{name, bytes}]` → named sources.
pub(crate) fn named(files: &JsValue) -> Result<Named, JsError> {
    if !Array::is_array(files) {
        return Err(JsError::new(
            "the model's files must be an array of {name, bytes}",
        ));
    }
    let mut out: Named = Vec::new();
    for f in Array::from(files).iter() {
        let name = Reflect::get(&f, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .ok_or_else(|| JsError::new("a model file has no name"))?;
        let bytes = Reflect::get(&f, &"bytes".into()).unwrap_or(JsValue::UNDEFINED);
        if !bytes.is_instance_of::<Uint8Array>() {
            return Err(JsError::new(&format!("{name}: bytes must be a Uint8Array")));
        }
        out.push((name, Box::new(JsBytes(Uint8Array::new(&bytes)))));
    }
    Ok(out)
}
