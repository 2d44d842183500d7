//! Runs the pipeline on 1..N workers in 1..P processes.
//!
//! Every worker plans the inputs itself (planning is deterministic, so all agree on the feed
//! table), reads its share, and runs the same graph. Worker 0 of process 0 returns the run
//! report; other processes return `None`.
//!
//! **Stopping and commits.** A stop request ([`shutdown`], SIGTERM/SIGINT) makes the sources
//! release their capabilities, so the dataflow drains as if the inputs had ended, except that
//! windows still open are not closed (they are not final). The positions each worker found safe
//! (`graph::CommitTracker`) travel in its report to worker 0 of process 0, which commits them to
//! the consumer group once the dataflow is done, if no sink of any worker (nor the `dir:` merge)
//! reported an error; a run whose sinks failed commits nothing. While it runs, a Kafka job whose
//! sinks are all durable on flush also commits periodically, each worker its own partitions,
//! once every worker flushed past the frontier the positions were computed at
//! (`graph::commit_flushed`, every `kafka.commit_interval_ms`).

use crate::graph::{
    commit_flushed, live_reference, read_documents, track_accepted, track_marks, write_sinks,
    CommitTracker, Finalize, FlushPolicy, PeriodicCommit, SinkInputs, SourceProgress, StatsHandles,
};
use crate::spec::{InputSpec, OutputSpec};
use crate::summary::RunReport;
use connectors::chain::Chain;
use connectors::clickhouse::ClickhouseSink;
use connectors::dir::{DirConfig, DirSink};
use connectors::file::{plan_inputs, FileInput, FileReader, InputPlan};
use connectors::generator::{generate, GenerateSpec, Mode};
use connectors::kafka::KafkaSink;
use connectors::null::NullSink;
use connectors::redis::RedisSink;
use connectors::reference::{CsvDirSource, PostgresSource, ReferenceSource};
use connectors::sink::Sink;
use connectors::source::SourceReader;
use connectors::stdout::StdoutSink;
use operators::curves::Forward;
use operators::dedupe::operator::{StoreBarsConfig, StoreConfig};
use operators::dedupe::Dedupe;
use operators::lateness::operator::Lateness;
use operators::lateness::Resume;
use operators::normalize::Normalize;
use operators::views::{Views, ViewsConfig};
pub mod cluster;
mod kafka;
mod observe;
mod options;
pub mod shutdown;
pub mod startup;

pub use kafka::kafka_settings;
pub use options::{
    AggregationOptions, PostgresReference, ReferenceOptions, RunOptions, SinkOptions,
};

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::{Duration, Instant};
use timely::dataflow::operators::core::Filter;
use timely::dataflow::operators::{Concatenate, Inspect, Probe};

/// How many batch numbers a bounded run's source may read past what the views completed.
const READ_AHEAD_BATCHES: u64 = 2;

/// Why a run failed before or while running.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Inputs could not be planned.
    #[error("{0}")]
    Plan(String),
    /// Timely could not start (ports, hostfile, peers).
    #[error("cannot start the dataflow: {0}")]
    Start(String),
    /// A worker failed.
    #[error("worker failed: {0}")]
    Worker(String),
    /// The outputs are durable but the input positions could not be committed.
    #[error("{0}")]
    Commit(String),
}

fn timely_config(opts: &RunOptions) -> Result<timely::Config, RunError> {
    let workers = opts.workers.max(1);
    if opts.processes <= 1 {
        return Ok(if workers == 1 {
            timely::Config::thread()
        } else {
            timely::Config::process(workers)
        });
    }
    if let Some(peers) = &opts.peers {
        return Ok(cluster_config(workers, opts.process_index, peers.clone()));
    }
    let hostfile = opts.hostfile.as_ref().ok_or_else(|| {
        RunError::Start("--hostfile is required with more than one process".into())
    })?;
    let text = std::fs::read_to_string(hostfile)
        .map_err(|e| RunError::Start(format!("hostfile {}: {e}", hostfile.display())))?;
    let addresses: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect();
    if addresses.len() < opts.processes {
        return Err(RunError::Start(format!(
            "hostfile {} lists {} addresses for {} processes",
            hostfile.display(),
            addresses.len(),
            opts.processes
        )));
    }
    let addresses = addresses.into_iter().take(opts.processes).collect();
    Ok(cluster_config(workers, opts.process_index, addresses))
}

