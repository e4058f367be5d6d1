//! Where a model's layers run: the CPU engine, or the GPU backend
//! (`engine::gpu`, feature `gpu`) when there is an adapter and the model's
//! layers are ones it runs. Every output reports where its numbers came
//! from ([`DeviceInfo`]); a GPU fault mid-run falls back to the CPU for the
//! rest of the model's life, with a one-line notice.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// What a user asks for (`--device`, `?device=`, `<bert-lens device>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// A hardware GPU when there is one and it runs the model; else the CPU.
    #[default]
    Auto,
    Cpu,
    /// The GPU, software adapters (lavapipe, SwiftShader) included; the CPU
    /// with a notice when there is none.
    Gpu,
}

impl DeviceChoice {
    pub const NAMES: [&'static str; 3] = ["auto", "cpu", "gpu"];

    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(Self::Auto),
            "cpu" => Ok(Self::Cpu),
            "gpu" | "webgpu" => Ok(Self::Gpu),
            other => Err(Error::option(
                "device",
                format!("{other:?} is none of auto, cpu, gpu"),
            )),
        }
    }
}

/// The kind of device that computed an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceKind {
    Cpu,
    /// Native wgpu (Vulkan, Metal, DX12).
    Gpu,
    /// WebGPU in a browser.
    Webgpu,
}

/// Where an output's numbers were computed: `device` in every `--json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceInfo {
    pub kind: DeviceKind,
    /// The GPU adapter's name and driver (`None` on the CPU).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adapter: Option<String>,
    /// Why it is not the device asked for, when it is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notice: Option<String>,
}

impl Default for DeviceInfo {
    fn default() -> Self {
        Self::cpu(None)
    }
}

impl DeviceInfo {
    pub fn cpu(notice: Option<String>) -> Self {
        Self {
            kind: DeviceKind::Cpu,
            adapter: None,
            notice,
        }
    }
}

#[cfg(feature = "gpu")]
pub use on_gpu::Placement;

#[cfg(not(feature = "gpu"))]
pub use cpu_only::Placement;

#[cfg(not(feature = "gpu"))]
mod cpu_only {
    use super::*;
    use crate::engine::{Network, Objective, Rows, Shared};
    use crate::types::AttributionLayer;

    /// Built without the GPU backend: always the CPU.
    #[derive(Debug, Default)]
    pub struct Placement {}

    impl Placement {
        pub fn choose(_: &Network, _: DeviceChoice) -> Self {
            Placement {}
        }

        pub fn info(&self) -> DeviceInfo {
            DeviceInfo::cpu(None)
        }

        pub fn scores_and_gradients(
            &self,
            _: &Network,
            _: &[f32],
            _: AttributionLayer,
            _: Shared,
            _: Objective,
        ) -> Option<(Vec<f32>, Vec<f32>)> {
            None
        }

        pub fn logits(
            &self,
            _: &Network,
            _: &[f32],
            _: AttributionLayer,
            _: Shared,
            _: Rows,
        ) -> Option<Vec<f32>> {
            None
        }
    }
}

#[cfg(feature = "gpu")]
mod on_gpu {
    use std::sync::Mutex;

    use super::*;
    use crate::engine::embeddings::EmbeddingsTape;
    use crate::engine::gpu::{wait, Adapters, Gpu, GpuEncoder, GpuTape};
    use crate::engine::{Network, Objective, Rows, Shared};
    use crate::types::AttributionLayer;

    /// The most bytes of tape one GPU pass holds; larger batches are split.
    const TAPE_BUDGET: usize = 1 << 30;

    /// `auto` takes the GPU for models whose layers hold at least this many
    /// weights (a base-size model's 85 M; the default MiniLM's 11 M stay on
    /// the CPU, which has no device to open and no upload to wait for). An
    /// estimate of the crossover, not yet measured on a hardware GPU.
    pub const AUTO_MIN_WEIGHTS: usize = 40_000_000;

    /// The weights the layers apply (ALBERT's shared ones once per application).
    fn layer_weights(net: &Network) -> usize {
        net.encoder
            .layers
            .iter()
            .map(|l| {
                l.qkv.weight.len()
                    + l.attention_output.weight.len()
                    + l.intermediate.weight.len()
                    + l.output.weight.len()
            })
            .sum()
    }

    /// The layers on a GPU, and what happened to it.
    #[derive(Debug)]
    struct OnDevice {
        encoder: GpuEncoder,
        tape: Mutex<GpuTape>,
    }

    /// Where a model's layers run, chosen once when it is placed.
    #[derive(Debug, Default)]
    pub struct Placement {
        gpu: Option<OnDevice>,
        /// Why it runs on the CPU though the GPU was asked for (or failed).
        notice: Mutex<Option<String>>,
    }

