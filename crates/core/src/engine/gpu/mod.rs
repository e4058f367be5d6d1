//! The GPU backend: the encoder's layers as WGSL compute shaders
//! (`kernels.wgsl`) run through `wgpu`, on Vulkan, Metal or DX12 natively
//! and on the browser's WebGPU in the page (the same kernels; see [`wait`]
//! for how the page waits for its device).
//!
//! It implements the same [`super::Layers`] interface as the CPU engine
//! (forward keeping what the backward pass reads, and the input-only
//! backward), so attribution and the session cannot tell which one ran.
//! The embeddings block and the task head stay on the CPU: they are a
//! gather and one or two small products; the layers are where the time goes.
//!
//! One pass is recorded as a list of dispatches, each with its parameters at
//! a dynamic offset in one uniform buffer, and submitted at once; a batch's
//! activations and tape live on the device between the forward and the
//! backward pass, and only the layers' input, output and gradients cross.
//!
//! Faults (no adapter, a lost device, an allocation over the limits, a
//! shader that does not compile) are [`Error::Device`]; the caller computes
//! the same thing on the CPU and says so.

mod encoder;
pub mod wait;

pub use encoder::{GpuEncoder, GpuTape};

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use wgpu::util::DeviceExt;

use crate::error::{Error, Result};

/// A dispatch's parameters, as `Params` in `kernels.wgsl` (32 words).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct Params {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub inner: u32,
    pub a_off: u32,
    pub a_i: u32,
    pub a_k: u32,
    pub a_z0: u32,
    pub a_z1: u32,
    pub b_off: u32,
    pub b_k: u32,
    pub b_j: u32,
    pub b_z0: u32,
    pub b_z1: u32,
    pub c_off: u32,
    pub c_i: u32,
    pub c_j: u32,
    pub c_z0: u32,
    pub c_z1: u32,
    pub flags: u32,
    pub alpha: f32,
    pub eps: f32,
    pub width: u32,
    pub rows: u32,
    pub e_off: u32,
    pub act: u32,
    pub window: u32,
    pub grid: u32,
    pub t: u32,
    pub aux: u32,
    pub pad0: u32,
    pub pad1: u32,
}

pub(crate) const ACCUMULATE: u32 = 1;
pub(crate) const BIAS: u32 = 2;
pub(crate) const C2P: u32 = 4;
pub(crate) const P2C: u32 = 8;

/// The kernels of `kernels.wgsl`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kernel {
    Matmul,
    Softmax,
    SoftmaxBackward,
    LayerNorm,
    LayerNormBackward,
    Activate,
    Glu,
    GluBackward,
    Rotate,
    RelativeScores,
    RelativeGather,
    Combine,
    Copy,
}

impl Kernel {
    const ALL: [Kernel; 13] = [
        Kernel::Matmul,
        Kernel::Softmax,
        Kernel::SoftmaxBackward,
        Kernel::LayerNorm,
        Kernel::LayerNormBackward,
        Kernel::Activate,
        Kernel::Glu,
        Kernel::GluBackward,
        Kernel::Rotate,
        Kernel::RelativeScores,
        Kernel::RelativeGather,
        Kernel::Combine,
        Kernel::Copy,
    ];

    fn entry(self) -> &'static str {
        match self {
            Kernel::Matmul => "matmul",
            Kernel::Softmax => "softmax",
            Kernel::SoftmaxBackward => "softmax_backward",
            Kernel::LayerNorm => "layer_norm",
            Kernel::LayerNormBackward => "layer_norm_backward",
            Kernel::Activate => "activate",
            Kernel::Glu => "glu",
            Kernel::GluBackward => "glu_backward",
            Kernel::Rotate => "rotate",
            Kernel::RelativeScores => "relative_scores",
            Kernel::RelativeGather => "relative_gather",
            Kernel::Combine => "combine",
            Kernel::Copy => "copy",
        }
    }
}

/// A buffer of `len` f32 on the device.
#[derive(Debug, Clone)]
pub(crate) struct Buf {
    buf: wgpu::Buffer,
    pub len: usize,
}

/// What a caller may ask of the adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Adapters {
    /// Hardware only: a discrete, integrated or virtual GPU.
    Hardware,
    /// Any adapter, software ones too (lavapipe, SwiftShader): for tests.
    Any,
}

/// An open device: its queue, the compiled kernels and what it allows.
pub struct Gpu {
    device: wgpu::Device,
    queue: wgpu::Queue,
    layout: wgpu::BindGroupLayout,
    pipelines: Vec<wgpu::ComputePipeline>,
    /// Stand-ins for the bindings a dispatch leaves unused (a, b, c, d, e).
    spare: [Buf; 5],
    /// The adapter's name and driver, as the output reports it.
    pub adapter: String,
    /// A CPU adapter (lavapipe, SwiftShader): correct, never fast.
    pub software: bool,
    limits: wgpu::Limits,
    /// Set when the device is lost or reports an error outside a pass.
    lost: Arc<AtomicBool>,
    /// One pass at a time: a pass holds a batch's buffers.
    lock: Mutex<()>,
}

