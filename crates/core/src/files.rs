//! The files that make a model, and how they are found in a folder laid out
//! as Hugging Face writes one.

use crate::error::{Error, Result};
use crate::tokenizer::TokenizerFiles;
use crate::weights::Source;

/// The files of a model: small ones as bytes, weights as [`Source`]s that
/// are read in place (the page keeps their bytes in JavaScript).
#[derive(Default)]
pub struct ModelFiles {
    pub config: Vec<u8>,
    pub tokenizer: TokenizerFiles,
    /// One or more weights files (safetensors, or `.bin`/`.pt`/`.pth`
    /// PyTorch zip checkpoints), each with its file name for messages.
    pub weights: Vec<(String, Box<dyn Source>)>,
    /// `head.json`, for heads transformers does not build itself.
    pub head: Option<Vec<u8>>,
}

impl std::fmt::Debug for ModelFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ModelFiles")
            .field(
                "weights",
                &self.weights.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("head", &self.head.is_some())
            .finish()
    }
}

/// Weights in formats bertlens does not read, and what they are.
const FOREIGN: &[(&str, &str)] = &[
    ("tf_model.h5", "TensorFlow"),
    ("flax_model.msgpack", "Flax"),
    ("model.onnx", "ONNX"),
    (".gguf", "GGUF"),
    ("model.ckpt.index", "a TensorFlow checkpoint"),
];

fn is_shard(name: &str, stem: &str, ext: &str) -> bool {
    name.strip_prefix(stem)
        .and_then(|r| r.strip_suffix(ext))
        .is_some_and(|r| r.contains("-of-"))
}

/// Which files of a folder are weights: `model.safetensors` (or its
/// shards), else `pytorch_model.bin` (or its shards), else one `.pt`/`.pth`
/// checkpoint; plus `head.safetensors` beside either.
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
    let rules: [&dyn Fn(&str) -> bool; 5] = [
        &|n| n == "model.safetensors",
        &|n| is_shard(n, "model-", ".safetensors"),
        &|n| n == "pytorch_model.bin",
        &|n| is_shard(n, "pytorch_model-", ".bin"),
        &|n| n.ends_with(".pt") || n.ends_with(".pth"),
    ];
    let mut main = rules
        .iter()
        .map(|r| pick(*r))
        .find(|p| !p.is_empty())
        .unwrap_or_default();
    if main.is_empty() {
        let held: Vec<String> = FOREIGN
            .iter()
            .filter(|(file, _)| names.iter().any(|n| n.ends_with(file)))
            .map(|(file, kind)| format!("{kind} weights ({file})"))
            .collect();
        let what = "weights (model.safetensors, pytorch_model.bin, or a .pt/.pth checkpoint)";
        if !held.is_empty() {
            return Err(Error::config(
                dir,
                format!(
                    "it holds {} but no {what}; convert them with transformers, e.g. \
                     AutoModel.from_pretrained(dir, from_tf=True).save_pretrained(dir), which \
                     writes model.safetensors",
                    held.join(" and ")
                ),
            ));
        }
        return Err(Error::MissingFile {
            dir: dir.to_string(),
            what: what.into(),
        });
    }
    if main.len() > 1 && main[0].ends_with(".pt") | main[0].ends_with(".pth") {
        return Err(Error::config(
            dir,
            format!("more than one checkpoint ({}); keep one", main.join(", ")),
        ));
    }
    main.extend(pick(&|n| n == "head.safetensors"));
    Ok(main)
}

impl ModelFiles {
    /// Sorts named files into a model, by the rules of a Hugging Face folder:
    /// `config.json`, the tokenizer's files, the weights ([`weight_files`])
    /// and `head.json` when present. Other files are ignored. `source` names
    /// the files' origin in messages (a folder, a URL, "the dropped files").
    pub fn from_sources(source: &str, files: Vec<(String, Box<dyn Source>)>) -> Result<Self> {
        let mut files: Vec<(String, Box<dyn Source>)> = files
            .into_iter()
            // A folder picked in a browser gives paths: keep the file name.
            .map(|(n, b)| (n.rsplit(['/', '\\']).next().unwrap_or(&n).to_string(), b))
            .collect();
        let names: Vec<String> = files.iter().map(|(n, _)| n.clone()).collect();
        let weights = weight_files(source, &names)?;
        let mut take = |name: &str| -> Option<Box<dyn Source>> {
            let i = files.iter().position(|(n, _)| n == name)?;
            Some(files.swap_remove(i).1)
        };
        let missing = |what: &str| Error::MissingFile {
            dir: source.to_string(),
            what: what.to_string(),
        };
        let config = take("config.json").ok_or_else(|| missing("config.json"))?;
        let mut tokenizer = TokenizerFiles::default();
        for name in TokenizerFiles::NAMES {
            if let Some(s) = take(name) {
                tokenizer.insert(name, read_all(name, s.as_ref())?);
            }
        }
        if tokenizer.is_empty() {
            return Err(missing(
                "tokenizer (tokenizer.json, vocab.txt, vocab.json + merges.txt, or a \
                 sentencepiece model: spiece.model, spm.model, sentencepiece.bpe.model)",
            ));
        }
        let head = take("head.json")
            .map(|s| read_all("head.json", s.as_ref()))
            .transpose()?;
        let weights = weights
            .into_iter()
            .map(|n| {
                let s = take(&n).expect("weight_files picks names that are present");
                (n, s)
            })
            .collect();
        Ok(Self {
            config: read_all("config.json", config.as_ref())?,
            tokenizer,
            weights,
            head,
        })
    }

