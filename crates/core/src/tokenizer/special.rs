//! Special and added tokens, handed to the `tokenizers` crate in the order
//! transformers 5 hands them over.
//!
//! `TokenizersBackend.__init__` adds, in this order, the tokens of
//! `added_tokens_decoder`, the named tokens (bos, eos, unk, sep, pad, cls,
//! mask, then model-specific ones), and the extra special tokens; a later
//! token with the same content replaces an earlier one (so an ALBERT control
//! symbol `[MASK]` replaces the `lstrip` mask of tokenizer_config.json).
//! [`Specials::tokens_to_add`] reproduces that list.
//!
//! <https://github.com/huggingface/transformers/blob/v5.24.0/src/transformers/tokenization_utils_tokenizers.py>

use tokenizers::AddedToken;

/// transformers' `SPECIAL_TOKENS_ATTRIBUTES`, in its order.
pub(crate) const NAMED: [&str; 7] = [
    "bos_token",
    "eos_token",
    "unk_token",
    "sep_token",
    "pad_token",
    "cls_token",
    "mask_token",
];

/// A special token as transformers holds it: a plain string, or an
/// `AddedToken` with its flags. The two never compare equal (as in Python),
/// which decides what [`Specials::tokens_to_add`] keeps twice.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Special {
    Text(String),
    Token(AddedToken),
}

impl Special {
    pub(crate) fn content(&self) -> &str {
        match self {
            Self::Text(t) => t,
            Self::Token(t) => &t.content,
        }
    }

    pub(crate) fn text(s: &str) -> Self {
        Self::Text(s.to_string())
    }
}

/// The special tokens of one tokenizer, resolved.
#[derive(Debug, Clone)]
pub(crate) struct Specials {
    /// bos, eos, unk, sep, pad, cls, mask (those set), then model-specific ones.
    named: Vec<(String, Special)>,
    extra: Vec<Special>,
    added: Vec<AddedToken>,
}

impl Specials {
    pub(crate) fn new(
        named: Vec<(String, Special)>,
        extra: Vec<Special>,
        added: Vec<AddedToken>,
    ) -> Self {
        Self {
            named,
            extra,
            added,
        }
    }

    /// The named token `key` (`"mask_token"`), as a string.
    pub(crate) fn get(&self, key: &str) -> Option<&str> {
        self.named
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.content())
    }

    /// The named token `key` with its flags, as the class's `__init__` sees it.
    pub(crate) fn value(&self, key: &str) -> Option<&Special> {
        self.named.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// Replaces a named token (CamemBERT makes a plain `<mask>` strip on its left).
    pub(crate) fn set(&mut self, key: &str, value: Special) {
        if let Some(slot) = self.named.iter_mut().find(|(k, _)| k == key) {
            slot.1 = value;
        }
    }

    /// The tokens `TokenizersBackend.__init__` adds to the backend, in its order.
    pub(crate) fn tokens_to_add(&self) -> Vec<AddedToken> {
        // transformers-5.24 tokenization_utils_tokenizers.py, TokenizersBackend.__init__:
        // tokens_to_add = [token for index, token in sorted(added_tokens_decoder.items())]
        let mut list: Vec<Special> = self.added.iter().cloned().map(Special::Token).collect();
        // encoder = list(self.added_tokens_encoder.keys()) + [str(token) for token in tokens_to_add]
        let encoder: Vec<String> = list.iter().map(|t| t.content().to_string()).collect();
        // if str(token) not in encoder and token not in tokens_to_add: tokens_to_add.append(token)
        for token in self.named.iter().map(|(_, v)| v).chain(&self.extra) {
            if !encoder.iter().any(|e| e == token.content()) && !list.contains(token) {
                list.push(token.clone());
            }
        }
        let named: Vec<&str> = self.named.iter().map(|(_, v)| v.content()).collect();
        list.into_iter()
            .map(|t| match t {
                // AddedToken(token, special=True)
                Special::Text(s) => AddedToken::from(s, true),
                // if not token.special and str(token) in all_named_tokens: token.special = True
                Special::Token(mut t) => {
                    if !t.special && named.contains(&t.content.as_str()) {
                        t.special = true;
                    }
                    t
                }
            })
            .collect()
    }
}

/// Defaults of a class's `__init__`: (key, token) pairs.
pub(crate) fn defaults(pairs: &[(&'static str, &str)]) -> Vec<(&'static str, Special)> {
    pairs.iter().map(|(k, v)| (*k, Special::text(v))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contents(tokens: &[AddedToken]) -> Vec<(&str, bool, bool)> {
        tokens
            .iter()
            .map(|t| (t.content.as_str(), t.lstrip, t.special))
            .collect()
    }

    #[test]
    fn strings_and_tokens_with_the_same_content_are_both_kept() {
        let mask = AddedToken::from("<mask>", false).lstrip(true);
        let named = vec![
            ("bos_token".to_string(), Special::text("<s>")),
            ("cls_token".to_string(), Special::text("<s>")),
            ("mask_token".to_string(), Special::Token(mask.clone())),
        ];
        let extra = vec![
            Special::Token(AddedToken::from("<s>", true)),
            Special::Token(mask),
        ];
        let s = Specials::new(named, extra, Vec::new());
        // "<s>" once as a string (the second is equal), once as a token; the mask once.
        assert_eq!(
            contents(&s.tokens_to_add()),
            [
                ("<s>", false, true),
                ("<mask>", true, true),
                ("<s>", false, true)
            ]
        );
        // Contents already in added_tokens_decoder are not added again.
        let s = Specials::new(
            vec![("pad_token".to_string(), Special::text("<pad>"))],
            Vec::new(),
            vec![AddedToken::from("<pad>", true)],
        );
        assert_eq!(contents(&s.tokens_to_add()), [("<pad>", false, true)]);
    }

    #[test]
    fn a_later_token_with_the_same_content_is_added_again() {
        let cfg =
            br#"{"mask_token": {"__type": "AddedToken", "content": "[MASK]", "lstrip": true}}"#;
        let cfg = super::super::config::TokenizerConfig::parse(Some(cfg), None, None).unwrap();
        let spm = vec![Special::Token(AddedToken::from("[MASK]", true))];
        let s = cfg.specials(&[], Some(spm));
        assert_eq!(
            contents(&s.tokens_to_add()),
            [("[MASK]", true, true), ("[MASK]", false, true)]
        );
    }
}
