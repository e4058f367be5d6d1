//! The perturbation methods (occlusion, Shapley values) in jobs: a session
//! starts a run and says what its inputs are (the core's `PerturbJob`),
//! any worker scores a range of them, and the session finishes the run
//! from every score. The core decides which inputs and what they add up to.

use js_sys::Float64Array;
use wasm_bindgen::prelude::*;

use bertlens_core::session::PerturbJob;

use crate::{device, from_js, into_error, options, to_js, Explainer, Session};

#[wasm_bindgen]
impl Explainer {
    /// Stages F at the inputs `from..to` of `job` (a `Session.perturbStart`'s)
    /// for `bertlens_run` (device.rs): any worker holding the model scores
    /// them, without the session. Its result: `Float64Array`.
    #[wasm_bindgen(js_name = perturbScores)]
    pub fn perturb_scores(
        &self,
        job: JsValue,
        options: JsValue,
        from: usize,
        to: usize,
    ) -> Result<(), JsError> {
        let job: PerturbJob = from_js(job, "job")?;
        let opts = self::options(options)?;
        let model = self.model.clone();
        device::stage(move || {
            let scores = job.scores(&model, &opts, from, to).map_err(into_error)?;
            Ok(Float64Array::from(&scores[..]).into())
        });
        Ok(())
    }
}

#[wasm_bindgen]
impl Session {
    /// Starts a perturbation method with `options` (`PerturbStarted`):
    /// the `job` workers score inputs of, how many `inputs` there are,
    /// the `chunk` of inputs one job holds for `workers` workers, and what
    /// is explained.
    #[wasm_bindgen(js_name = perturbStart)]
    pub fn perturb_start(&self, options: JsValue, workers: usize) -> Result<JsValue, JsError> {
        let run = self
            .inner
            .perturbation(&self.model, &self::options(options)?)
            .map_err(into_error)?;
        to_js(&run.started(workers))
    }

    /// The `Explanation` from the `scores` of every input, in order.
    #[wasm_bindgen(js_name = perturbFinish)]
    pub fn perturb_finish(&self, options: JsValue, scores: &[f64]) -> Result<JsValue, JsError> {
        let run = self
            .inner
            .perturbation(&self.model, &self::options(options)?)
            .map_err(into_error)?;
        let scores = run.finish(scores.to_vec()).map_err(into_error)?;
        let e = self
            .inner
            .assemble(&self.model, &run.opts, vec![(run.explained, scores)]);
        to_js(&e)
    }
}