impl std::fmt::Debug for Gpu {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gpu")
            .field("adapter", &self.adapter)
            .finish()
    }
}

fn device_error(what: impl std::fmt::Display) -> Error {
    Error::Device(what.to_string())
}

impl Gpu {
    /// Opens the first adapter `which` allows, with every limit it has,
    /// and compiles the kernels.
    pub fn open(which: Adapters) -> Result<Arc<Gpu>> {
        if !wait::can_wait() {
            return Err(device_error(
                "is not available: this page cannot wait for WebGPU (its browser lacks \
                 JavaScript Promise Integration)",
            ));
        }
        wait::block_on(Self::open_async(which))
    }

    async fn open_async(which: Adapters) -> Result<Arc<Gpu>> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
            backends: wgpu::Backends::PRIMARY,
            ..wgpu::InstanceDescriptor::new_without_display_handle()
        });
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                if cfg!(target_arch = "wasm32") {
                    device_error("is not available: this browser offers no WebGPU adapter")
                } else {
                    device_error(format!("is not available: no adapter ({e})"))
                }
            })?;
        let mut info = adapter.get_info();
        if info.name.is_empty() {
            // WebGPU: wgpu has the adapter's description alone, often empty.
            info.name = wait::adapter().unwrap_or_else(|| "a WebGPU adapter".into());
        }
        // WebGPU reports no device type; its software adapter is SwiftShader.
        let software = info.device_type == wgpu::DeviceType::Cpu
            || info.name.to_lowercase().contains("swiftshader");
        if software && which == Adapters::Hardware {
            return Err(device_error(format!(
                "is not available: the only adapter is a software one ({})",
                info.name
            )));
        }
        let limits = adapter.limits();
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("bertlens"),
                required_features: wgpu::Features::empty(),
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| device_error(format!("could not be opened: {e}")))?;
        let lost = Arc::new(AtomicBool::new(false));
        {
            let lost = lost.clone();
            device.on_uncaptured_error(Arc::new(move |_e| lost.store(true, Ordering::SeqCst)));
        }
        {
            let lost = lost.clone();
            device
                .set_device_lost_callback(move |_reason, _msg| lost.store(true, Ordering::SeqCst));
        }
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("bertlens kernels"),
            source: wgpu::ShaderSource::Wgsl(include_str!("kernels.wgsl").into()),
        });
        let storage = |binding, read_only| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("bertlens kernels"),
            entries: &[
                wgpu::BindGroupLayoutEntry {
                    binding: 0,
                    visibility: wgpu::ShaderStages::COMPUTE,
                    ty: wgpu::BindingType::Buffer {
                        ty: wgpu::BufferBindingType::Uniform,
                        has_dynamic_offset: true,
                        min_binding_size: wgpu::BufferSize::new(PARAMS as u64),
                    },
                    count: None,
                },
                storage(1, true),
                storage(2, true),
                storage(3, false),
                storage(4, false),
                storage(5, true),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("bertlens kernels"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipelines = Kernel::ALL
            .iter()
            .map(|k| {
                device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                    label: Some(k.entry()),
                    layout: Some(&pipeline_layout),
                    module: &module,
                    entry_point: Some(k.entry()),
                    compilation_options: Default::default(),
                    cache: None,
                })
            })
            .collect();
        if let Some(e) = scope.pop().await {
            return Err(device_error(format!(
                "could not compile bertlens' kernels: {e}"
            )));
        }
        let spare = std::array::from_fn(|_| Buf {
            buf: device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("spare"),
                size: 16,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            }),
            len: 4,
        });
        Ok(Arc::new(Gpu {
            device,
            queue,
            layout,
            pipelines,
            spare,
            adapter: match info.backend {
                wgpu::Backend::BrowserWebGpu => info.name.clone(),
                _ => format!("{} ({:?}, {})", info.name, info.backend, info.driver_info)
                    .replace(", )", ")"),
            },
            software,
            limits,
            lost,
            lock: Mutex::new(()),
        }))
    }

    /// Marks the device lost, as the driver would (for the fallback's tests).
    #[doc(hidden)]
    pub fn simulate_loss(&self) {
        self.lost.store(true, Ordering::SeqCst);
    }

    fn check(&self) -> Result<()> {
        if self.lost.load(Ordering::SeqCst) {
            return Err(device_error("was lost"));
        }
        Ok(())
    }

    /// The largest buffer a kernel may bind, in f32.
    pub fn max_binding(&self) -> usize {
        let bytes = self
            .limits
            .max_storage_buffer_binding_size
            .min(self.limits.max_buffer_size);
        (bytes / 4) as usize
    }

    /// Whether `len` f32 fit in one binding (XLM-R's word embeddings are 768 MB).
    fn fits(&self, what: &str, len: usize) -> Result<()> {
        let mb = |n: usize| (n * 4) >> 20;
        if len > self.max_binding() {
            return Err(device_error(format!(
                "cannot hold {what} of {} MB: its limit is {} MB",
                mb(len),
                mb(self.max_binding())
            )));
        }
        Ok(())
    }

    pub(crate) fn buffer(&self, len: usize) -> Result<Buf> {
        self.fits("a buffer", len)?;
        let buf = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: (len.max(1) * 4) as u64,
            usage: wgpu::BufferUsages::STORAGE
                | wgpu::BufferUsages::COPY_SRC
                | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        Ok(Buf { buf, len })
    }

    pub(crate) fn upload(&self, data: &[f32]) -> Result<Buf> {
        self.fits("a tensor", data.len())?;
        let padded;
        let data = if data.is_empty() {
            padded = [0f32];
            &padded[..]
        } else {
            data
        };
        let buf = self
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: None,
                contents: bytemuck::cast_slice(data),
                usage: wgpu::BufferUsages::STORAGE
                    | wgpu::BufferUsages::COPY_SRC
                    | wgpu::BufferUsages::COPY_DST,
            });
        Ok(Buf {
            buf,
            len: data.len(),
        })
    }

    pub(crate) fn write(&self, buf: &Buf, data: &[f32]) {
        debug_assert!(data.len() <= buf.len);
        self.queue
            .write_buffer(&buf.buf, 0, bytemuck::cast_slice(data));
    }

    /// The first `len` values of `buf`, once every pass before has run.
    pub(crate) fn read(&self, buf: &Buf, len: usize) -> Result<Vec<f32>> {
        let bytes = (len * 4) as u64;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read back"),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let mut encoder = self.device.create_command_encoder(&Default::default());
        encoder.copy_buffer_to_buffer(&buf.buf, 0, &staging, 0, bytes);
        self.queue.submit([encoder.finish()]);
        let slice = staging.slice(..bytes);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
            wait::wake();
        });
        let mapped = self.mapped(&rx)?;
        mapped.map_err(|e| device_error(format!("could not return its results: {e}")))?;
        let view = slice
            .get_mapped_range()
            .map_err(|e| device_error(format!("could not return its results: {e}")))?;
        let out = bytemuck::cast_slice::<u8, f32>(&view).to_vec();
        drop(view);
        staging.unmap();
        self.check()?;
        Ok(out)
    }

    /// What the map callback sent, once the device has run everything before.
    #[cfg(not(target_arch = "wasm32"))]
    fn mapped<T>(&self, rx: &std::sync::mpsc::Receiver<T>) -> Result<T> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| device_error(format!("stopped answering: {e}")))?;
        rx.recv()
            .map_err(|_| device_error("did not return its results"))
    }

    /// What the map callback sent: the browser calls it from its event loop,
    /// which runs while the host has the stack suspended.
    #[cfg(target_arch = "wasm32")]
    fn mapped<T>(&self, rx: &std::sync::mpsc::Receiver<T>) -> Result<T> {
        loop {
            match rx.try_recv() {
                Ok(v) => return Ok(v),
                Err(std::sync::mpsc::TryRecvError::Empty) => {
                    self.check()?;
                    wait::pause();
                }
                Err(_) => return Err(device_error("did not return its results")),
            }
        }
    }

    /// A new pass: dispatches recorded, then run at once by [`Pass::submit`].
    pub(crate) fn pass(&self) -> Pass<'_> {
        Pass {
            gpu: self,
            ops: Vec::new(),
        }
    }

    /// Runs `f` alone on the device, with allocation and validation errors
    /// (out of memory, over a limit) turned into [`Error::Device`].
    pub(crate) fn exclusive<R>(&self, f: impl FnOnce() -> Result<R>) -> Result<R> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.check()?;
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let invalid = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let out = f();
        let invalid = wait::block_on(invalid.pop());
        let oom = wait::block_on(oom.pop());
        if let Some(e) = oom {
            return Err(device_error(format!("ran out of memory: {e}")));
        }
        if let Some(e) = invalid {
            return Err(device_error(format!("refused a pass: {e}")));
        }
        out
    }
}

