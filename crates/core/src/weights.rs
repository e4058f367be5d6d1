//! Named tensors from checkpoint bytes, and [`Vb`], the path builder the
//! blocks load through (`vb.pp("encoder").pp("layer.0")`), with typed errors
//! that name the tensor and both shapes.
//!
//! Formats: safetensors, and PyTorch `torch.save` zip checkpoints read by
//! candle's pickle *parser*: it builds a tree of pickle objects and never
//! imports or calls anything named in the file.

use std::collections::HashMap;
use std::io::{Cursor, Read};

use candle_core::pickle::{Object, Stack};
use candle_core::safetensors::Load;
use candle_core::{DType, Device, Shape, Tensor};

use crate::error::{Error, Result};

/// Every tensor of a checkpoint, by its full key, floats widened to f32.
#[derive(Debug, Clone, Default)]
pub struct Weights {
    tensors: HashMap<String, Tensor>,
}

impl Weights {
    /// Reads a checkpoint, choosing the format by the bytes themselves
    /// (a zip archive is a PyTorch checkpoint; anything else must be safetensors).
    pub fn from_bytes(file: &str, bytes: &[u8]) -> Result<Self> {
        if bytes.starts_with(b"PK\x03\x04") {
            Self::from_pth(file, bytes)
        } else {
            Self::from_safetensors(file, bytes)
        }
    }

    pub fn from_safetensors(file: &str, bytes: &[u8]) -> Result<Self> {
        let fail = |reason: String| Error::Safetensors {
            file: file.to_string(),
            reason,
        };
        check_safetensors_header(bytes).map_err(fail)?;
        let st = safetensors::SafeTensors::deserialize(bytes).map_err(|e| fail(e.to_string()))?;
        let mut tensors = HashMap::new();
        for (name, view) in st.tensors() {
            let t = view
                .load(&Device::Cpu)
                .map_err(|e| fail(format!("tensor `{name}`: {e}")))?;
            tensors.insert(name.clone(), widen(&name, t)?);
        }
        Ok(Self { tensors })
    }

    pub fn from_pth(file: &str, bytes: &[u8]) -> Result<Self> {
        let tensors = read_pth(bytes).map_err(|reason| Error::Checkpoint {
            file: file.to_string(),
            reason,
        })?;
        let mut out = HashMap::new();
        for (name, t) in tensors {
            out.insert(name.clone(), widen(&name, t)?);
        }
        Ok(Self { tensors: out })
    }

    pub fn from_tensors(tensors: HashMap<String, Tensor>) -> Self {
        Self { tensors }
    }

