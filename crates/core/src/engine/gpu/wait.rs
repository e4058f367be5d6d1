//! Waiting for the device. Natively a thread blocks (`pollster`). In a
//! browser nothing may block: the host suspends the wasm stack instead
//! (JavaScript Promise Integration) and resumes it once the browser has
//! answered, so the engine's passes stay the same synchronous code on both.
//! The host (the wasm binding; the core knows no JavaScript) hands in how
//! with [`set_host`]; without one, or outside a call the host can suspend,
//! the page's GPU is not used and the CPU computes the same numbers.

use std::future::Future;

/// How a browser host suspends the wasm stack until the device answers.
#[derive(Debug, Clone, Copy)]
pub struct Host {
    /// Suspends until [`Host::wake`] is called or a short time has passed.
    pub suspend: fn(),
    /// Ends the current (or the next) [`Host::suspend`].
    pub wake: fn(),
    /// Whether the call under way can be suspended (it entered through the
    /// host's suspendable export).
    pub can_suspend: fn() -> bool,
    /// The adapter as the browser describes it (vendor, architecture): what
    /// wgpu reports of a WebGPU adapter is often empty.
    pub adapter: fn() -> Option<String>,
}

#[cfg(target_arch = "wasm32")]
static HOST: std::sync::OnceLock<Host> = std::sync::OnceLock::new();

/// Installs the browser host (once; later calls are ignored).
#[cfg(target_arch = "wasm32")]
pub fn set_host(host: Host) {
    let _ = HOST.set(host);
}

/// Natively there is no host: threads block.
#[cfg(not(target_arch = "wasm32"))]
pub fn set_host(_: Host) {}

/// Whether a wait may happen now: always natively; in a browser, inside a
/// call the host can suspend.
pub(crate) fn can_wait() -> bool {
    #[cfg(target_arch = "wasm32")]
    {
        HOST.get().is_some_and(|h| (h.can_suspend)())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        true
    }
}

/// The host's name for the adapter, if it has one.
pub(crate) fn adapter() -> Option<String> {
    #[cfg(target_arch = "wasm32")]
    {
        HOST.get().and_then(|h| (h.adapter)())
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        None
    }
}

/// Ends the host's current suspension (a device callback has arrived).
pub(crate) fn wake() {
    #[cfg(target_arch = "wasm32")]
    if let Some(h) = HOST.get() {
        (h.wake)();
    }
}

/// Suspends until the device may have answered (natively: returns at once,
/// after polling the device).
#[cfg(target_arch = "wasm32")]
pub(crate) fn pause() {
    if let Some(h) = HOST.get() {
        (h.suspend)();
    }
}

/// The output of `f`, waiting for it as the target allows.
#[cfg(not(target_arch = "wasm32"))]
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    pollster::block_on(f)
}

/// The output of `f`: polled, the stack suspended between polls (callers
/// check [`can_wait`] first).
#[cfg(target_arch = "wasm32")]
pub(crate) fn block_on<F: Future>(f: F) -> F::Output {
    use std::sync::Arc;
    use std::task::{Context, Poll, Wake, Waker};

    struct HostWaker;
    impl Wake for HostWaker {
        fn wake(self: Arc<Self>) {
            wake();
        }
    }
    let waker = Waker::from(Arc::new(HostWaker));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        pause();
    }
}