/// Bytes of one dispatch's parameters in the uniform buffer (a multiple of
/// every adapter's uniform offset alignment, which is at most 256).
const PARAMS: usize = std::mem::size_of::<Params>();
const SLOT: usize = 256;

/// The bindings of one dispatch.
#[derive(Default)]
pub(crate) struct Binds<'b> {
    pub a: Option<&'b Buf>,
    pub b: Option<&'b Buf>,
    pub c: Option<&'b Buf>,
    pub d: Option<&'b Buf>,
    pub e: Option<&'b Buf>,
}

struct Op {
    kernel: Kernel,
    params: Params,
    bufs: [Option<wgpu::Buffer>; 5],
    groups: [u32; 3],
}

/// Dispatches recorded for one submission.
pub(crate) struct Pass<'g> {
    gpu: &'g Gpu,
    ops: Vec<Op>,
}

/// Workgroups in x and y for `groups` of them (x at most 65535); `grid` is x.
fn spread(groups: usize) -> [u32; 3] {
    let groups = groups.max(1);
    let x = groups.min(65_535);
    [x as u32, groups.div_ceil(x) as u32, 1]
}

impl Pass<'_> {
    fn push(&mut self, kernel: Kernel, params: Params, binds: Binds, groups: [u32; 3]) {
        let take = |b: Option<&Buf>| b.map(|b| b.buf.clone());
        self.ops.push(Op {
            kernel,
            params,
            bufs: [
                take(binds.a),
                take(binds.b),
                take(binds.c),
                take(binds.d),
                take(binds.e),
            ],
            groups,
        });
    }

    /// `C = alpha · A B (+ bias) (+ C)` over `batch` products, their sizes,
    /// strides and flags in `p`.
    pub fn matmul(&mut self, p: Params, batch: usize, binds: Binds) {
        let groups = [p.n.div_ceil(64), p.m.div_ceil(64), batch as u32];
        self.push(Kernel::Matmul, p, binds, groups);
    }

    /// A kernel with one workgroup per row (`p.rows` of them).
    pub fn rows(&mut self, kernel: Kernel, mut p: Params, binds: Binds) {
        let groups = spread(p.rows as usize);
        p.grid = groups[0];
        self.push(kernel, p, binds, groups);
    }

    /// An elementwise kernel over `p.rows` values.
    pub fn each(&mut self, kernel: Kernel, mut p: Params, binds: Binds) {
        let groups = spread((p.rows as usize).div_ceil(256));
        p.grid = groups[0];
        self.push(kernel, p, binds, groups);
    }

    /// `dst[..len] = src[..len]`.
    pub fn copy(&mut self, dst: &Buf, src: &Buf, len: usize) {
        let p = Params {
            rows: len as u32,
            ..Default::default()
        };
        self.each(
            Kernel::Copy,
            p,
            Binds {
                a: Some(src),
                c: Some(dst),
                ..Default::default()
            },
        );
    }

    /// Records every dispatch in one compute pass and submits it.
    pub fn submit(self) {
        let gpu = self.gpu;
        if self.ops.is_empty() {
            return;
        }
        let mut bytes = vec![0u8; self.ops.len() * SLOT];
        for (i, op) in self.ops.iter().enumerate() {
            bytes[i * SLOT..i * SLOT + PARAMS].copy_from_slice(bytemuck::bytes_of(&op.params));
        }
        let uniform = gpu
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("params"),
                contents: &bytes,
                usage: wgpu::BufferUsages::UNIFORM,
            });
        let groups: Vec<wgpu::BindGroup> = self
            .ops
            .iter()
            .map(|op| {
                let mut entries = vec![wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &uniform,
                        offset: 0,
                        size: wgpu::BufferSize::new(PARAMS as u64),
                    }),
                }];
                for (slot, buf) in op.bufs.iter().enumerate() {
                    let buf = buf.as_ref().unwrap_or(&gpu.spare[slot].buf);
                    entries.push(wgpu::BindGroupEntry {
                        binding: slot as u32 + 1,
                        resource: buf.as_entire_binding(),
                    });
                }
                gpu.device.create_bind_group(&wgpu::BindGroupDescriptor {
                    label: None,
                    layout: &gpu.layout,
                    entries: &entries,
                })
            })
            .collect();
        let mut encoder = gpu.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("bertlens"),
                timestamp_writes: None,
            });
            for (i, (op, group)) in self.ops.iter().zip(&groups).enumerate() {
                let kernel = Kernel::ALL
                    .iter()
                    .position(|k| *k == op.kernel)
                    .unwrap_or(0);
                pass.set_pipeline(&gpu.pipelines[kernel]);
                pass.set_bind_group(0, group, &[(i * SLOT) as u32]);
                let [x, y, z] = op.groups;
                pass.dispatch_workgroups(x, y, z);
            }
        }
        gpu.queue.submit([encoder.finish()]);
    }
}