    /// Adds the tensors of `other`; a key present in both is an error.
    pub fn merge(&mut self, other: Weights) -> Result<()> {
        for (k, v) in other.tensors {
            if self.tensors.contains_key(&k) {
                return Err(Error::HeadSpec(format!(
                    "tensor `{k}` is in more than one weights file"
                )));
            }
            self.tensors.insert(k, v);
        }
        Ok(())
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    pub fn get_raw(&self, name: &str) -> Option<&Tensor> {
        self.tensors.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// A path builder rooted at `prefix` (`""` for the root).
    pub fn vb(&self, prefix: &str) -> Vb<'_> {
        Vb {
            weights: self,
            prefix: prefix.to_string(),
        }
    }
}

/// Floats become f32; integer buffers (e.g. `position_ids`) are kept as they are.
fn widen(name: &str, t: Tensor) -> Result<Tensor> {
    match t.dtype() {
        DType::F32 => Ok(t),
        DType::F16 | DType::BF16 | DType::F64 => Ok(t.to_dtype(DType::F32)?),
        DType::U8 | DType::U32 | DType::I64 => Ok(t),
        other => Err(Error::TensorDtype {
            name: name.to_string(),
            dtype: format!("{other:?}"),
        }),
    }
}

/// Explains the commonest ways a file is not safetensors before the
/// parser's terser messages get a chance.
fn check_safetensors_header(bytes: &[u8]) -> std::result::Result<(), String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    let head = &bytes[..bytes.len().min(16)];
    if head.starts_with(b"<") {
        return Err("it looks like an HTML page (a download that went wrong?)".into());
    }
    if bytes.len() < 8 {
        return Err(format!(
            "the file has {} bytes, shorter than a safetensors header",
            bytes.len()
        ));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    if n > bytes.len() - 8 {
        return Err(format!(
            "the file is truncated or not safetensors: its first 8 bytes announce a {n}-byte \
             header but only {} bytes follow",
            bytes.len() - 8
        ));
    }
    let header: serde_json::Value = serde_json::from_slice(&bytes[8..8 + n])
        .map_err(|e| format!("its header is not JSON ({e}); the file is corrupt"))?;
    let end = header
        .as_object()
        .map(|m| {
            m.values()
                .filter_map(|v| v.get("data_offsets")?.get(1)?.as_u64())
                .max()
                .unwrap_or(0) as usize
        })
        .unwrap_or(0);
    let have = bytes.len() - 8 - n;
    if end > have {
        return Err(format!(
            "the file is truncated: its header describes {end} bytes of tensor data but only \
             {have} are present"
        ));
    }
    Ok(())
}

/// Reads the state dict of a `torch.save` zip archive.
fn read_pth(bytes: &[u8]) -> std::result::Result<Vec<(String, Tensor)>, String> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| {
        format!(
            "not a zip archive ({e}); only checkpoints written by torch.save ≥ 1.6 are supported"
        )
    })?;
    let pkl = zip
        .file_names()
        .filter_map(|n| n.ok())
        .find(|n| n.ends_with("data.pkl"))
        .map(|n| n.to_string())
        .ok_or("the archive has no data.pkl: it is a zip file but not a PyTorch checkpoint")?;
    let dir = pkl
        .strip_suffix(".pkl")
        .expect("ends with .pkl")
        .to_string();
    let mut pickle = Vec::new();
    zip.by_name(&pkl)
        .map_err(|e| e.to_string())?
        .read_to_end(&mut pickle)
        .map_err(|e| format!("cannot read {pkl}: {e}"))?;
    let mut stack = Stack::empty();
    stack
        .read_loop(&mut Cursor::new(&pickle))
        .map_err(|e| format!("its pickle does not parse: {e}"))?;
    let root = stack
        .finalize()
        .map_err(|e| format!("its pickle does not parse: {e}"))?;
    let entries = find_state_dict(root).ok_or(
        "no state dict found: save the model with torch.save(model.state_dict(), path) \
         (a whole pickled nn.Module is not read, since that would mean running its code)",
    )?;

    let mut out = Vec::new();
    for (key, value) in entries {
        let Object::Unicode(name) = &key else {
            continue;
        };
        let name = name.clone();
        let info = match value.into_tensor_info(key, std::path::Path::new(&dir)) {
            Ok(Some(info)) => info,
            _ => continue, // not a tensor (e.g. `_metadata`)
        };
        let mut storage = Vec::new();
        zip.by_name(&info.path)
            .map_err(|e| {
                format!(
                    "tensor `{name}`: its storage {} is missing ({e})",
                    info.path
                )
            })?
            .read_to_end(&mut storage)
            .map_err(|e| format!("tensor `{name}`: {e}"))?;
        out.push((name.clone(), tensor_from_storage(&name, &info, &storage)?));
    }
    if out.is_empty() {
        return Err("the state dict holds no tensors".into());
    }
    Ok(out)
}

