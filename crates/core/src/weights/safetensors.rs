//! The safetensors format: an 8-byte little-endian header length, a JSON
//! header naming each tensor's dtype, shape and byte range, then the data.
//! Only the header is read here; [`super::Store`] reads the data.

use super::{Dtype, Entry, Source};
use crate::error::{Error, Result};

/// The largest header accepted (the format's own limit is 100 MB).
const MAX_HEADER: u64 = 100 << 20;

/// The tensors a safetensors file holds, by key.
pub(crate) fn index(file: &str, source: &dyn Source) -> Result<Vec<(String, Entry)>> {
    let fail = |reason: String| Error::Safetensors {
        file: file.to_string(),
        reason,
    };
    let len = source.len();
    let mut head = [0u8; 16];
    let n = len.min(16) as usize;
    source.read_at(0, &mut head[..n]).map_err(fail)?;
    if len == 0 {
        return Err(fail("the file is empty".into()));
    }
    if head[..n].starts_with(b"<") {
        return Err(fail(
            "it looks like an HTML page (a download that went wrong?)".into(),
        ));
    }
    if len < 8 {
        return Err(fail(format!(
            "the file has {len} bytes, shorter than a safetensors header"
        )));
    }
    let header_len = u64::from_le_bytes(head[..8].try_into().expect("8 bytes"));
    if header_len > len - 8 || header_len > MAX_HEADER {
        return Err(fail(format!(
            "the file is truncated or not safetensors: its first 8 bytes announce a \
             {header_len}-byte header but only {} bytes follow",
            len - 8
        )));
    }
    let mut header = vec![0u8; header_len as usize];
    source.read_at(8, &mut header).map_err(fail)?;
    let header: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&header)
        .map_err(|e| fail(format!("its header is not JSON ({e}); the file is corrupt")))?;
    let data_start = 8 + header_len;
    let have = len - data_start;
    let mut out = Vec::with_capacity(header.len());
    for (key, info) in header {
        if key == "__metadata__" {
            continue;
        }
        let bad = |what: &str| fail(format!("tensor `{key}`: {what}"));
        let dtype = match info.get("dtype").and_then(|d| d.as_str()) {
            Some("F32") => Dtype::F32,
            Some("F16") => Dtype::F16,
            Some("BF16") => Dtype::BF16,
            Some("F64") => Dtype::F64,
            Some(other) => Dtype::Other(other.to_string()),
            None => return Err(bad("no dtype in the header")),
        };
        let shape: Vec<usize> = info
            .get("shape")
            .and_then(|s| serde_json::from_value(s.clone()).ok())
            .ok_or_else(|| bad("no shape in the header"))?;
        let [start, end]: [u64; 2] = info
            .get("data_offsets")
            .and_then(|s| serde_json::from_value(s.clone()).ok())
            .ok_or_else(|| bad("no data_offsets in the header"))?;
        if end < start {
            return Err(bad("its data_offsets are reversed"));
        }
        if end > have {
            return Err(fail(format!(
                "the file is truncated: its header describes {end} bytes of tensor data but \
                 only {have} are present"
            )));
        }
        if let Some(size) = dtype.size() {
            let bytes = super::numel(&shape)
                .and_then(|n| n.checked_mul(size))
                .ok_or_else(|| bad(&format!("shape {shape:?} is too large to exist")))?;
            if bytes as u64 != end - start {
                return Err(bad(&format!(
                    "shape {shape:?} needs {bytes} bytes but its data range has {}",
                    end - start
                )));
            }
        }
        out.push((
            key,
            Entry {
                file: 0,
                dtype,
                shape,
                offset: data_start + start,
                transposed: false,
            },
        ));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use crate::weights::Store;

    /// A safetensors file written by hand from its specification.
    pub(crate) fn file(tensors: &[(&str, &[usize], &[f32])]) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        let mut data = Vec::new();
        for (name, shape, values) in tensors {
            let start = data.len();
            for v in *values {
                data.extend_from_slice(&v.to_le_bytes());
            }
            header.insert(
                name.to_string(),
                serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [start, data.len()]}),
            );
        }
        let h = serde_json::to_vec(&header).unwrap();
        let mut out = (h.len() as u64).to_le_bytes().to_vec();
        out.extend(h);
        out.extend(data);
        out
    }

    #[test]
    fn reads_tensors_and_checks_shapes() {
        let bytes = file(&[("a.b.weight", &[2, 3], &[0., 1., 2., 3., 4., 5.])]);
        let store = Store::from_bytes(vec![("model.safetensors".into(), bytes)]).unwrap();
        let keys = store.keys("a").pp("b");
        assert_eq!(
            keys.tensor("weight", &[2, 3]).unwrap(),
            [0., 1., 2., 3., 4., 5.]
        );
        let err = keys.tensor("weight", &[3, 3]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tensor `a.b.weight` has shape [2, 3], expected [3, 3]"
        );
        let err = store.keys("x.b").tensor("weight", &[2, 3]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tensor `x.b.weight` is missing from the weights (found `a.b.weight` instead; is the \
             key prefix right?)"
        );
    }

    #[test]
    fn truncated_and_foreign_files_say_what_they_are() {
        let bytes = file(&[("w", &[4, 4], &[0.0; 16])]);
        let err = |b: &[u8]| {
            Store::from_bytes(vec![("model.safetensors".into(), b.to_vec())])
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err(&bytes[..bytes.len() - 10]),
            "model.safetensors is not a valid safetensors file: the file is truncated: its header \
             describes 64 bytes of tensor data but only 54 are present"
        );
        assert!(err(b"<!doctype html>").contains("HTML page"));
        assert!(err(b"").ends_with("the file is empty"));
        assert!(err(&[0xff; 64]).contains("truncated or not safetensors"));
    }

    #[test]
    fn widens_half_precision() {
        let mut header = serde_json::Map::new();
        header.insert(
            "h".into(),
            serde_json::json!({"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}),
        );
        let h = serde_json::to_vec(&header).unwrap();
        let mut bytes = (h.len() as u64).to_le_bytes().to_vec();
        bytes.extend(h);
        for v in [1.5f32, -2.0] {
            bytes.extend(half::f16::from_f32(v).to_le_bytes());
        }
        let store = Store::from_bytes(vec![("m.safetensors".into(), bytes)]).unwrap();
        assert_eq!(store.read("h", &[2]).unwrap(), [1.5, -2.0]);
    }
}