fn cluster_config(workers: usize, process: usize, addresses: Vec<String>) -> timely::Config {
    timely::Config {
        communication: timely::CommunicationConfig::Cluster {
            threads: workers,
            process,
            addresses,
            report: false,
            zerocopy: false,
        },
        worker: timely::WorkerConfig::default(),
    }
}

/// Before timely connects a multi-process run: waits for the peers' DNS names (peer-DNS mode),
/// arms the start-up watchdog and the peer-loss exit. `None` for one process.
fn cluster_startup(opts: &RunOptions) -> Result<Option<startup::Watchdog>, RunError> {
    if opts.processes <= 1 {
        return Ok(None);
    }
    let deadline = Instant::now() + Duration::from_millis(opts.startup_timeout_ms);
    if let Some(peers) = &opts.peers {
        tracing::info!(peers = ?peers, process_index = opts.process_index, "cluster peers from DNS");
        startup::await_dns(peers, opts.process_index, deadline).map_err(RunError::Start)?;
    }
    startup::exit_on_peer_loss();
    Ok(Some(startup::Watchdog::arm(
        deadline,
        format!(
            "process {} of {}: the peers did not all connect within {} ms              (cluster.startup_timeout_ms); check that every process runs with the same              DATA_PROC_PROCESSES and can reach the others' peer port",
            opts.process_index, opts.processes, opts.startup_timeout_ms
        ),
    )))
}

/// Plans the inputs of a run. Generator inputs are generated here, once per process, into
/// memory (deterministic, so every process holds the same bytes) and read like files.
pub fn plan(opts: &RunOptions) -> Result<InputPlan, RunError> {
    let mut files = Vec::new();
    for input in &opts.inputs {
        files.push(match input {
            InputSpec::File { path, format } => FileInput::File {
                path: path.clone(),
                format: *format,
            },
            InputSpec::Dir { path } => FileInput::Dir { path: path.clone() },
            InputSpec::Generator { params } => generated(params)?,
            InputSpec::Kafka { .. } => continue,
        });
    }
    plan_inputs(&files).map_err(|e| RunError::Plan(e.to_string()))
}

fn generated(params: &str) -> Result<FileInput, RunError> {
    let bad = |e: String| RunError::Plan(format!("--input generator:{params}: {e}"));
    let spec = GenerateSpec::from_params(params).map_err(|e| bad(e.to_string()))?;
    if spec.mode == Mode::Continuous {
        return Err(bad(
            "continuous generation is an unbounded input; pipe `tickflow generate --mode continuous` instead".into(),
        ));
    }
    let mut bytes = Vec::new();
    generate(&spec, &mut bytes, &mut |_| {}).map_err(|e| bad(e.to_string()))?;
    Ok(FileInput::Memory {
        display: format!("generator:{params}"),
        bytes: bytes.into(),
        format: spec.format,
    })
}

/// The resume marks committed with the group's positions (SPEC §11, `connectors::kafka::resume`),
/// as the lateness stage's [`Resume`]: the greatest committed watermark (a commit at `G` proves
/// every window closed at `G` written) and each partition's judged end. Partitions given an
/// explicit start position are left out (they do not resume from the commit). Read once per
/// process before the workers start, so every worker agrees; `None` without marks.
fn resume_from_commits(
    opts: &RunOptions,
    kp: &connectors::kafka::KafkaPlan,
) -> Result<Option<Resume>, RunError> {
    let marks = connectors::kafka::read_marks(&opts.kafka, kp)
        .map_err(|e| RunError::Plan(format!("kafka: reading committed positions: {e}")))?;
    let explicit: std::collections::BTreeSet<operators::model::FeedId> = kp
        .partitions
        .iter()
        .filter(|p| {
            opts.kafka_start
                .contains_key(&(p.topic.clone(), p.partition))
        })
        .map(|p| p.feed)
        .collect();
    let marks: Vec<_> = marks
        .into_iter()
        .filter(|(feed, _)| !explicit.contains(feed))
        .collect();
    let Some(watermark_ms) = marks.iter().map(|(_, m)| m.watermark_ms).max() else {
        return Ok(None);
    };
    Ok(Some(Resume {
        watermark_ms,
        judged_next: marks
            .iter()
            .map(|(feed, m)| (*feed, m.judged_next))
            .collect(),
    }))
}

