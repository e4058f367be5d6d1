//! tokenizer_config.json, special_tokens_map.json and added_tokens.json,
//! read and merged the way transformers 5 reads them
//! (`PreTrainedTokenizerBase._from_pretrained`):
//!
//! 1. `tokenizer_config.json`: options (`do_lower_case`, …), `bos_token` …
//!    `mask_token` as strings or as `{"__type": "AddedToken", "content": …,
//!    "lstrip": …}` objects, and `added_tokens_decoder` (id → token with its flags).
//! 2. Only when `added_tokens_decoder` is absent (the legacy layout):
//!    `special_tokens_map.json` overrides the named tokens (objects keep their
//!    flags: RoBERTa's `<mask>` strips the space on its left), then
//!    `added_tokens.json` (token → id) adds tokens, special when named.
//! 3. The class's own defaults (`[CLS]`, `<s>`, …) fill what the files leave
//!    out ([`TokenizerConfig::specials`]).
//!
//! <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/tokenization_utils_base.py>

use serde_json::{Map, Value};
use tokenizers::AddedToken;

use super::special::{Special, Specials, NAMED};
use crate::error::{Error, Result};

const CONFIG: &str = "tokenizer_config.json";
const MAP: &str = "special_tokens_map.json";
const ADDED: &str = "added_tokens.json";

/// `AddedToken(**obj)`: flags absent from `obj` take Python's defaults
/// (`normalized` defaults to `not special`).
fn added_token(file: &str, obj: &Map<String, Value>, special: Option<bool>) -> Result<AddedToken> {
    let content = match obj.get("content") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(Error::config(
                file,
                "a token object has no \"content\" string",
            ))
        }
    };
    let flag = |key: &str| -> Result<Option<bool>> {
        match obj.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(Error::config(
                file,
                format!("token {content:?}: {key} must be true or false, found {v}"),
            )),
        }
    };
    let special = match special {
        Some(s) => s,
        None => flag("special")?.unwrap_or(false),
    };
    Ok(AddedToken {
        single_word: flag("single_word")?.unwrap_or(false),
        lstrip: flag("lstrip")?.unwrap_or(false),
        rstrip: flag("rstrip")?.unwrap_or(false),
        normalized: flag("normalized")?.unwrap_or(!special),
        special,
        content,
    })
}

/// A token value: a string, or an object (with or without `__type`).
fn special_value(file: &str, key: &str, v: &Value, force_special: bool) -> Result<Option<Special>> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(Special::Text(s.clone()))),
        Value::Object(o) => Ok(Some(Special::Token(added_token(
            file,
            o,
            force_special.then_some(true),
        )?))),
        other => Err(Error::config(
            file,
            format!("{key} must be a string or a token object, found {other}"),
        )),
    }
}

fn special_list(file: &str, key: &str, v: &Value, force_special: bool) -> Result<Vec<Special>> {
    match v {
        Value::Null => Ok(Vec::new()),
        Value::Array(items) => Ok(items
            .iter()
            .map(|i| special_value(file, key, i, force_special))
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten()
            .collect()),
        other => Err(Error::config(
            file,
            format!("{key} must be a list of tokens, found {other}"),
        )),
    }
}

fn parse_object(file: &str, bytes: Option<&[u8]>) -> Result<Map<String, Value>> {
    let Some(bytes) = bytes else {
        return Ok(Map::new());
    };
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(Error::config(file, "expected a JSON object")),
        Err(e) => Err(Error::json(file, e)),
    }
}

/// tokenizer_config.json, special_tokens_map.json and added_tokens.json, merged.
#[derive(Debug, Default)]
pub(crate) struct TokenizerConfig {
    /// tokenizer_config.json as written (options such as `do_lower_case`).
    options: Map<String, Value>,
    /// Named tokens the files give (`None`: given as `null`).
    named: Vec<(String, Option<Special>)>,
    /// Model-specific named tokens (`*_token` keys beyond the standard seven).
    model_specific: Vec<(String, Special)>,
    /// `extra_special_tokens`, when a file sets it (even to an empty list).
    extra: Option<Vec<Special>>,
    /// `additional_special_tokens` left beside `extra_special_tokens`.
    additional: Option<Vec<Special>>,
    /// `added_tokens_decoder` (or added_tokens.json), sorted by id.
    added: Vec<(u32, AddedToken)>,
}

