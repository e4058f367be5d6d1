//! [`Vb`], the path builder the reference blocks load through
//! (`vb.pp("encoder").pp("layer.0")`), over candle tensors read from the store.

use std::collections::HashMap;

use candle_core::{DType, Shape, Tensor};

use crate::error::{Error, Result};

/// Every float tensor of a checkpoint as a candle tensor, by key.
#[derive(Debug, Default)]
pub struct Weights {
    pub tensors: HashMap<String, Tensor>,
}

impl Weights {
    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    pub fn vb(&self, prefix: &str) -> Vb<'_> {
        Vb {
            weights: self,
            prefix: prefix.to_string(),
        }
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
