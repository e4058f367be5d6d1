//! Named tensors from checkpoint files, read where they lie.
//!
//! A checkpoint is opened by reading its index only (a safetensors header,
//! or the pickle of a `torch.save` archive); each tensor's bytes are read
//! later, once, straight into the buffer that keeps them (the engine's
//! weights), widened to f32 on the way. No copy of the whole file is ever
//! made, so the page holds one copy of the weights: the file's bytes stay
//! with JavaScript ([`Source`] reads them at offsets).
//!
//! Formats: safetensors ([`safetensors`]), and PyTorch `torch.save` zip
//! checkpoints ([`pth`]), whose pickle is *parsed* by candle and never
//! unpickled: nothing named in the file is imported or called.
//!
//! [`Keys`] is the path builder the families load through
//! (`keys.pp("encoder").pp("layer.0")`), with typed errors that name the
//! tensor, both shapes, and the likely cause of a missing key.

pub mod pth;
pub mod safetensors;

use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap, HashSet};

use crate::error::{Error, Result};

/// The bytes of one file, read at offsets: a `Vec<u8>` natively, the
/// page's `Uint8Array` in wasm.
pub trait Source {
    fn len(&self) -> u64;
    /// Fills `buf` with the bytes at `offset..offset + buf.len()`.
    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::result::Result<(), String>;

    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Source for Vec<u8> {
    fn len(&self) -> u64 {
        self.as_slice().len() as u64
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::result::Result<(), String> {
        let bytes = self.as_slice();
        let start = usize::try_from(offset).map_err(|_| "offset out of range".to_string())?;
        let end = start
            .checked_add(buf.len())
            .filter(|&e| e <= bytes.len())
            .ok_or_else(|| {
                format!(
                    "bytes {start}..{} are past the end of the file ({} bytes)",
                    start + buf.len(),
                    bytes.len()
                )
            })?;
        buf.copy_from_slice(&bytes[start..end]);
        Ok(())
    }
}

/// A file on disk, read at offsets (natively: the CLI never holds a whole
/// weights file in memory).
#[cfg(not(target_arch = "wasm32"))]
pub struct FileSource {
    file: std::fs::File,
    len: u64,
}

#[cfg(not(target_arch = "wasm32"))]
impl FileSource {
    pub fn open(path: &std::path::Path) -> std::io::Result<Self> {
        let file = std::fs::File::open(path)?;
        let len = file.metadata()?.len();
        Ok(Self { file, len })
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl Source for FileSource {
    fn len(&self) -> u64 {
        self.len
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::result::Result<(), String> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            self.file
                .read_exact_at(buf, offset)
                .map_err(|e| e.to_string())
        }
        #[cfg(not(unix))]
        {
            use std::io::{Read, Seek, SeekFrom};
            let mut f = &self.file;
            f.seek(SeekFrom::Start(offset)).map_err(|e| e.to_string())?;
            f.read_exact(buf).map_err(|e| e.to_string())
        }
    }
}

/// The number of elements of `shape`, or `None` where the product
/// overflows: a crafted header can name dimensions whose product wraps
/// around to a plausible size, so no shape from a file is multiplied unchecked.
pub(crate) fn numel(shape: &[usize]) -> Option<usize> {
    shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d))
}

/// How a tensor's elements are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dtype {
    F32,
    F16,
    BF16,
    F64,
    /// Integers (e.g. `position_ids` buffers) and anything else: listed, never read as weights.
    Other(String),
}

impl Dtype {
    fn size(&self) -> Option<usize> {
        match self {
            Dtype::F32 => Some(4),
            Dtype::F16 | Dtype::BF16 => Some(2),
            Dtype::F64 => Some(8),
            Dtype::Other(_) => None,
        }
    }
}

/// Where one tensor's elements are.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    file: usize,
    pub(crate) dtype: Dtype,
    pub(crate) shape: Vec<usize>,
    /// Byte offset of the first element in the file.
    offset: u64,
    /// Stored column-major (a transposed view saved by PyTorch): read, then transpose.
    transposed: bool,
}

struct File {
    name: String,
    source: Box<dyn Source>,
}

