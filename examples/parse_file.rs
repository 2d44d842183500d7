//! Parses one market file with the pure parsers (format detected from content) and prints the
//! first ticks and every dead letter.
//!
//! `cargo run -p tickflow-examples --example parse_file -- samples/pjm-da.csv`

use operators::model::{render, FeedKind, FeedTable};
use operators::parse::{parse_document, Document, ParseCtx, ParseOutput};

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: parse_file PATH");
        std::process::exit(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            std::process::exit(1);
        }
    };
    let mut feeds = FeedTable::default();
    let id = feeds.add(path.clone(), FeedKind::File);
    let Some(feed) = feeds.get(id) else { return };
    let mut doc = Document::whole(&bytes, feed);
    doc.name = Some(&path);
    let mut ctx = ParseCtx::default();
    let mut out = ParseOutput::default();
    parse_document(&doc, &mut ctx, &mut out);
    println!(
        "{} rows -> {} ticks, {} dead letters",
        out.rows,
        out.ticks.len(),
        out.dead.len()
    );
    for t in out.ticks.iter().take(5) {
        let mut line = String::new();
        render::push_tick_json(&mut line, t, &feeds, false);
        println!("{line}");
    }
    for d in &out.dead {
        let mut line = String::new();
        render::push_dead_letter_json(&mut line, d, false);
        println!("{line}");
    }
}