/// The dict of tensors: the root itself, or one level down under a usual key
/// (`state_dict`, `model_state_dict`, `model`) for training checkpoints.
fn find_state_dict(root: Object) -> Option<Vec<(Object, Object)>> {
    let entries = match root {
        Object::Dict(entries) => entries,
        _ => return None,
    };
    let holds_tensors = entries.iter().any(|(_, v)| is_tensor(v));
    if holds_tensors {
        return Some(entries);
    }
    for wanted in ["state_dict", "model_state_dict", "model"] {
        let found = entries
            .iter()
            .find(|(k, _)| matches!(k, Object::Unicode(s) if s == wanted));
        if let Some((_, Object::Dict(inner))) = found {
            return Some(inner.clone());
        }
    }
    None
}

fn is_tensor(o: &Object) -> bool {
    match o {
        Object::Reduce { callable, .. } => matches!(
            callable.as_ref(),
            Object::Class { module_name, class_name }
                if module_name.starts_with("torch") && class_name.starts_with("_rebuild")
        ),
        _ => false,
    }
}

fn tensor_from_storage(
    name: &str,
    info: &candle_core::pickle::TensorInfo,
    storage: &[u8],
) -> std::result::Result<Tensor, String> {
    let layout = &info.layout;
    let shape: &Shape = layout.shape();
    let elem = info.dtype.size_in_bytes();
    let numel = shape.elem_count();
    let start = layout.start_offset();
    let end = numel
        .checked_mul(elem)
        .and_then(|n| n.checked_add(start))
        .ok_or_else(|| format!("tensor `{name}`: shape {shape:?} is too large"))?;
    if end > storage.len() {
        return Err(format!(
            "tensor `{name}`: shape {:?} needs {end} bytes but its storage has {} (truncated file?)",
            shape.dims(),
            storage.len()
        ));
    }
    let data = &storage[start..end];
    let fortran = layout.is_fortran_contiguous() && !layout.is_contiguous();
    if !layout.is_contiguous() && !fortran {
        return Err(format!(
            "tensor `{name}` is a strided view; save a contiguous copy (tensor.contiguous())"
        ));
    }
    let dims: Vec<usize> = if fortran {
        shape.dims().iter().rev().copied().collect()
    } else {
        shape.dims().to_vec()
    };
    let t = Tensor::from_raw_buffer(data, info.dtype, &dims, &Device::Cpu)
        .map_err(|e| format!("tensor `{name}`: {e}"))?;
    if fortran {
        let rev: Vec<usize> = (0..dims.len()).rev().collect();
        t.permute(rev)
            .and_then(|t| t.contiguous())
            .map_err(|e| format!("tensor `{name}`: {e}"))
    } else {
        Ok(t)
    }
}

/// A position in the tensor tree: `vb.pp("encoder").get((h, h), "weight")`
/// reads `encoder.weight` and checks its shape.
#[derive(Debug, Clone)]
pub struct Vb<'a> {
    weights: &'a Weights,
    prefix: String,
}

