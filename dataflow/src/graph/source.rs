//! `read_documents`: a timely source over one worker's [`SourceReader`].
//!
//! The timely time is coarse: the batch number of the document within its feed (monotone per
//! worker), so interleaved stripes keep every worker on about the same time and a whole document
//! costs one timestamp. The capability is downgraded as batches advance and dropped when the
//! reader is done — never on a failure, which would read as "input finished".

use connectors::source::{Poll, SourceReader};
use operators::model::RawDocument;
use timely::dataflow::operators::generic::operator::source;
use timely::dataflow::{Scope, Stream};

/// Documents handed out per activation before yielding to other operators.
const DOCS_PER_ACTIVATION: usize = 1;

/// A stream of the documents `reader` frames, on this worker.
pub fn read_documents<'scope>(
    scope: Scope<'scope, u64>,
    mut reader: Box<dyn SourceReader>,
) -> Stream<'scope, u64, Vec<RawDocument>> {
    source(scope, "ReadDocuments", move |capability, info| {
        let activator = scope.activator_for(info.address);
        let mut cap = Some(capability);
        move |output| {
            let Some(c) = cap.as_mut() else { return };
            for _ in 0..DOCS_PER_ACTIVATION {
                match reader.poll() {
                    Poll::Ready(doc) => {
                        if doc.batch > *c.time() {
                            c.downgrade(&doc.batch);
                        }
                        output.session(&*c).give(doc);
                    }
                    Poll::Pending => {
                        activator.activate_after(std::time::Duration::from_millis(10));
                        return;
                    }
                    Poll::Done => {
                        // Bounded input exhausted: release the capability.
                        cap = None;
                        return;
                    }
                }
            }
            activator.activate();
        }
    })
}
