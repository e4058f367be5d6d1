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

impl ModelFiles {
    /// Sorts named files into a model, by the rules of a Hugging Face folder:
    /// `config.json`, `tokenizer.json`, the weights ([`weight_files`]) and
    /// `head.json` when present. Other files are ignored. `source` names the
    /// files' origin in messages (a folder, a URL, "the dropped files").
    pub fn from_named(source: &str, files: Vec<(String, Vec<u8>)>) -> Result<Self> {
        let mut files: Vec<(String, Vec<u8>)> = files
            .into_iter()
            // A folder picked in a browser gives paths: keep the file name.
            .map(|(n, b)| (n.rsplit(['/', '\\']).next().unwrap_or(&n).to_string(), b))
            .collect();
        let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        let weights = weight_files(source, &names)?;
        let mut take = |name: &str| -> Option<Vec<u8>> {
            let i = files.iter().position(|(n, _)| n == name)?;
            Some(files.swap_remove(i).1)
        };
        let missing = |what: &str| Error::MissingFile {
            dir: source.to_string(),
            what: what.to_string(),
        };
        let config = take("config.json").ok_or_else(|| missing("config.json"))?;
        let tokenizer = take("tokenizer.json").ok_or_else(|| missing("tokenizer.json"))?;
        let head = take("head.json");
        let weights = weights
            .into_iter()
            .map(|n| {
                let bytes = take(&n).expect("weight_files picks names that are present");
                (n, bytes)
            })
            .collect();
        Ok(Self {
            config,
            tokenizer,
            weights,
            head,
        })
    }
}

#[cfg(not(target_arch = "wasm32"))]
impl ModelFiles {
    /// Reads a model folder: `config.json`, `tokenizer.json`, the weights
    /// ([`weight_files`]) and `head.json` when present.
    pub fn read_dir(dir: impl AsRef<std::path::Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let shown = dir.display().to_string();
        let entries = std::fs::read_dir(dir).map_err(|e| Error::Io {
            path: shown.clone(),
            reason: e.to_string(),
        })?;
        let names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        // Read only what a model is made of, not whatever else the folder holds.
        let mut wanted = weight_files(&shown, &names)?;
        wanted.extend(["config.json", "tokenizer.json", "head.json"].map(String::from));
        let mut files = Vec::new();
        for name in wanted {
            let path = dir.join(&name);
            match std::fs::read(&path) {
                Ok(bytes) => files.push((name, bytes)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Io {
                        path: path.display().to_string(),
                        reason: e.to_string(),
                    })
                }
            }
        }
        Self::from_named(&shown, files)
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

    #[test]
    fn sorts_named_files_into_a_model() {
        let f = |n: &str| (n.to_string(), n.as_bytes().to_vec());
        let m = ModelFiles::from_named(
            "the model",
            vec![
                f("my-model/tokenizer.json"),
                f("my-model/README.md"),
                f("my-model/model.safetensors"),
                f("my-model/config.json"),
            ],
        )
        .unwrap();
        assert_eq!(m.config, b"my-model/config.json");
        assert_eq!(m.tokenizer, b"my-model/tokenizer.json");
        assert_eq!(
            m.weights,
            vec![(
                "model.safetensors".into(),
                b"my-model/model.safetensors".to_vec()
            )]
        );
        assert_eq!(m.head, None);
        let err =
            ModelFiles::from_named("the model", vec![f("model.safetensors"), f("config.json")])
                .unwrap_err();
        assert_eq!(err.to_string(), "the model has no tokenizer.json");
    }
}