impl TokenizerConfig {
    pub(crate) fn parse(
        config: Option<&[u8]>,
        special_tokens_map: Option<&[u8]>,
        added_tokens: Option<&[u8]>,
    ) -> Result<Self> {
        let options = parse_object(CONFIG, config)?;
        let mut out = Self::default();
        for (key, v) in &options {
            if NAMED.contains(&key.as_str()) {
                out.set_named(key, special_value(CONFIG, key, v, false)?);
            } else if key.ends_with("_token") {
                // Only plain strings count here: objects are not AddedTokens yet when
                // transformers collects the model-specific tokens.
                if let Value::String(s) = v {
                    out.model_specific
                        .push((key.clone(), Special::Text(s.clone())));
                }
            }
        }
        // _from_pretrained: additional_special_tokens becomes extra_special_tokens
        // unless extra_special_tokens is set and not empty; a dict of extra tokens
        // names model-specific tokens.
        let extra = options.get("extra_special_tokens");
        let additional = options.get("additional_special_tokens");
        let truthy = |v: Option<&Value>| match v {
            Some(Value::Array(a)) => !a.is_empty(),
            Some(Value::Object(o)) => !o.is_empty(),
            _ => false,
        };
        let (extra, additional) = match (truthy(extra), additional) {
            (false, Some(a)) => (Some(a), None),
            _ => (extra, additional),
        };
        match extra {
            Some(Value::Object(o)) => {
                for (k, t) in o {
                    if let Some(s) = special_value(CONFIG, k, t, false)? {
                        out.model_specific.push((k.clone(), s));
                    }
                }
            }
            Some(v) => out.extra = Some(special_list(CONFIG, "extra_special_tokens", v, false)?),
            None => {}
        }
        if let Some(v) = additional {
            out.additional = Some(special_list(CONFIG, "additional_special_tokens", v, false)?);
        }
        if let Some(Value::Object(decoder)) = options.get("added_tokens_decoder") {
            for (id, t) in decoder {
                let id: u32 = id.parse().map_err(|_| {
                    Error::config(
                        CONFIG,
                        format!("added_tokens_decoder: {id:?} is not a token id"),
                    )
                })?;
                let Value::Object(t) = t else {
                    return Err(Error::config(
                        CONFIG,
                        format!("added_tokens_decoder: token {id} is not an object"),
                    ));
                };
                out.added.push((id, added_token(CONFIG, t, None)?));
            }
        } else {
            // The legacy layout.
            for (key, v) in parse_object(MAP, special_tokens_map)? {
                if key == "extra_special_tokens" {
                    let mut list = out.extra.take().unwrap_or_default();
                    for t in special_list(MAP, &key, &v, true)? {
                        if !list.contains(&t) {
                            list.push(t);
                        }
                    }
                    out.extra = Some(list);
                } else if key == "additional_special_tokens" {
                    out.additional = Some(special_list(MAP, &key, &v, true)?);
                } else if NAMED.contains(&key.as_str()) {
                    out.set_named(&key, special_value(MAP, &key, &v, true)?);
                }
            }
            let special: Vec<String> = out
                .named
                .iter()
                .filter_map(|(_, v)| v.as_ref().map(|v| v.content().to_string()))
                .chain(out.extra.iter().flatten().map(|t| t.content().to_string()))
                .collect();
            for (content, id) in parse_object(ADDED, added_tokens)? {
                let id = id
                    .as_u64()
                    .and_then(|i| u32::try_from(i).ok())
                    .ok_or_else(|| {
                        Error::config(ADDED, format!("{content:?}: {id} is not a token id"))
                    })?;
                let is_special = special.contains(&content);
                out.added.push((id, AddedToken::from(content, is_special)));
            }
        }
        out.added.sort_by_key(|(id, _)| *id);
        out.options = options;
        // Named tokens take the flags of the added token with the same content.
        for (_, v) in &mut out.named {
            if let Some(found) = v
                .as_ref()
                .and_then(|s| out.added.iter().find(|(_, t)| t.content == s.content()))
            {
                *v = Some(Special::Token(found.1.clone()));
            }
        }
        Ok(out)
    }

