//! The workbench's probes: every row's pooled hidden states per layer
//! (in blocks, in any worker), one layer's probe, and the report. Conversions
//! only; the protocol is `bertlens_core::analysis::probe`'s.

use bertlens_core::analysis::probe::{features, fit_layer, summary, ProbeSet};
use bertlens_core::analysis::{ProbeLayer, ProbeOptions, ProbePool, Row};
use js_sys::{Float32Array, Object, Uint8Array};
use wasm_bindgen::prelude::*;

use crate::{from_js, into_error, or_default, set, to_js, Explainer};

#[wasm_bindgen]
impl Explainer {
    /// Each row's pooled hidden states, layers 0..=L one after another
    /// (`ProbeFeatures`): row `i` at `features[i·width..]`, `read[i]` 0
    /// (and zeros) when its text cannot be read. `pool`: "mean" or "cls".
    #[wasm_bindgen(js_name = probeFeatures)]
    pub fn probe_features(
        &self,
        texts: Vec<String>,
        pairs: Option<Vec<String>>,
        pool: JsValue,
    ) -> Result<Object, JsError> {
        let pool: ProbePool = or_default(pool, "pool")?;
        let rows: Vec<Row> = texts
            .into_iter()
            .enumerate()
            .map(|(i, text)| Row {
                pair: pairs
                    .as_ref()
                    .and_then(|p| p.get(i))
                    .filter(|p| !p.is_empty())
                    .cloned(),
                ..Row::new(i, text, None)
            })
            .collect();
        let feats = features(&self.model, &rows, pool).map_err(into_error)?;
        let width = (self.model.num_layers() + 1) * self.model.hidden_size();
        let mut out = vec![0f32; rows.len() * width];
        let mut read = vec![0u8; rows.len()];
        for (i, f) in feats.iter().enumerate() {
            if let Some(f) = f {
                out[i * width..(i + 1) * width].copy_from_slice(f);
                read[i] = 1;
            }
        }
        let obj = Object::new();
        set(&obj, "rows", rows.len() as u32)?;
        set(&obj, "width", width as u32)?;
        set(&obj, "features", Float32Array::from(&out[..]))?;
        set(&obj, "read", Uint8Array::from(&read[..]))?;
        Ok(obj)
    }
}

/// The probe's split of a set: row `i` of the set has index `i` and label
/// `labels[i]` ("": none); `read[i]` says whether its text was read.
fn probe_set(labels: Vec<String>, read: &[u8], options: JsValue) -> Result<ProbeSet, JsError> {
    let options: ProbeOptions = or_default(options, "options")?;
    if read.len() != labels.len() {
        return Err(JsError::new(&format!(
            "{} read flags for {} rows",
            read.len(),
            labels.len()
        )));
    }
    let rows: Vec<Row> = labels
        .iter()
        .enumerate()
        .map(|(i, l)| Row::new(i, "", Some(l.as_str())))
        .collect();
    let read: Vec<bool> = read.iter().map(|&r| r != 0).collect();
    ProbeSet::new(&rows, &read, options).map_err(into_error)
}

/// One layer's probe (`ProbeLayer`) from every row's vector of that layer
/// (`x`: `labels.length` × hidden).
#[wasm_bindgen(js_name = probeLayer)]
pub fn probe_layer(
    labels: Vec<String>,
    read: &[u8],
    x: &[f32],
    layer: usize,
    options: JsValue,
) -> Result<JsValue, JsError> {
    let n = labels.len();
    let set = probe_set(labels, read, options)?;
    if n == 0 || x.len() < n || x.len() % n != 0 {
        return Err(JsError::new(&format!(
            "{} values are not {n} vectors",
            x.len()
        )));
    }
    to_js(&fit_layer(&set, layer, &set.select(x, x.len() / n)).layer)
}

/// The probe's report (`ProbeReport`) around the `layers` fitted
/// (`ProbeLayer`s, by any worker); with none, the split alone, or the
/// reason the set cannot be probed.
#[wasm_bindgen(js_name = probeSummary)]
pub fn probe_summary(
    labels: Vec<String>,
    read: &[u8],
    layers: JsValue,
    options: JsValue,
) -> Result<JsValue, JsError> {
    let set = probe_set(labels, read, options)?;
    let layers: Vec<ProbeLayer> = from_js(layers, "layers")?;
    to_js(&summary(&set, layers))
}
