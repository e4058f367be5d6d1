//! PyTorch `torch.save` checkpoints (a zip archive: `data.pkl` and one
//! stored entry per tensor storage). The pickle is parsed by candle's
//! pickle reader, which builds a tree of objects and never imports or calls
//! anything named in the file; tensors are then located inside the archive
//! and read in place like safetensors data.

use std::io::{Cursor, Read, Seek, SeekFrom};

use candle_core::pickle::{Object, Stack};
use candle_core::DType;
use zip::CompressionMethod;

use super::{Dtype, Entry, Source};
use crate::error::{Error, Result};

/// `Read + Seek` over a [`Source`], so that the zip reader needs no copy of the file.
struct Reader<'a> {
    source: &'a dyn Source,
    pos: u64,
}

impl Read for Reader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.source.len().saturating_sub(self.pos)).min(buf.len() as u64) as usize;
        self.source
            .read_at(self.pos, &mut buf[..n])
            .map_err(std::io::Error::other)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for Reader<'_> {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let len = self.source.len() as i128;
        let at = match to {
            SeekFrom::Start(p) => p as i128,
            SeekFrom::End(d) => len + d as i128,
            SeekFrom::Current(d) => self.pos as i128 + d as i128,
        };
        if at < 0 {
            return Err(std::io::Error::other("seek before the start of the file"));
        }
        self.pos = at as u64;
        Ok(self.pos)
    }
}

/// The tensors of a `torch.save` archive's state dict, by key.
pub(crate) fn index(file: &str, source: &dyn Source) -> Result<Vec<(String, Entry)>> {
    read_index(source).map_err(|reason| Error::Checkpoint {
        file: file.to_string(),
        reason,
    })
}

fn read_index(source: &dyn Source) -> std::result::Result<Vec<(String, Entry)>, String> {
    let mut zip = zip::ZipArchive::new(Reader { source, pos: 0 }).map_err(|e| {
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
        let entry = zip.by_name(&info.path).map_err(|e| {
            format!(
                "tensor `{name}`: its storage {} is missing ({e})",
                info.path
            )
        })?;
        if entry.compression() != CompressionMethod::Stored {
            return Err(format!(
                "tensor `{name}`: its storage is compressed ({:?}); torch.save stores tensors \
                 uncompressed, so this archive was rewritten by another tool",
                entry.compression()
            ));
        }
        let start = entry
            .data_start()
            .ok_or_else(|| format!("tensor `{name}`: cannot locate its storage"))?;
        let stored = entry.size();
        drop(entry);
        let dtype = match info.dtype {
            DType::F32 => Dtype::F32,
            DType::F16 => Dtype::F16,
            DType::BF16 => Dtype::BF16,
            DType::F64 => Dtype::F64,
            other => Dtype::Other(format!("{other:?}")),
        };
        let layout = &info.layout;
        let shape = layout.shape().dims().to_vec();
        let elem = info.dtype.size_in_bytes();
        let too_large = || format!("tensor `{name}`: shape {shape:?} is too large to exist");
        let first = layout
            .start_offset()
            .checked_mul(elem)
            .ok_or_else(too_large)? as u64;
        let bytes = super::numel(&shape)
            .and_then(|n| n.checked_mul(elem))
            .ok_or_else(too_large)? as u64;
        let needed = first.checked_add(bytes).ok_or_else(too_large)?;
        if needed > stored {
            return Err(format!(
                "tensor `{name}`: shape {shape:?} needs {needed} bytes but its storage has \
                 {stored} (truncated file?)"
            ));
        }
        let transposed = !layout.is_contiguous();
        if transposed && !layout.is_fortran_contiguous() {
            return Err(format!(
                "tensor `{name}` is a strided view; save a contiguous copy (tensor.contiguous())"
            ));
        }
        out.push((
            name,
            Entry {
                file: 0,
                dtype,
                shape,
                offset: start + first,
                transposed,
            },
        ));
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
    if entries.iter().any(|(_, v)| is_tensor(v)) {
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

#[cfg(test)]
mod tests {
    use crate::weights::Store;

    #[test]
    fn a_zip_that_is_not_a_checkpoint_is_named() {
        // An empty zip archive, its local header magic first so that it is taken for a checkpoint.
        let mut bytes = b"PK\x03\x04".to_vec();
        bytes.extend_from_slice(b"PK\x05\x06");
        bytes.extend_from_slice(&[0u8; 18]);
        let err = Store::from_bytes(vec![("model.pt".into(), bytes)]).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("model.pt is not a PyTorch checkpoint"),
            "{err}"
        );
    }
}