    /// [`ModelFiles::from_sources`] for files held as bytes.
    pub fn from_named(source: &str, files: Vec<(String, Vec<u8>)>) -> Result<Self> {
        Self::from_sources(
            source,
            files
                .into_iter()
                .map(|(n, b)| (n, Box::new(b) as Box<dyn Source>))
                .collect(),
        )
    }
}

/// A small file's bytes.
fn read_all(name: &str, source: &dyn Source) -> Result<Vec<u8>> {
    let mut bytes = vec![0u8; source.len() as usize];
    source.read_at(0, &mut bytes).map_err(|reason| Error::Io {
        path: name.to_string(),
        reason,
    })?;
    Ok(bytes)
}

#[cfg(not(target_arch = "wasm32"))]
impl ModelFiles {
    /// Reads a model folder: only the files a model is made of, not whatever
    /// else the folder holds.
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
        let weights = weight_files(&shown, &names)?;
        let mut wanted: Vec<String> = ["config.json", "head.json"].map(String::from).to_vec();
        wanted.extend(TokenizerFiles::NAMES.iter().map(|n| n.to_string()));
        let io = |path: &std::path::Path, e: std::io::Error| Error::Io {
            path: path.display().to_string(),
            reason: e.to_string(),
        };
        let mut files: Vec<(String, Box<dyn Source>)> = Vec::new();
        // Small files are read; weights are opened and read tensor by tensor.
        for name in wanted {
            let path = dir.join(&name);
            match std::fs::read(&path) {
                Ok(bytes) => files.push((name, Box::new(bytes))),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(io(&path, e)),
            }
        }
        for name in weights {
            let path = dir.join(&name);
            let source = crate::weights::FileSource::open(&path).map_err(|e| io(&path, e))?;
            files.push((name, Box::new(source)));
        }
        Self::from_sources(&shown, files)
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
        let w = |v: &[&str]| weight_files("m", &names(v));
        assert_eq!(
            w(&["config.json", "model.safetensors", "pytorch_model.bin"]).unwrap(),
            vec!["model.safetensors"]
        );
        assert_eq!(
            w(&["model.pt", "head.json", "head.safetensors"]).unwrap(),
            vec!["model.pt", "head.safetensors"]
        );
        assert_eq!(
            w(&[
                "model-00002-of-00002.safetensors",
                "model-00001-of-00002.safetensors"
            ])
            .unwrap(),
            vec![
                "model-00001-of-00002.safetensors",
                "model-00002-of-00002.safetensors"
            ]
        );
        assert_eq!(
            w(&[
                "pytorch_model-00001-of-00002.bin",
                "pytorch_model-00002-of-00002.bin",
                "a.txt"
            ])
            .unwrap()
            .len(),
            2
        );
        assert!(w(&["a.pt", "b.pth"])
            .unwrap_err()
            .to_string()
            .contains("more than one"));
        assert!(w(&["config.json"])
            .unwrap_err()
            .to_string()
            .starts_with("m has no weights"));
    }

    #[test]
    fn foreign_weights_say_what_they_are() {
        let err =
            weight_files("m", &names(&["config.json", "tf_model.h5", "vocab.txt"])).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("m: it holds TensorFlow weights (tf_model.h5) but no weights"),
            "{err}"
        );
        let err = weight_files("m", &names(&["model.onnx", "flax_model.msgpack"])).unwrap_err();
        assert!(
            err.to_string()
                .contains("Flax weights (flax_model.msgpack) and ONNX weights (model.onnx)"),
            "{err}"
        );
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
        assert_eq!(
            m.tokenizer.tokenizer_json.as_deref(),
            Some(&b"my-model/tokenizer.json"[..])
        );
        assert_eq!(m.weights.len(), 1);
        assert_eq!(m.weights[0].0, "model.safetensors");
        assert_eq!(m.head, None);
        let err =
            ModelFiles::from_named("the model", vec![f("model.safetensors"), f("config.json")])
                .unwrap_err();
        assert!(
            err.to_string()
                .starts_with("the model has no tokenizer (tokenizer.json, vocab.txt"),
            "{err}"
        );
    }
}