    impl Placement {
        /// Opens the device `choice` asks for and uploads the layers.
        pub fn choose(net: &Network, choice: DeviceChoice) -> Self {
            let adapters = match choice {
                DeviceChoice::Cpu => return Self::default(),
                DeviceChoice::Auto if layer_weights(net) < AUTO_MIN_WEIGHTS => {
                    return Self::default()
                }
                DeviceChoice::Auto => Adapters::Hardware,
                DeviceChoice::Gpu => Adapters::Any,
            };
            let placed = Gpu::open(adapters).and_then(|gpu| GpuEncoder::new(gpu, &net.encoder));
            match placed {
                Ok(encoder) => Self {
                    gpu: Some(OnDevice {
                        encoder,
                        tape: Mutex::new(GpuTape::default()),
                    }),
                    notice: Mutex::new(None),
                },
                // auto says nothing when there is simply no GPU.
                Err(e) => Self {
                    gpu: None,
                    notice: Mutex::new(
                        (choice == DeviceChoice::Gpu).then(|| format!("{e}; computed on the CPU")),
                    ),
                },
            }
        }

        fn notice(&self) -> std::sync::MutexGuard<'_, Option<String>> {
            self.notice.lock().unwrap_or_else(|p| p.into_inner())
        }

        /// Where the last computation ran.
        pub fn info(&self) -> DeviceInfo {
            let notice = self.notice().clone();
            match (&self.gpu, notice) {
                (Some(d), None) => DeviceInfo {
                    kind: if cfg!(target_arch = "wasm32") {
                        DeviceKind::Webgpu
                    } else {
                        DeviceKind::Gpu
                    },
                    adapter: Some(d.encoder.gpu.adapter.clone()),
                    notice: None,
                },
                (_, notice) => DeviceInfo::cpu(notice),
            }
        }

        /// The GPU, unless there is none or it has failed. In a browser,
        /// only inside a call that can wait for it (`gpu::wait`): any other
        /// call computes the same numbers on the CPU.
        fn device(&self) -> Option<&OnDevice> {
            self.gpu
                .as_ref()
                .filter(|_| self.notice().is_none() && wait::can_wait())
        }

        /// Marks the GPU lost, as a driver reset would (for the tests).
        #[doc(hidden)]
        pub fn simulate_loss(&self) {
            if let Some(d) = &self.gpu {
                d.encoder.gpu.simulate_loss();
            }
        }

        /// Records a fault: the rest runs on the CPU.
        fn failed(&self, e: Error) {
            *self.notice() = Some(format!("{e}; computed on the CPU"));
        }

        /// [`Network::scores_and_gradients`] on the GPU, in batches that
        /// fit it; `None` when the CPU must do it (no GPU, or it just failed).
        pub fn scores_and_gradients(
            &self,
            net: &Network,
            xs: &[f32],
            entry: AttributionLayer,
            shared: Shared,
            objective: Objective,
        ) -> Option<(Vec<f32>, Vec<f32>)> {
            let dev = self.device()?;
            let run = || -> Result<(Vec<f32>, Vec<f32>)> {
                let t = shared.tokens();
                let per = net_width(net, entry);
                let batch = dev.encoder.max_batch(t, TAPE_BUDGET);
                let mut tape = dev.tape.lock().unwrap_or_else(|p| p.into_inner());
                let (mut scores, mut grads) = (Vec::new(), Vec::with_capacity(xs.len()));
                for chunk in xs.chunks(batch * t * per) {
                    let mut emb = EmbeddingsTape::default();
                    let (s, g) = net.scores_and_gradients_on(
                        &dev.encoder,
                        &mut tape,
                        &mut emb,
                        chunk,
                        entry,
                        shared,
                        objective,
                    )?;
                    scores.extend(s);
                    grads.extend(g);
                }
                Ok((scores, grads))
            };
            match run() {
                Ok(r) => Some(r),
                Err(e) => {
                    self.failed(e);
                    None
                }
            }
        }

        /// The logits at `rows` on the GPU (forward only), in batches that fit it.
        pub fn logits(
            &self,
            net: &Network,
            xs: &[f32],
            entry: AttributionLayer,
            shared: Shared,
            rows: Rows,
        ) -> Option<Vec<f32>> {
            let dev = self.device()?;
            let run = || -> Result<Vec<f32>> {
                let t = shared.tokens();
                let per = net_width(net, entry);
                let batch = dev.encoder.max_batch(t, TAPE_BUDGET);
                let mut out = Vec::new();
                for chunk in xs.chunks(batch * t * per) {
                    out.extend(net.logits_on(&dev.encoder, chunk, entry, shared, rows)?);
                }
                Ok(out)
            };
            match run() {
                Ok(r) => Some(r),
                Err(e) => {
                    self.failed(e);
                    None
                }
            }
        }
    }

    /// The width of one token's activation at `entry`.
    fn net_width(net: &Network, entry: AttributionLayer) -> usize {
        let emb = &net.encoder.embeddings;
        match entry {
            AttributionLayer::WordEmbeddings => emb.width,
            AttributionLayer::Embeddings => emb.out_width(),
        }
    }
}