/// Every tensor of a model's weights files, by its full key.
#[derive(Default)]
pub struct Store {
    files: Vec<File>,
    tensors: HashMap<String, Entry>,
    /// The keys read so far: what the model uses.
    read: RefCell<HashSet<String>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field(
                "files",
                &self.files.iter().map(|f| &f.name).collect::<Vec<_>>(),
            )
            .field("tensors", &self.tensors.len())
            .finish()
    }
}

impl Store {
    /// Indexes a weights file, choosing the format by its first bytes (a
    /// zip archive is a PyTorch checkpoint; anything else must be safetensors).
    /// A key already present from another file is an error.
    pub fn add(&mut self, name: &str, source: Box<dyn Source>) -> Result<()> {
        let mut magic = [0u8; 4];
        let is_zip =
            source.len() >= 4 && source.read_at(0, &mut magic).is_ok() && &magic == b"PK\x03\x04";
        // A raw pickle (opcode PROTO, protocol 2 to 5): what torch.save wrote
        // before PyTorch 1.6, or with `_use_new_zipfile_serialization=False`.
        // (Safetensors' first 8 bytes are its header's length, which may begin
        // the same way; its header, a JSON object, begins at byte 8.)
        let mut head = [0u8; 9];
        let n = source.len().min(9) as usize;
        let is_pickle = n >= 2
            && source.read_at(0, &mut head[..n]).is_ok()
            && head[0] == 0x80
            && (2..=5).contains(&head[1])
            && (n < 9 || head[8] != b'{');
        let entries = if is_zip {
            pth::index(name, &*source)?
        } else if is_pickle {
            return Err(Error::Checkpoint {
                file: name.to_string(),
                reason: "it is a raw pickle, the format of torch.save before PyTorch 1.6 (or \
                         with _use_new_zipfile_serialization=False); bertlens reads safetensors \
                         files and torch.save's zip archives: in a recent PyTorch, load it and \
                         save it again (torch.save(torch.load(path), path)), or save it as \
                         safetensors"
                    .into(),
            });
        } else {
            safetensors::index(name, &*source)?
        };
        let file = self.files.len();
        for (key, mut entry) in entries {
            if self.tensors.contains_key(&key) {
                return Err(Error::config(
                    name,
                    format!("tensor `{key}` is also in another weights file"),
                ));
            }
            entry.file = file;
            self.tensors.insert(key, entry);
        }
        self.files.push(File {
            name: name.to_string(),
            source,
        });
        Ok(())
    }

    /// A store of in-memory files (tests, the CLI).
    pub fn from_bytes(files: Vec<(String, Vec<u8>)>) -> Result<Self> {
        let mut store = Self::default();
        for (name, bytes) in files {
            store.add(&name, Box::new(bytes))?;
        }
        Ok(store)
    }

    pub fn contains(&self, key: &str) -> bool {
        self.tensors.contains_key(key)
    }

    pub fn shape(&self, key: &str) -> Option<&[usize]> {
        self.tensors.get(key).map(|e| e.shape.as_slice())
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
    pub fn keys(&self, prefix: &str) -> Keys<'_> {
        Keys {
            store: self,
            prefix: prefix.to_string(),
        }
    }

    /// Tensor `key`, which must have shape `shape`, and its number of
    /// elements (which fits: every indexed shape's size was checked).
    fn entry(&self, key: &str, shape: &[usize]) -> Result<(&Entry, usize)> {
        let entry = self.tensors.get(key).ok_or_else(|| Error::MissingTensor {
            name: key.to_string(),
            hint: None,
        })?;
        if entry.shape != shape {
            return Err(Error::TensorShape {
                name: key.to_string(),
                expected: shape.to_vec(),
                found: entry.shape.clone(),
            });
        }
        Ok((entry, numel(shape).expect("an indexed shape's size fits")))
    }

