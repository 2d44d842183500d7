//! SIGTERM/SIGINT: a process-wide "stop" request and the watchdog that bounds the drain.
//!
//! [`install`] sets handlers (libc `sigaction`) that only store into an atomic flag — the one
//! thing a signal handler may safely do. The sources poll [`requested`] and end their share as if
//! the input had ended; the dataflow then drains, the sinks finish and positions are committed
//! (see `runtime::commit`). [`watchdog`] starts a thread that, once a stop is requested, allows
//! `timeout_ms` for all of that and otherwise ends the process with exit status 3 and a message
//! saying so. Nothing here fails: a handler that cannot be installed is logged and ignored.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

static REQUESTED: AtomicBool = AtomicBool::new(false);

/// Exit status when the drain did not finish within `pipeline.shutdown_timeout_ms`.
pub const TIMEOUT_EXIT_CODE: i32 = 3;

extern "C" fn on_signal(_: libc::c_int) {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Installs the SIGTERM and SIGINT handlers (idempotent).
pub fn install() {
    for signal in [libc::SIGTERM, libc::SIGINT] {
        // SAFETY: a zeroed `sigaction` is a valid value; the handler only stores to an atomic,
        // which is async-signal-safe.
        let ok = unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            action.sa_flags = libc::SA_RESTART;
            libc::sigaction(signal, &action, std::ptr::null_mut()) == 0
        };
        if !ok {
            tracing::warn!(signal, "cannot install the shutdown signal handler");
        }
    }
}

/// True once SIGTERM or SIGINT was received (or [`request`] called).
pub fn requested() -> bool {
    REQUESTED.load(Ordering::SeqCst)
}

/// Requests a stop, as the signals do.
pub fn request() {
    REQUESTED.store(true, Ordering::SeqCst);
}

/// Starts the thread that ends the process if a requested stop takes longer than `timeout_ms`.
pub fn watchdog(timeout_ms: u64) {
    let spawned = std::thread::Builder::new()
        .name("shutdown-watchdog".into())
        .spawn(move || {
            while !requested() {
                std::thread::sleep(Duration::from_millis(20));
            }
            tracing::info!(timeout_ms, "stop requested: draining sources and sinks");
            let since = Instant::now();
            std::thread::sleep(Duration::from_millis(timeout_ms));
            // Logged (not printed) so that `--log-format json` output stays one JSON object a line.
            tracing::error!(
                elapsed_ms = since.elapsed().as_millis() as u64,
                "shutdown did not finish within pipeline.shutdown_timeout_ms = {timeout_ms} ms; positions not committed"
            );
            std::process::exit(TIMEOUT_EXIT_CODE);
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the shutdown watchdog");
    }
}
