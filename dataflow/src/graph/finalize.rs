//! `Finalize::finalize`: gathers every worker's report on worker 0 and, once all have arrived
//! (the input frontier is empty, so every worker's sinks have finished), merges the `dir:`
//! outputs and publishes the run report.

use crate::summary::{RunReport, WorkerReport};
use connectors::dir::{finalize_dir, DirConfig};
use std::cell::RefCell;
use std::rc::Rc;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::generic::Operator;
use timely::dataflow::Stream;

/// Completes a run on worker 0.
pub trait Finalize {
    /// Gathers reports; on completion worker 0 merges `dirs` over `workers` workers and stores
    /// the report in `result`.
    fn finalize(self, dirs: Vec<DirConfig>, workers: usize, result: Rc<RefCell<Option<RunReport>>>);
}

impl Finalize for Stream<'_, u64, Vec<WorkerReport>> {
    fn finalize(
        self,
        dirs: Vec<DirConfig>,
        workers: usize,
        result: Rc<RefCell<Option<RunReport>>>,
    ) {
        let mut report = RunReport::default();
        let mut done = false;
        self.sink(
            Exchange::new(|_: &WorkerReport| 0),
            "Finalize",
            move |(input, frontier)| {
                input.for_each_stamp(|_, data| {
                    for batch in data {
                        for r in batch.drain(..) {
                            report.add(&r);
                        }
                    }
                });
                if frontier.is_empty() && !done {
                    done = true;
                    if report.workers == 0 {
                        // Not worker 0: nothing was routed here.
                        return;
                    }
                    for d in &dirs {
                        match finalize_dir(d, workers) {
                            Ok(files) => report.files.extend(
                                files
                                    .into_iter()
                                    .map(|(f, n)| (d.path.join(f).display().to_string(), n)),
                            ),
                            Err(e) => report
                                .total
                                .sink_errors
                                .push(format!("dir {}: {e}", d.path.display())),
                        }
                    }
                    *result.borrow_mut() = Some(std::mem::take(&mut report));
                }
            },
        );
    }
}
