//! Identity, duplicates and corrections: the same hour of a node arrives three times; the
//! winner is the greatest (revision, source position), whatever the arrival order.
//!
//! `cargo run -p tickflow-examples --example corrections`

use operators::dedupe::DedupeCore;
use operators::model::{FeedKind, FeedTable};
use operators::parse::{parse_document, Document, ParseCtx, ParseOutput};

const CSV: &str = "ts,instrument_id,price,revision\n\
2024-11-03T05:00:00Z,PJM.RT.PJM-RTO,31.5,0\n\
2024-11-03T05:00:00Z,PJM.RT.PJM-RTO,31.5,0\n\
2024-11-03T05:00:00Z,PJM.RT.PJM-RTO,33.25,1\n";

fn main() {
    let mut feeds = FeedTable::default();
    let id = feeds.add("inline.csv", FeedKind::File);
    let Some(feed) = feeds.get(id) else { return };
    let doc = Document::whole(CSV.as_bytes(), feed);
    let (mut ctx, mut out) = (ParseCtx::default(), ParseOutput::default());
    parse_document(&doc, &mut ctx, &mut out);
    let mut core = DedupeCore::default();
    let mut changes = Vec::new();
    for tick in out.ticks {
        let arrival = core.insert(tick);
        core.drain_changes(&mut changes);
        println!("{arrival:?}:");
        for (t, diff) in changes.drain(..) {
            println!(
                "  {diff:+} price {} version {} flags {:?}",
                t.price,
                t.version,
                t.flags.iter().map(|f| f.name()).collect::<Vec<_>>()
            );
        }
    }
}