/// The API keys of `[http]` and of the reference table `api_keys` (SPEC §7), starting from the
/// initial snapshot; the run applies the table's live changes to it.
fn api_keys(opts: &RunOptions) -> crate::http::auth::LiveKeys {
    let rows = opts
        .normalize
        .reference
        .as_deref()
        .map_or(&[][..], |r| &r[..]);
    crate::http::auth::LiveKeys::new(
        crate::http::auth::ApiKeys::from_secrets(&opts.api.api_keys),
        rows,
    )
}

/// Runs the pipeline to completion (bounded inputs). Returns the report on process 0.
pub fn run(opts: RunOptions) -> Result<Option<RunReport>, RunError> {
    let mut plan = plan(&opts)?;
    let kafka_plan = kafka::plan(&opts, &mut plan.table)?;
    let plan = Arc::new(plan);
    let feeds = Arc::new(plan.table.clone());
    tracing::info!(
        feeds = plan.feeds.len(),
        striped = plan.striped_feeds().len(),
        workers = opts.workers,
        processes = opts.processes,
        process_index = opts.process_index,
        "inputs planned"
    );
    let config = timely_config(&opts)?;
    observe::run_started(&opts);
    // Bound before the dataflow starts: a taken port fails the run at once. The query API
    // answers from `served`, which the first worker of this process keeps (graph::serve).
    let served = opts.serve.as_ref().map(|_| {
        crate::http::Served::new(
            opts.api.serve_history_ms,
            opts.aggregation.latest_history,
            crate::http::served::DEFAULT_CHANNEL_BATCHES,
        )
    });
    // The keys the query API checks; the first worker of this process applies the live
    // `api_keys` changes to them (below).
    let live_keys = opts.serve.as_ref().map(|_| Arc::new(api_keys(&opts)));
    let http = match (&opts.serve, &served, &live_keys) {
        (Some(h), Some(served), Some(keys)) => {
            let ctx = crate::http::ApiContext {
                served: served.clone(),
                keys: Arc::clone(keys),
            };
            let routes = crate::http::base_routes().merge(crate::http::api_routes(ctx));
            Some(crate::http::start(h, routes).map_err(RunError::Start)?)
        }
        _ => None,
    };
    let serve_layout = crate::graph::ServeLayout {
        workers: opts.workers.max(1),
        processes: opts.processes.max(1),
    };
    let workers_total = opts.workers.max(1) * opts.processes.max(1);
    let dirs: Vec<DirConfig> = opts
        .outputs
        .iter()
        .filter_map(|o| match o {
            OutputSpec::Dir(d) => Some(d.clone()),
            _ => None,
        })
        .collect();
    for d in &dirs {
        std::fs::create_dir_all(&d.path)
            .map_err(|e| RunError::Plan(format!("output {}: {e}", d.path.display())))?;
    }
    let mut policy = opts.aggregation.policy(&feeds);
    if let Some(kp) = kafka_plan.as_ref() {
        if let Some(resume) = resume_from_commits(&opts, kp)? {
            tracing::info!(
                watermark_ms = resume.watermark_ms,
                partitions = resume.judged_next.len(),
                "resuming after committed watermark"
            );
            policy = policy.with_resume(resume);
        }
    }
    let policy = Arc::new(policy);
    // Every feed is known at plan time (files, Kafka partitions), followed or not: `G` waits
    // until each was seen (or, followed, went idle). Followed partitions never end, so `G`
    // never becomes +∞ in a followed run.
    let planned_feeds = Some(feeds.len());
    // Final-state `dir:` outputs need only final bars; change logs and stdout show every change.
    let sinks_provisional = opts.outputs.iter().any(|o| match o {
        OutputSpec::Dir(d) => d.changes,
        OutputSpec::Stdout | OutputSpec::Kafka => true,
        OutputSpec::Null | OutputSpec::Clickhouse | OutputSpec::Redis => false,
    });
    // The query API serves open windows' bars too; the sinks then get only the final bars,
    // exactly what the views emit without provisional bars (a final bar is never retracted).
    let provisional = sinks_provisional || opts.serve.is_some();
    let wants_ticks = opts.outputs.iter().any(|o| match o {
        OutputSpec::Dir(d) => d.changes || d.views.contains(&connectors::dir::View::Ticks),
        OutputSpec::Redis => false,
        _ => true,
    });
    if opts.outputs.contains(&OutputSpec::Clickhouse) {
        // The schema is created (idempotently) before any worker writes.
        // A server that is down is waited for like a sink that is down; a refusal stops the run.
        let mut attempt = 0;
        loop {
            match connectors::clickhouse::migrate(&opts.sinks.clickhouse) {
                Ok(_) => break,
                Err(e @ connectors::clickhouse::ClickhouseError::Unavailable(_)) => {
                    let wait = crate::graph::backoff_ms(attempt, opts.sinks.retry_max_backoff_ms);
                    tracing::warn!(error = %e, backoff_ms = wait, "clickhouse unavailable at start, retrying");
                    std::thread::sleep(Duration::from_millis(wait));
                    attempt += 1;
                }
                Err(e) => return Err(RunError::Start(format!("--output clickhouse: {e}"))),
            }
        }
    }
    let flush_policy = FlushPolicy {
        flush_interval_ms: opts.sinks.flush_interval_ms,
        retry_max_backoff_ms: opts.sinks.retry_max_backoff_ms,
    };
    let reference_rows = opts.normalize.reference.clone().unwrap_or_default();
    let kafka_feeds: Arc<std::collections::BTreeSet<_>> = Arc::new(
        kafka_plan
            .iter()
            .flat_map(|kp| kp.partitions.iter().map(|p| p.feed))
            .collect(),
    );
    let commit_plan = kafka_plan.clone();
    let periodic_plan = kafka_plan.clone();
    let kafka_settings = opts.kafka.clone();
    let opts_follow = opts.follow;
    let worker_served = served.clone();
    // Last before timely connects, so the start-up deadline covers only the peers.
    let watchdog = cluster_startup(&opts)?;
    let opts = Arc::new(opts);
    let started = Instant::now();
    let guards = timely::execute(config, move |worker| {
        let index = worker.index();
        let result = Rc::new(RefCell::new(None));
        let stats = StatsHandles::default();
        let mut sinks: Vec<Box<dyn Sink>> = Vec::new();
        let mut setup_errors = Vec::new();
        for o in &opts.outputs {
            match o {
                OutputSpec::Dir(d) => match DirSink::new(
                    Arc::new(DirConfig {
                        // The budget is the process's: its workers share it.
                        sort_memory_bytes: usize::try_from(opts.sinks.sort_memory_bytes)
                            .unwrap_or(usize::MAX)
                            / opts.workers.max(1),
                        ..d.clone()
                    }),
                    feeds.clone(),
                    index,
                ) {
                    Ok(s) => sinks.push(Box::new(s)),
                    Err(e) => setup_errors.push(e.to_string()),
                },
                OutputSpec::Stdout => sinks.push(Box::new(StdoutSink::new(feeds.clone()))),
                OutputSpec::Null => sinks.push(Box::new(NullSink::default())),
                OutputSpec::Kafka => match KafkaSink::new(&opts.kafka, feeds.clone()) {
                    Ok(s) => sinks.push(Box::new(s)),
                    Err(e) => setup_errors.push(e.to_string()),
                },
                OutputSpec::Clickhouse => {
                    match ClickhouseSink::new(opts.sinks.clickhouse.clone(), feeds.clone()) {
                        Ok(s) => sinks.push(Box::new(s)),
                        Err(e) => setup_errors.push(e.to_string()),
                    }
                }
                OutputSpec::Redis => match RedisSink::new(opts.sinks.redis.clone()) {
                    Ok(s) => sinks.push(Box::new(s)),
                    Err(e) => setup_errors.push(e.to_string()),
                },
            }
        }
        let files = FileReader::new(plan.clone(), index, workers_total, opts.batch_max_bytes);
        let reader: Box<dyn SourceReader> = match &kafka_plan {
            Some(kp) => Box::new(Chain::new(vec![
                Box::new(files),
                Box::new(kafka::reader(&opts, kp, index, workers_total)),
            ])),
            None => Box::new(files),
        };
        let refresh = Duration::from_millis(opts.reference.refresh_interval_ms);
        let tracker = Rc::new(RefCell::new(CommitTracker::new(
            (*kafka_feeds).clone(),
            policy.clone(),
        )));
        // Global worker 0 polls the live source, starting from the snapshot every worker holds.
        let live: Option<Box<dyn ReferenceSource>> =
            match (&opts.reference.dir, &opts.reference.postgres, index) {
                (Some(dir), _, 0) => Some(Box::new(CsvDirSource::resume(
                    dir,
                    reference_rows.to_vec(),
                    refresh,
                ))),
                (None, Some(pg), 0) => Some(Box::new(PostgresSource::resume(
                    pg.dsn.clone(),
                    pg.baseline.clone(),
                    refresh,
                ))),
                _ => None,
            };
        // Periodic commits: Kafka inputs and a commit interval (the sinks decide in write_sinks).
        // Global worker 0 commits every partition in one request (graph::periodic), so only it
        // runs a committer thread; the others only know that periodic commits are on.
        let committer =
            match (&periodic_plan, opts.commit_interval_ms) {
                (Some(kp), ms) if ms > 0 => Some(Rc::new(RefCell::new((index == 0).then(|| {
                    connectors::kafka::Committer::start(opts.kafka.clone(), kp.clone())
                })))),
                _ => None,
            };
        worker.dataflow::<u64, _, _>(|scope| {
            let progress = SourceProgress::default();
            // Bounded runs of several workers: the source reads at most READ_AHEAD_BATCHES
            // past what the views completed (graph::source "Flow control"). One worker cannot
            // run ahead of another; followed runs number rounds by the clock, so a bound in
            // rounds would stall them.
            let probe = timely::dataflow::ProbeHandle::new();
            let docs = read_documents(
                scope,
                reader,
                progress.clone(),
                tracker.clone(),
                shutdown::requested,
                (!opts_follow && workers_total > 1).then(|| (probe.clone(), READ_AHEAD_BATCHES)),
            );
            let reference_changes = live_reference(scope, live, progress, refresh);
            // Every worker receives every change (broadcast): the first of each process applies
            // them. The operator exists on every worker — the dataflow must be the same on all.
            let keys = live_keys
                .clone()
                .filter(|_| index % opts.workers.max(1) == 0);
            reference_changes.clone().inspect(move |(row, diff)| {
                if let Some(k) = &keys {
                    k.apply(row, *diff);
                }
            });
            let parsed = docs.normalize_with_reference(
                Some(reference_changes.clone()),
                feeds.clone(),
                opts.normalize.clone(),
                stats.normalize.clone(),
            );
            let judged = parsed.ticks.judge_lateness(
                parsed.summaries,
                policy.clone(),
                feeds.clone(),
                planned_feeds,
                stats.lateness.clone(),
            );
            let accepted = track_accepted(judged.accepted, tracker.clone());
            let marks = track_marks(judged.marks, tracker.clone());
            // Dedupe derives the latest prices from its store of held identities and, without
            // provisional bars, keeps the (final) bars there too, instead of the views keeping
            // a second copy of every tick.
            let store = StoreConfig {
                bars: (!provisional).then(|| StoreBarsConfig {
                    stats: stats.views.clone(),
                    stopped: shutdown::requested,
                }),
                latest: true,
            };
            let store_bars = store.bars.is_some();
            let stored = accepted.dedupe_with_store(
                marks.clone(),
                policy.clone(),
                stats.dedupe.clone(),
                store,
            );
            let changes = stored.changes;
            let mut views = changes.clone().maintain_views(
                marks,
                ViewsConfig {
                    policy: policy.clone(),
                    provisional,
                    bars: !store_bars,
                    stopped: shutdown::requested,
                },
                stats.views.clone(),
            );
            views.bars = scope.concatenate([views.bars, stored.bars]);
            views.bars = views.bars.probe_with(&probe);
            let forward = stored
                .latest
                .clone()
                .forward_curves(reference_rows.clone(), reference_changes);
            if let Some(served) = worker_served.as_ref() {
                // Process p's first worker (global index p·workers) keeps its served state.
                let mine = (index % serve_layout.workers == 0).then(|| served.clone());
                crate::graph::serve_views(
                    changes.clone(),
                    views.bars.clone(),
                    scope.concatenate([views.delivery.clone(), forward.clone()]),
                    serve_layout,
                    mine,
                );
            }
            let inputs = SinkInputs {
                ticks: wants_ticks.then_some(changes),
                bars: if sinks_provisional {
                    views.bars
                } else {
                    views.bars.filter(|(b, _)| b.is_final)
                },
                latest: stored.latest,
                curves: scope.concatenate([views.delivery, forward]),
                dead: scope.concatenate([parsed.dead, judged.late]),
            };
            let written = write_sinks(
                inputs,
                sinks,
                index,
                stats,
                flush_policy,
                tracker.clone(),
                committer.clone(),
            );
            written
                .reports
                .finalize(dirs.clone(), workers_total, result.clone());
            if let Some(committer) = committer.clone() {
                commit_flushed(
                    written.flushed,
                    tracker.clone(),
                    PeriodicCommit {
                        committer,
                        interval: Duration::from_millis(opts.commit_interval_ms),
                        workers: workers_total,
                    },
                );
            }
        });
        while worker.has_dataflows() {
            worker.step_or_park(None);
        }
        let mut report = result.borrow_mut().take();
        if let Some(r) = report.as_mut() {
            r.total.sink_errors.extend(setup_errors);
        }
        report
    })
    .map_err(RunError::Start)?;
    if let Some(w) = watchdog {
        tracing::info!("cluster connected");
        w.disarm();
    }
    let mut report = None;
    let joined = guards.join();
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "dataflow finished"
    );
    for r in joined {
        match r {
            Ok(Some(mut rep)) => {
                rep.elapsed_s = started.elapsed().as_secs_f64();
                report = Some(rep);
            }
            Ok(None) => {}
            Err(e) => return Err(RunError::Worker(e)),
        }
    }
    if let (Some(kp), Some(rep)) = (commit_plan, report.as_ref()) {
        let positions: Vec<connectors::source::Position> = rep
            .total
            .positions
            .iter()
            .map(|&(feed, next)| connectors::source::Position { feed, next })
            .collect();
        let marks: connectors::kafka::Marks = rep
            .total
            .resume_marks
            .iter()
            .map(|&(feed, watermark_ms, judged_next)| {
                let mark = connectors::kafka::ResumeMark {
                    watermark_ms,
                    judged_next,
                };
                (feed, mark)
            })
            .collect();
        if !rep.total.sink_errors.is_empty() {
            tracing::warn!("a sink did not finish: kafka positions not committed");
        } else {
            let n = connectors::kafka::commit_positions(&kafka_settings, &kp, &positions, &marks)
                .map_err(|e| RunError::Commit(e.to_string()))?;
            tracing::info!(partitions = n, positions = ?positions, "kafka positions committed");
        }
    }
    if let Some(server) = http {
        // A bounded run keeps serving its final state until SIGTERM/SIGINT (docs/http.md);
        // positions are committed before. The summary follows when it stops.
        if !opts_follow && !shutdown::requested() {
            tracing::info!(addr = %server.addr(), "dataflow finished: serving its final state until SIGTERM");
            while !shutdown::requested() {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        if let Some(served) = served.as_ref() {
            served.close();
        }
        server.stop();
    }
    Ok(report)
}