    /// Reads tensor `key` into `out` as f32, checking that its shape is
    /// `shape` and that `out` has room for exactly its elements.
    pub fn read_into(&self, key: &str, shape: &[usize], out: &mut [f32]) -> Result<()> {
        let (entry, numel) = self.entry(key, shape)?;
        assert_eq!(out.len(), numel, "read_into: buffer of the tensor's size");
        self.read.borrow_mut().insert(key.to_string());
        let size = entry.dtype.size().ok_or_else(|| Error::TensorDtype {
            name: key.to_string(),
            dtype: format!("{:?}", entry.dtype),
        })?;
        let file = &self.files[entry.file];
        let fail = |reason: String| Error::Checkpoint {
            file: file.name.clone(),
            reason: format!("tensor `{key}`: {reason}"),
        };
        if entry.dtype == Dtype::F32 {
            // Straight into the f32 buffer, no intermediate copy.
            // SAFETY: any 4 bytes are a valid f32; `out` is exactly numel·4 bytes.
            let bytes = unsafe {
                std::slice::from_raw_parts_mut(
                    out.as_mut_ptr() as *mut u8,
                    std::mem::size_of_val(out),
                )
            };
            file.source.read_at(entry.offset, bytes).map_err(fail)?;
            #[cfg(target_endian = "big")]
            out.iter_mut()
                .for_each(|v| *v = f32::from_bits(u32::from_le(v.to_bits())));
        } else {
            // In chunks, widened as they come.
            const CHUNK: usize = 1 << 16;
            let mut buf = vec![0u8; CHUNK * size];
            for (i, dst) in out.chunks_mut(CHUNK).enumerate() {
                let bytes = &mut buf[..dst.len() * size];
                let at = entry.offset + (i * CHUNK * size) as u64;
                file.source.read_at(at, bytes).map_err(fail)?;
                widen(&entry.dtype, bytes, dst);
            }
        }
        if entry.transposed {
            // Stored as the transpose of `shape`: dims reversed, row-major.
            let rev: Vec<usize> = shape.iter().rev().copied().collect();
            let src = out.to_vec();
            transpose_into(&src, &rev, out);
        }
        if out.iter().any(|v| !v.is_finite()) {
            return Err(fail("it holds NaN or infinite values".into()));
        }
        Ok(())
    }

    /// The layers (keys without `.weight`/`.bias`) of the float tensors
    /// never read, outside `ignore` prefixes.
    pub fn unused(&self, ignore: &[&str]) -> Vec<String> {
        let read = self.read.borrow();
        let groups: BTreeSet<String> = self
            .tensors
            .iter()
            .filter(|(k, e)| e.dtype.size().is_some() && !read.contains(*k))
            .filter(|(k, _)| !ignore.iter().any(|p| k.contains(p)))
            .map(|(k, _)| {
                k.rsplit_once('.')
                    .map_or(k.as_str(), |(g, _)| g)
                    .to_string()
            })
            .collect();
        groups.into_iter().collect()
    }

    /// Reads tensor `key` of shape `shape` as f32. The shape is checked
    /// against the file before anything is allocated, so a shape taken from
    /// a config (which may be anything) never sizes a buffer by itself.
    pub fn read(&self, key: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let (_, numel) = self.entry(key, shape)?;
        let mut out = vec![0f32; numel];
        self.read_into(key, shape, &mut out)?;
        Ok(out)
    }
}

/// Little-endian elements of `dtype` → f32.
fn widen(dtype: &Dtype, bytes: &[u8], out: &mut [f32]) {
    match dtype {
        Dtype::F16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::f16::from_le_bytes([b[0], b[1]]).to_f32();
            }
        }
        Dtype::BF16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = half::bf16::from_le_bytes([b[0], b[1]]).to_f32();
            }
        }
        Dtype::F64 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(8)) {
                *o = f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32;
            }
        }
        Dtype::F32 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes(b.try_into().expect("4 bytes"));
            }
        }
        Dtype::Other(_) => unreachable!("only float tensors are read"),
    }
}

/// `src`, row-major with dims `dims`, written transposed (dims reversed) into `out`.
fn transpose_into(src: &[f32], dims: &[usize], out: &mut [f32]) {
    let rank = dims.len();
    let mut strides = vec![1usize; rank];
    for i in (0..rank.saturating_sub(1)).rev() {
        strides[i] = strides[i + 1] * dims[i + 1];
    }
    // out has dims reversed: out index (j_{r-1}, …, j_0) ← src (j_0, …, j_{r-1}).
    let out_dims: Vec<usize> = dims.iter().rev().copied().collect();
    let mut idx = vec![0usize; rank];
    for o in out.iter_mut() {
        let at: usize = (0..rank).map(|a| idx[a] * strides[rank - 1 - a]).sum();
        *o = src[at];
        for a in (0..rank).rev() {
            idx[a] += 1;
            if idx[a] < out_dims[a] {
                break;
            }
            idx[a] = 0;
        }
    }
}

