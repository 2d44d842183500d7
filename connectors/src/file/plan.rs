//! Deterministic planning of file inputs into feeds and per-worker shares.

use operators::model::{FeedId, FeedKind, FeedTable};
use operators::parse::{detect, Format};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One `file:` or `dir:` input as configured.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FileInput {
    /// A single file, with an optional format hint (`file:PATH?format=NAME`).
    File {
        /// The path as given.
        path: String,
        /// Format hint.
        format: Option<Format>,
    },
    /// Every file of a directory (each file a feed).
    Dir {
        /// The directory as given.
        path: String,
    },
    /// A document held in memory (generated inputs), named `display`.
    Memory {
        /// The feed's display name.
        display: String,
        /// The bytes.
        bytes: Arc<[u8]>,
        /// Its format.
        format: Format,
    },
}

/// How a feed is read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadMode {
    /// One document: the whole file, read by one worker.
    Whole,
    /// One member of a zip archive, read by one worker.
    ZipMember(String),
    /// A record stream cut into batches dealt to all workers.
    Striped,
}

/// One planned feed.
#[derive(Clone, Debug)]
pub struct FeedPlan {
    /// Its id in the feed table.
    pub id: FeedId,
    /// The file.
    pub path: PathBuf,
    /// The name used for format detection.
    pub name: String,
    /// Format hint or detected record-stream format.
    pub format: Option<Format>,
    /// How it is read.
    pub mode: ReadMode,
    /// Size in bytes (of the member, for zip members).
    pub size: u64,
    /// The bytes, for in-memory feeds.
    pub data: Option<Arc<[u8]>>,
}

/// The plan for all file inputs of a job.
#[derive(Clone, Debug, Default)]
pub struct InputPlan {
    /// Feed table (ids are indexes into `feeds`).
    pub table: FeedTable,
    /// Feeds in id order.
    pub feeds: Vec<FeedPlan>,
}

/// Why planning failed.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// A path could not be read.
    #[error("input {path}: {source}")]
    Io {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
}

/// Plans the inputs: lists files, splits zips, detects record streams.
pub fn plan_inputs(inputs: &[FileInput]) -> Result<InputPlan, PlanError> {
    let mut plan = InputPlan::default();
    for input in inputs {
        match input {
            FileInput::Memory {
                display,
                bytes,
                format,
            } => {
                let mode = if format.is_record_stream() {
                    ReadMode::Striped
                } else {
                    ReadMode::Whole
                };
                let id = plan.table.add(display.clone(), FeedKind::Generator);
                plan.feeds.push(FeedPlan {
                    id,
                    path: PathBuf::new(),
                    name: display.clone(),
                    format: Some(*format),
                    mode,
                    size: bytes.len() as u64,
                    data: Some(bytes.clone()),
                });
            }
            FileInput::File { path, format } => {
                add_file(&mut plan, path.clone(), Path::new(path), *format)?
            }
            FileInput::Dir { path } => {
                let mut files = Vec::new();
                list_files(Path::new(path), Path::new(path), &mut files).map_err(|source| {
                    PlanError::Io {
                        path: path.clone(),
                        source,
                    }
                })?;
                files.sort();
                for (display, p) in files {
                    add_file(&mut plan, display, &p, None)?;
                }
            }
        }
    }
    Ok(plan)
}

/// Lists the regular files under `dir` recursively, skipping hidden entries: `(display, path)`
/// where display is the path as given joined with the relative path.
fn list_files(root: &Path, dir: &Path, out: &mut Vec<(String, PathBuf)>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') {
            continue;
        }
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() || (kind.is_symlink() && path.is_dir()) {
            list_files(root, &path, out)?;
        } else if path.is_file() {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            out.push((root.join(rel).to_string_lossy().into_owned(), path.clone()));
        }
    }
    Ok(())
}

fn add_file(
    plan: &mut InputPlan,
    display: String,
    path: &Path,
    hint: Option<Format>,
) -> Result<(), PlanError> {
    let io = |source| PlanError::Io {
        path: display.clone(),
        source,
    };
    let size = std::fs::metadata(path).map_err(io)?.len();
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_string();
    let mut head = Vec::with_capacity(64 * 1024);
    std::fs::File::open(path)
        .map_err(io)?
        .take(64 * 1024)
        .read_to_end(&mut head)
        .map_err(io)?;
    if head.starts_with(b"PK\x03\x04") {
        if let Ok(members) = zip_members(path) {
            for (member, member_size) in members {
                let id = plan
                    .table
                    .add(format!("{display}#{member}"), FeedKind::File);
                plan.feeds.push(FeedPlan {
                    id,
                    path: path.to_path_buf(),
                    name: member.clone(),
                    format: hint,
                    mode: ReadMode::ZipMember(member),
                    size: member_size,
                    data: None,
                });
            }
            return Ok(());
        }
        // An unreadable archive is read whole and rejected by the parser as a dead letter.
    }
    let format = hint.or_else(|| detect(&head, Some(&name)).ok());
    let mode = if format.is_some_and(Format::is_record_stream) {
        ReadMode::Striped
    } else {
        ReadMode::Whole
    };
    let id = plan.table.add(display, FeedKind::File);
    plan.feeds.push(FeedPlan {
        id,
        path: path.to_path_buf(),
        name,
        format: hint.or(format.filter(|f| f.is_record_stream())),
        mode,
        size,
        data: None,
    });
    Ok(())
}

fn zip_members(path: &Path) -> Result<Vec<(String, u64)>, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    for i in 0..archive.len() {
        let f = archive.by_index_raw(i).map_err(|e| e.to_string())?;
        if !f.is_dir() {
            out.push((f.name().to_string(), f.size()));
        }
    }
    Ok(out)
}

impl InputPlan {
    /// The whole-document feeds owned by global worker `worker` of `workers`: largest first,
    /// each to the least-loaded worker (ties to the lowest index) — deterministic for a given
    /// worker count.
    pub fn whole_feeds_for(&self, worker: usize, workers: usize) -> Vec<FeedId> {
        let mut whole: Vec<&FeedPlan> = self
            .feeds
            .iter()
            .filter(|f| f.mode != ReadMode::Striped)
            .collect();
        whole.sort_by(|a, b| b.size.cmp(&a.size).then(a.id.cmp(&b.id)));
        let mut load = vec![0u64; workers.max(1)];
        let mut mine = Vec::new();
        for f in whole {
            let (w, _) = load
                .iter()
                .enumerate()
                .min_by_key(|(i, l)| (**l, *i))
                .unwrap_or((0, &0)); // ok: load has at least one entry
            load[w] += f.size.max(1);
            if w == worker {
                mine.push(f.id);
            }
        }
        mine.sort_unstable();
        mine
    }

    /// The striped feeds (every worker reads its share of each).
    pub fn striped_feeds(&self) -> Vec<FeedId> {
        self.feeds
            .iter()
            .filter(|f| f.mode == ReadMode::Striped)
            .map(|f| f.id)
            .collect()
    }
}