impl<'a> Vb<'a> {
    /// One level down: `pp("layer.0")`.
    pub fn pp(&self, name: impl AsRef<str>) -> Vb<'a> {
        Vb {
            weights: self.weights,
            prefix: self.path(name.as_ref()),
        }
    }

    /// The full key of `name` at this position.
    pub fn path(&self, name: &str) -> String {
        match (self.prefix.is_empty(), name.is_empty()) {
            (true, _) => name.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}.{name}", self.prefix),
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.weights.contains(&self.path(name))
    }

    /// The tensor `name`, which must have shape `shape`.
    pub fn get(&self, shape: impl Into<Shape>, name: &str) -> Result<Tensor> {
        let key = self.path(name);
        let shape: Shape = shape.into();
        let t = self
            .weights
            .tensors
            .get(&key)
            .ok_or_else(|| Error::MissingTensor {
                name: key.clone(),
                hint: self.missing_hint(&key),
            })?;
        if t.dims() != shape.dims() {
            return Err(Error::TensorShape {
                name: key,
                expected: shape.dims().to_vec(),
                found: t.dims().to_vec(),
            });
        }
        if t.dtype() != DType::F32 {
            return Err(Error::TensorDtype {
                name: key,
                dtype: format!("{:?}", t.dtype()),
            });
        }
        Ok(t.clone())
    }

    /// The shape of `name`, if present.
    pub fn dims(&self, name: &str) -> Option<Vec<usize>> {
        self.weights
            .tensors
            .get(&self.path(name))
            .map(|t| t.dims().to_vec())
    }

    fn missing_hint(&self, key: &str) -> Option<String> {
        if self.weights.is_empty() {
            return Some("the weights file holds no tensors".into());
        }
        // Name a key with the same ending under another prefix: the usual
        // cause is a checkpoint saved with or without `bert.`/`model.`.
        // The same key under another prefix, or with one more in front.
        let tail = key.split_once('.').map(|(_, t)| t).unwrap_or(key);
        let mut similar: Vec<&str> = self
            .weights
            .names()
            .filter(|n| *n != key && (n.ends_with(&format!(".{tail}")) || *n == tail))
            .filter(|n| n.split('.').count().abs_diff(key.split('.').count()) <= 1)
            .collect();
        similar.sort();
        if let Some(s) = similar.first() {
            return Some(format!("found `{s}` instead; is the key prefix right?"));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st_bytes(tensors: &[(&str, Tensor)]) -> Vec<u8> {
        let map: HashMap<String, Tensor> = tensors
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect();
        let dir = std::env::temp_dir().join(format!("bertlens-wt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.safetensors");
        candle_core::safetensors::save(&map, &path).unwrap();
        std::fs::read(path).unwrap()
    }

    #[test]
    fn reads_safetensors_and_checks_shapes() {
        let t = Tensor::arange(0f32, 6.0, &Device::Cpu)
            .unwrap()
            .reshape((2, 3))
            .unwrap();
        let bytes = st_bytes(&[("a.b.weight", t)]);
        let w = Weights::from_bytes("model.safetensors", &bytes).unwrap();
        let vb = w.vb("a").pp("b");
        assert_eq!(vb.get((2, 3), "weight").unwrap().dims(), &[2, 3]);
        let err = vb.get((3, 3), "weight").unwrap_err();
        assert_eq!(
            err.to_string(),
            "tensor `a.b.weight` has shape [2, 3], expected [3, 3]"
        );
        let err = w.vb("x.b").get((2, 3), "weight").unwrap_err();
        assert_eq!(
            err.to_string(),
            "tensor `x.b.weight` is missing from the weights (found `a.b.weight` instead; is the key prefix right?)"
        );
    }

    #[test]
    fn truncated_and_foreign_files_say_what_they_are() {
        let t = Tensor::zeros((4, 4), DType::F32, &Device::Cpu).unwrap();
        let bytes = st_bytes(&[("w", t)]);
        let cut = &bytes[..bytes.len() - 10];
        let err = Weights::from_bytes("model.safetensors", cut).unwrap_err();
        assert_eq!(
            err.to_string(),
            "model.safetensors is not a valid safetensors file: the file is truncated: its header \
             describes 64 bytes of tensor data but only 54 are present"
        );
        let err = Weights::from_bytes("model.safetensors", b"<!doctype html>").unwrap_err();
        assert!(err.to_string().contains("HTML page"), "{err}");
        let err = Weights::from_bytes("model.safetensors", b"").unwrap_err();
        assert!(err.to_string().ends_with("the file is empty"), "{err}");
        let err = Weights::from_bytes("model.safetensors", &[0xff; 64]).unwrap_err();
        assert!(
            err.to_string().contains("truncated or not safetensors"),
            "{err}"
        );
    }

    #[test]
    fn a_zip_that_is_not_a_checkpoint_is_named() {
        // An empty zip archive: the end-of-central-directory record alone.
        let mut bytes = b"PK\x05\x06".to_vec();
        bytes.extend_from_slice(&[0u8; 18]);
        let err = Weights::from_pth("model.pt", &bytes).unwrap_err();
        assert!(err.to_string().contains("no data.pkl"), "{err}");
    }
}
