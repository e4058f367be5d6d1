//! The device a model's attribution runs on, and calls that can wait for
//! it. WebGPU answers through the browser's event loop, so a call that may
//! reach the GPU is staged (`Explainer.igSum`, `igScores`, `perturbScores`,
//! `place`, `Session.explain`), then run through the raw export `bertlens_run`, which the
//! worker calls through `WebAssembly.promising`: the core's waits suspend
//! the wasm stack (js/jspi.js) instead of blocking. `takeResult` hands the
//! answer over. Without JSPI the worker calls `bertlens_run(0)`: nothing
//! suspends and the core computes on the CPU.

use std::cell::{Cell, RefCell};

use bertlens_core::device::DeviceChoice;
use bertlens_core::engine::gpu::wait::{self, Host};
use wasm_bindgen::prelude::*;

use crate::{into_error, to_js, Explainer};

#[wasm_bindgen(module = "/js/jspi.js")]
extern "C" {
    fn bertlens_suspend();
    fn bertlens_wake();
}

type Task = Box<dyn FnOnce() -> Result<JsValue, JsError>>;

thread_local! {
    static STAGED: RefCell<Option<Task>> = const { RefCell::new(None) };
    static DONE: RefCell<Option<Result<JsValue, JsError>>> = const { RefCell::new(None) };
    /// Inside `bertlens_run` called through `WebAssembly.promising`.
    static SUSPENDABLE: Cell<bool> = const { Cell::new(false) };
    /// The adapter as the page's `navigator.gpu` describes it.
    static ADAPTER: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Tells the core how to wait for WebGPU (once, at start).
pub(crate) fn install() {
    wait::set_host(Host {
        suspend: || bertlens_suspend(),
        wake: || bertlens_wake(),
        can_suspend: || SUSPENDABLE.with(Cell::get),
        adapter: || ADAPTER.with(|a| a.borrow().clone()),
    });
}

/// Stages `task` for the next `bertlens_run`.
pub(crate) fn stage(task: impl FnOnce() -> Result<JsValue, JsError> + 'static) {
    STAGED.with(|s| *s.borrow_mut() = Some(Box::new(task)));
}

/// Runs the staged call; `suspendable` (non-zero): it was entered through
/// `WebAssembly.promising`, so the core may suspend it while the GPU works.
#[no_mangle]
pub extern "C" fn bertlens_run(suspendable: u32) {
    let Some(task) = STAGED.with(|s| s.borrow_mut().take()) else {
        DONE.with(|d| *d.borrow_mut() = Some(Err(JsError::new("nothing was staged to run"))));
        return;
    };
    SUSPENDABLE.with(|s| s.set(suspendable != 0));
    let out = task();
    SUSPENDABLE.with(|s| s.set(false));
    DONE.with(|d| *d.borrow_mut() = Some(out));
}

/// The answer of the last `bertlens_run`.
#[wasm_bindgen(js_name = takeResult)]
pub fn take_result() -> Result<JsValue, JsError> {
    DONE.with(|d| d.borrow_mut().take())
        .unwrap_or_else(|| Err(JsError::new("no staged call has run")))
}

#[wasm_bindgen]
impl Explainer {
    /// Stages placing the model's attribution passes on `device` (`auto`,
    /// `cpu` or `webgpu`): the run answers `DeviceInfo`, where they run and,
    /// when it is not where asked, why. `adapter`: the adapter as the page's
    /// `navigator.gpu` describes it (its vendor and architecture).
    pub fn place(&self, device: &str, adapter: Option<String>) -> Result<(), JsError> {
        let choice = DeviceChoice::parse(device).map_err(into_error)?;
        ADAPTER.with(|a| *a.borrow_mut() = adapter.filter(|a| !a.trim().is_empty()));
        let model = self.model.clone();
        stage(move || to_js(&model.place(choice)));
        Ok(())
    }

    /// Where attribution's passes run now (`DeviceInfo`; after a fault the
    /// CPU, with its notice).
    pub fn device(&self) -> Result<JsValue, JsError> {
        to_js(&self.model.device())
    }
}
