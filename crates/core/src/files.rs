//! The files that make a model, as bytes, and how they are found in a folder
//! laid out as Hugging Face writes one.

use crate::error::{Error, Result};

/// The files of a model, as bytes (the page fetches them; the CLI reads them).
#[derive(Debug, Clone, Default)]
pub struct ModelFiles {
    pub config: Vec<u8>,
    pub tokenizer: Vec<u8>,
    /// One or more weights files (safetensors, or `.pt`/`.pth`/`.bin`
    /// PyTorch zip checkpoints), each with its file name for messages.
    pub weights: Vec<(String, Vec<u8>)>,
    /// `head.json`, for heads transformers does not build itself.
    pub head: Option<Vec<u8>>,
}

/// Which files of a folder are weights: `model.safetensors` (or its
/// shards), else a PyTorch checkpoint; plus `head.safetensors` beside either.
pub fn weight_files(dir: &str, names: &[String]) -> Result<Vec<String>> {
    let mut names: Vec<&String> = names.iter().collect();
    names.sort();
    let pick = |pred: &dyn Fn(&str) -> bool| -> Vec<String> {
        names
            .iter()
            .filter(|n| pred(n))
            .map(|n| n.to_string())
            .collect()
    };
    let mut main = pick(&|n| n == "model.safetensors");
    if main.is_empty() {
        main = pick(&|n| n.starts_with("model-") && n.ends_with(".safetensors"));
    }
    if main.is_empty() {
        main = pick(&|n| n == "pytorch_model.bin");
    }
    if main.is_empty() {
        main = pick(&|n| n.ends_with(".pt") || n.ends_with(".pth"));
    }
    match main.len() {
        0 => {
            return Err(Error::MissingFile {
                dir: dir.to_string(),
                what: "weights (model.safetensors, pytorch_model.bin, or a .pt/.pth checkpoint)"
                    .into(),
            })
        }
        1 => {}
        _ if main[0].ends_with(".safetensors") => {}
        _ => {
            return Err(Error::config(
                dir,
                format!("more than one checkpoint ({}); keep one", main.join(", ")),
            ))
        }
    }
    main.extend(pick(&|n| n == "head.safetensors"));
    Ok(main)
}

#[cfg(not(target_arch = "wasm32"))]
impl ModelFiles {
    /// Reads a model folder: `config.json`, `tokenizer.json`, the weights
    /// ([`weight_files`]) and `head.json` when present.
    pub fn read_dir(dir: impl AsRef<std::path::Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let shown = dir.display().to_string();
        let read = |name: &str| -> Result<Vec<u8>> {
            let path = dir.join(name);
            std::fs::read(&path).map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    Error::MissingFile {
                        dir: shown.clone(),
                        what: name.to_string(),
                    }
                } else {
                    Error::Io {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    }
                }
            })
        };
        let entries = std::fs::read_dir(dir).map_err(|e| Error::Io {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        let weights = weight_files(&shown, &names)?;
        let head = if names.iter().any(|n| n == "head.json") {
            Some(read("head.json")?)
        } else {
            None
        };
        Ok(Self {
            config: read("config.json")?,
            tokenizer: read("tokenizer.json")?,
            weights: weights
                .into_iter()
                .map(|n| read(&n).map(|b| (n, b)))
                .collect::<Result<_>>()?,
            head,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn picks_the_weights_of_a_folder() {
        assert_eq!(
            weight_files(
                "m",
                &names(&["config.json", "model.safetensors", "pytorch_model.bin"])
            )
            .unwrap(),
            vec!["model.safetensors"]
        );
        assert_eq!(
            weight_files("m", &names(&["model.pt", "head.json", "head.safetensors"])).unwrap(),
            vec!["model.pt", "head.safetensors"]
        );
        assert_eq!(
            weight_files(
                "m",
                &names(&[
                    "model-00002-of-00002.safetensors",
                    "model-00001-of-00002.safetensors"
                ])
            )
            .unwrap(),
            vec![
                "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors"
            ]
        );
        assert!(weight_files("m", &names(&["a.pt", "b.pth"]))
            .unwrap_err()
            .to_string()
            .contains("more than one"));
        assert!(weight_files("m", &names(&["config.json"]))
            .unwrap_err()
            .to_string()
            .starts_with("m has no weights"));
    }
}
