//! Start-up and failure handling of a multi-process run.
//!
//! - [`await_dns`]: waits until every peer's host name resolves (a StatefulSet's headless
//!   Service publishes a pod's name only once the pod exists), up to the start-up deadline.
//! - [`Watchdog`]: timely's own connection loop retries forever (it connects to lower indices
//!   and accepts higher ones, printing `awaiting connections`); the watchdog exits the process
//!   with status 1 and a clear message if the cluster is not connected by the deadline.
//! - [`exit_on_peer_loss`]: timely cannot continue without a peer; when one goes away its
//!   receive thread panics with `timely communication error: …` and the workers then panic with
//!   `MergeQueue poisoned.`. A panic hook turns either into a one-line error and exit status 1
//!   at once, instead of a process whose other threads may stay parked forever.

use std::net::ToSocketAddrs;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Exit status of a process that lost a peer or could not connect to its peers.
pub const CLUSTER_EXIT_CODE: i32 = 1;

/// Waits until the host of every address but `me`'s resolves; `Err` names the ones that still
/// do not at `deadline`.
pub fn await_dns(addresses: &[String], me: usize, deadline: Instant) -> Result<(), String> {
    let mut attempt = 0u32;
    loop {
        let missing: Vec<String> = addresses
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != me)
            .filter_map(|(_, a)| match a.to_socket_addrs().map(|mut it| it.next()) {
                Ok(Some(_)) => None,
                Ok(None) => Some(format!("{a} (no address)")),
                Err(e) => Some(format!("{a} ({e})")),
            })
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "peers not resolvable before cluster.startup_timeout_ms: {}",
                missing.join(", ")
            ));
        }
        if attempt.is_multiple_of(10) {
            tracing::warn!(missing = ?missing, "waiting for peer DNS names");
        }
        attempt += 1;
        std::thread::sleep(Duration::from_millis(500).min(deadline - Instant::now()));
    }
}

/// Exits the process if not disarmed before its deadline.
pub struct Watchdog {
    disarm: mpsc::Sender<()>,
}

impl Watchdog {
    /// Starts the watchdog: at `deadline` it prints `what` and exits with status 1.
    pub fn arm(deadline: Instant, what: String) -> Watchdog {
        let (tx, rx) = mpsc::channel::<()>();
        std::thread::Builder::new()
            .name("tickflow-startup-watchdog".into())
            .spawn(move || {
                let left = deadline.saturating_duration_since(Instant::now());
                if let Err(mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(left) {
                    tracing::error!("{what}");
                    eprintln!("error: cannot start the dataflow: {what}");
                    std::process::exit(CLUSTER_EXIT_CODE);
                }
            })
            .map(|_| ())
            .unwrap_or_else(|e| tracing::warn!(error = %e, "no start-up watchdog"));
        Watchdog { disarm: tx }
    }

    /// The cluster is up: the watchdog ends without acting.
    pub fn disarm(self) {
        let _ = self.disarm.send(());
    }
}

/// True for the panics timely raises when a peer connection breaks.
pub fn is_peer_loss(message: &str) -> bool {
    message.starts_with("timely communication error")
        || message.starts_with("MergeQueue poisoned")
        || message.starts_with("MergeQueue mutex poisoned")
}

/// Installs the panic hook that exits with status 1 on a lost peer (other panics go to the
/// previous hook). Idempotent enough: installing twice chains two hooks with the same effect.
pub fn exit_on_peer_loss() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        if is_peer_loss(&message) {
            tracing::error!(cause = %message, "lost a cluster peer: exiting");
            eprintln!(
                "error: lost a cluster peer ({message}); a timely cluster cannot continue \
                 without every process: exiting. Restart all processes; they resume from the \
                 committed Kafka positions."
            );
            std::process::exit(CLUSTER_EXIT_CODE);
        }
        previous(info);
    }));
}