    fn set_named(&mut self, key: &str, value: Option<Special>) {
        match self.named.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.named.push((key.to_string(), value)),
        }
    }

    /// `tokenizer_class`, without a `Fast` suffix.
    pub(crate) fn tokenizer_class(&self) -> Option<&str> {
        match self.options.get("tokenizer_class") {
            Some(Value::String(s)) => Some(s.strip_suffix("Fast").unwrap_or(s)),
            _ => None,
        }
    }

    /// A boolean option; `None` when absent or `null`.
    pub(crate) fn flag(&self, key: &str) -> Result<Option<bool>> {
        match self.options.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(Error::config(
                CONFIG,
                format!("{key} must be true or false, found {v}"),
            )),
        }
    }

    /// `clean_up_tokenization_spaces` (transformers 5 defaults it to false).
    pub(crate) fn clean_up_spaces(&self) -> Result<bool> {
        Ok(self.flag("clean_up_tokenization_spaces")?.unwrap_or(false))
    }

    /// The named tokens of a class whose `__init__` defaults are `defaults`,
    /// with `spm_extra` the control and user-defined pieces of a sentencepiece
    /// model (transformers passes them as `additional_special_tokens`).
    pub(crate) fn specials(
        &self,
        defaults: &[(&str, Special)],
        spm_extra: Option<Vec<Special>>,
    ) -> Specials {
        let mut named = Vec::new();
        for key in NAMED {
            let given = self.named.iter().find(|(k, _)| k == key);
            let value = match given {
                Some((_, v)) => v.clone(),
                None => defaults
                    .iter()
                    .find(|(k, _)| *k == key)
                    .map(|(_, v)| v.clone()),
            };
            if let Some(v) = value {
                named.push((key.to_string(), v));
            }
        }
        named.extend(self.model_specific.iter().cloned());
        let extra = match (&self.extra, spm_extra, &self.additional) {
            (Some(e), _, _) => e.clone(),
            (None, Some(s), _) => s,
            (None, None, Some(a)) => a.clone(),
            (None, None, None) => Vec::new(),
        };
        Specials::new(
            named,
            extra,
            self.added.iter().map(|(_, t)| t.clone()).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::super::special::defaults;
    use super::*;

    fn contents(tokens: &[AddedToken]) -> Vec<(&str, bool, bool)> {
        tokens
            .iter()
            .map(|t| (t.content.as_str(), t.lstrip, t.special))
            .collect()
    }

    #[test]
    fn legacy_map_keeps_the_flags_of_token_objects() {
        let map = br#"{"mask_token": {"content": "<mask>", "lstrip": true}, "pad_token": "<pad>"}"#;
        let cfg = TokenizerConfig::parse(None, Some(map), None).unwrap();
        let s = cfg.specials(
            &defaults(&[("mask_token", "<m>"), ("unk_token", "<unk>")]),
            None,
        );
        assert_eq!(s.get("mask_token"), Some("<mask>"));
        assert_eq!(
            contents(&s.tokens_to_add()),
            [
                ("<unk>", false, true),
                ("<pad>", false, true),
                ("<mask>", true, true)
            ]
        );
    }

    #[test]
    fn added_tokens_decoder_wins_over_the_legacy_files() {
        let cfg = br#"{"added_tokens_decoder": {"5": {"content": "[X]", "special": false}},
                        "mask_token": "[X]"}"#;
        let map = br#"{"mask_token": "[IGNORED]"}"#;
        let cfg = TokenizerConfig::parse(Some(cfg), Some(map), None).unwrap();
        let s = cfg.specials(&[], None);
        assert_eq!(s.get("mask_token"), Some("[X]"));
        // Named, so made special when added.
        assert_eq!(contents(&s.tokens_to_add()), [("[X]", false, true)]);
    }

    #[test]
    fn bad_values_name_the_file_and_key() {
        let err = TokenizerConfig::parse(Some(br#"{"mask_token": 3}"#), None, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "tokenizer_config.json: mask_token must be a string or a token object, found 3"
        );
        let err = TokenizerConfig::parse(None, None, Some(br#"{"[X]": -1}"#)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "added_tokens.json: \"[X]\": -1 is not a token id"
        );
        let err = TokenizerConfig::parse(Some(b"{"), None, None).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("tokenizer_config.json is not valid JSON"));
    }
}
