//! A session's attention maps, a view's worth at a time: `attentions` says
//! their sizes with the prediction, and each view asks for what it shows
//! (one layer's heads, one head with its vectors, every layer for the model
//! view, the rollout), so that one explanation does not copy every layer's
//! maps out of the engine.

use js_sys::{Float32Array, Object};
use wasm_bindgen::prelude::*;

use crate::{into_error, set, to_js, Session};

#[wasm_bindgen]
impl Session {
    /// The recorded pass (`Analysis`): the prediction with the rollout as
    /// its attributions (`explanation`), and the maps' sizes `layers`,
    /// `heads`, `tokens`, `headDim`, with the `scale` of q·k and each
    /// layer's sliding `windows`. The maps come from `attentionLayer`,
    /// `attentionMaps` and `rollout`.
    pub fn attentions(&self, options: JsValue) -> Result<Object, JsError> {
        let att = self
            .inner
            .attentions()
            .ok_or_else(|| JsError::new("this input was prepared without its attentions"))?;
        let out = Object::new();
        set(&out, "explanation", self.prediction(options)?)?;
        set(&out, "layers", att.layers as u32)?;
        set(&out, "heads", att.heads as u32)?;
        set(&out, "tokens", att.tokens as u32)?;
        set(&out, "headDim", att.head_dim as u32)?;
        set(&out, "scale", att.scale)?;
        set(&out, "windows", to_js(&att.windows)?)?;
        Ok(out)
    }

    /// One layer's maps (`LayerMaps`): `probabilities` `[head][query][key]`
    /// of every head (the head view, the heatmap); with `head`, that head's
    /// `[query][key]` and its `queries`/`keys` `[token][d]` and
    /// `positionScores` `[query][key]` (DeBERTa's relative terms of the
    /// scores, else empty: the neuron view).
    #[wasm_bindgen(js_name = attentionLayer)]
    pub fn attention_layer(&self, layer: usize, head: Option<usize>) -> Result<Object, JsError> {
        let m = self
            .inner
            .attention_layer(layer, head)
            .map_err(into_error)?;
        let out = Object::new();
        set(&out, "layer", layer as u32)?;
        set(&out, "head", head.map(|k| k as u32))?;
        set(&out, "probabilities", Float32Array::from(m.probabilities))?;
        if head.is_some() {
            set(&out, "queries", Float32Array::from(m.queries))?;
            set(&out, "keys", Float32Array::from(m.keys))?;
            set(
                &out,
                "positionScores",
                Float32Array::from(m.position_scores),
            )?;
        }
        Ok(out)
    }

    /// Every layer's probabilities `[layer][head][query][key]` (the model view).
    #[wasm_bindgen(js_name = attentionMaps)]
    pub fn attention_maps(&self) -> Result<Float32Array, JsError> {
        let att = self
            .inner
            .attentions()
            .ok_or_else(|| JsError::new("this input was prepared without its attentions"))?;
        Ok(Float32Array::from(&att.probabilities[..]))
    }

    /// The attention rollout `[query][key]` (computed once per session).
    pub fn rollout(&self) -> Result<Float32Array, JsError> {
        let r = self.inner.rollout().map_err(into_error)?;
        Ok(Float32Array::from(&r.matrix[..]))
    }
}