/// A position in the key tree: `keys.pp("encoder").tensor("weight", &[h, h])`
/// reads `encoder.weight` and checks its shape.
#[derive(Clone)]
pub struct Keys<'a> {
    store: &'a Store,
    prefix: String,
}

impl<'a> Keys<'a> {
    /// One level down: `pp("layer.0")`.
    pub fn pp(&self, name: impl AsRef<str>) -> Keys<'a> {
        Keys {
            store: self.store,
            prefix: self.key(name.as_ref()),
        }
    }

    /// The full key of `name` at this position.
    pub fn key(&self, name: &str) -> String {
        match (self.prefix.is_empty(), name.is_empty()) {
            (true, _) => name.to_string(),
            (false, true) => self.prefix.clone(),
            (false, false) => format!("{}.{name}", self.prefix),
        }
    }

    pub fn store(&self) -> &'a Store {
        self.store
    }

    pub fn contains(&self, name: &str) -> bool {
        self.store.contains(&self.key(name))
    }

    /// The shape of `name`, if present.
    pub fn shape(&self, name: &str) -> Option<Vec<usize>> {
        self.store.shape(&self.key(name)).map(<[usize]>::to_vec)
    }

    /// The first of `names` that is present (a key that checkpoints spell
    /// two ways, e.g. `LayerNorm.weight` and the older `LayerNorm.gamma`).
    pub fn first_of(&self, names: &[&str]) -> Option<String> {
        names
            .iter()
            .find(|n| self.contains(n))
            .map(|n| n.to_string())
    }

    /// Tensor `name`, which must have shape `shape`.
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<Vec<f32>> {
        let key = self.key(name);
        if !self.store.contains(&key) {
            return Err(Error::MissingTensor {
                hint: self.missing_hint(&key),
                name: key,
            });
        }
        self.store.read(&key, shape)
    }

    /// Tensor `name` of shape `shape` into `out` (e.g. one block of a stacked matrix).
    pub fn read_into(&self, name: &str, shape: &[usize], out: &mut [f32]) -> Result<()> {
        let key = self.key(name);
        if !self.store.contains(&key) {
            return Err(Error::MissingTensor {
                hint: self.missing_hint(&key),
                name: key,
            });
        }
        self.store.read_into(&key, shape, out)
    }

    fn missing_hint(&self, key: &str) -> Option<String> {
        if self.store.is_empty() {
            return Some("the weights file holds no tensors".into());
        }
        // The same key under another prefix, or with one more in front: the
        // usual cause is a checkpoint saved with or without `bert.`/`model.`.
        let tail = key.split_once('.').map(|(_, t)| t).unwrap_or(key);
        let mut similar: Vec<&str> = self
            .store
            .names()
            .filter(|n| *n != key && (n.ends_with(&format!(".{tail}")) || *n == tail))
            .filter(|n| n.split('.').count().abs_diff(key.split('.').count()) <= 1)
            .collect();
        similar.sort();
        similar
            .first()
            .map(|s| format!("found `{s}` instead; is the key prefix right?"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transposes_a_column_major_matrix() {
        // A 2×3 matrix stored column-major is the row-major 3×2 transpose.
        let stored = [1.0, 4.0, 2.0, 5.0, 3.0, 6.0];
        let mut out = [0.0; 6];
        transpose_into(&stored, &[3, 2], &mut out);
        assert_eq!(out, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    }

    #[test]
    fn reads_past_the_end_say_so() {
        let src = vec![1u8, 2, 3];
        let mut buf = [0u8; 4];
        let err = Source::read_at(&src, 1, &mut buf).unwrap_err();
        assert_eq!(err, "bytes 1..5 are past the end of the file (3 bytes)");
    }
}
