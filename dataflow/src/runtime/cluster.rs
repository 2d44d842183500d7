//! Cluster bootstrap from the environment (pure): a StatefulSet pod's process index from its
//! name (`tickflow-3` → 3) and the peer list from a DNS pattern (`tickflow-{i}.tickflow-peers`).
//!
//! Precedence of the process index: `-p/--process-index`, then `DATA_PROC_PROCESS_INDEX`, then
//! (only with `cluster.peer_dns` set) `POD_NAME`, then `HOSTNAME`. Without `peer_dns` the
//! configured `cluster.process_index` is used as before. Errors are messages for the user.

use crate::config::ClusterConfig;

/// Where the process index and peer addresses of a run come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterPlan {
    /// This process's index.
    pub process_index: usize,
    /// With `peer_dns`: one address per process, this process's own entry being the address it
    /// listens on (`bind_address:peer_port`), the others `host:peer_port` to connect to.
    pub peers: Option<Vec<String>>,
}

/// The environment a process index can be derived from.
#[derive(Clone, Debug, Default)]
pub struct IndexSources {
    /// The index was given by `-p` or `DATA_PROC_PROCESS_INDEX` (then it wins).
    pub explicit: bool,
    /// `POD_NAME` (the Downward API `metadata.name`).
    pub pod_name: Option<String>,
    /// `HOSTNAME` (a StatefulSet pod's host name is its pod name).
    pub hostname: Option<String>,
}

/// The ordinal of a StatefulSet pod name: the digits after its last `-` (`tickflow-3` → 3).
pub fn index_from_pod_name(name: &str) -> Option<usize> {
    let (stem, digits) = name.trim().rsplit_once('-')?;
    if stem.is_empty() || digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // A leading zero is not an ordinal a StatefulSet gives (`tickflow-03`).
    if digits.len() > 1 && digits.starts_with('0') {
        return None;
    }
    digits.parse().ok()
}

/// `host:port`, with brackets around an IPv6 address.
pub fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// The peer list of `processes` processes: `pattern` with `{i}` replaced by each index, at
/// `port`; entry `me` is the listening address `bind:port` instead.
pub fn peer_addresses(
    pattern: &str,
    processes: usize,
    port: u16,
    bind: &str,
    me: usize,
) -> Vec<String> {
    (0..processes)
        .map(|i| {
            if i == me {
                host_port(bind.trim(), port)
            } else {
                host_port(&pattern.trim().replace("{i}", &i.to_string()), port)
            }
        })
        .collect()
}

/// The process index and peers of a run from the configuration and the environment.
pub fn plan(c: &ClusterConfig, env: &IndexSources) -> Result<ClusterPlan, String> {
    let processes = c.processes.max(1) as usize;
    if c.peer_dns.trim().is_empty() {
        return Ok(ClusterPlan {
            process_index: c.process_index as usize,
            peers: None,
        });
    }
    let process_index = if env.explicit {
        c.process_index as usize
    } else {
        let named = [("POD_NAME", &env.pod_name), ("HOSTNAME", &env.hostname)]
            .into_iter()
            .find_map(|(var, v)| v.as_deref().map(|name| (var, name)));
        match named {
            Some((var, name)) => index_from_pod_name(name).ok_or_else(|| {
                format!(
                    "cannot derive the process index from {var}=`{name}` (expected NAME-ORDINAL, \
                     e.g. tickflow-3); set -p or DATA_PROC_PROCESS_INDEX"
                )
            })?,
            None => {
                return Err(
                    "cluster.peer_dns is set but neither -p, DATA_PROC_PROCESS_INDEX, \
                            POD_NAME nor HOSTNAME gives the process index"
                        .into(),
                )
            }
        }
    };
    if process_index >= processes {
        return Err(format!(
            "process index {process_index} is not below cluster.processes ({processes}): \
             DATA_PROC_PROCESSES must equal the StatefulSet's replicas"
        ));
    }
    Ok(ClusterPlan {
        process_index,
        peers: Some(peer_addresses(
            &c.peer_dns,
            processes,
            c.peer_port,
            &c.bind_address,
            process_index,
        )),
    })
}
