//! Splitting one line that holds quotes, with the `csv` crate's rules (RFC 4180 with its
//! leniencies): a field that starts with `"` is quoted, `""` inside it is one quote, and bytes
//! after the closing quote are kept as they are; a quote inside an unquoted field is a plain byte.

/// Splits `line` (no line break) into unescaped fields: their bytes go to `buf` and the end
/// offset of each field into `ends`. Returns `false` when the line ends inside an open quoted
/// field (the record continues on the next line), leaving the outputs unspecified.
pub(crate) fn split(line: &[u8], buf: &mut Vec<u8>, ends: &mut Vec<usize>) -> bool {
    #[derive(PartialEq)]
    enum State {
        Start,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    buf.clear();
    ends.clear();
    let mut state = State::Start;
    for &c in line {
        state = match (state, c) {
            (State::Start | State::Unquoted, b',') => {
                ends.push(buf.len());
                State::Start
            }
            (State::Start, b'"') => State::Quoted,
            (State::Start | State::Unquoted, _) => {
                buf.push(c);
                State::Unquoted
            }
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => {
                buf.push(c);
                State::Quoted
            }
            (State::QuoteInQuoted, b'"') => {
                buf.push(b'"');
                State::Quoted
            }
            (State::QuoteInQuoted, b',') => {
                ends.push(buf.len());
                State::Start
            }
            (State::QuoteInQuoted, _) => {
                buf.push(c);
                State::Unquoted
            }
        };
    }
    if state == State::Quoted {
        return false;
    }
    ends.push(buf.len());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn fields(line: &[u8]) -> Option<Vec<Vec<u8>>> {
        let (mut buf, mut ends) = (Vec::new(), Vec::new());
        if !split(line, &mut buf, &mut ends) {
            return None;
        }
        let mut start = 0;
        Some(
            ends.iter()
                .map(|&e| {
                    let f = buf[start..e].to_vec();
                    start = e;
                    f
                })
                .collect(),
        )
    }

    fn by_csv_crate(line: &[u8]) -> Vec<Vec<u8>> {
        let mut rdr = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(line);
        let mut rec = csv::ByteRecord::new();
        match rdr.read_byte_record(&mut rec) {
            Ok(true) => rec.iter().map(<[u8]>::to_vec).collect(),
            _ => vec![Vec::new()],
        }
    }

    #[test]
    fn examples() {
        let f = fields(b"1,\"A, \"\"q\"\" B\",x\"y,\"a\"b").unwrap_or_default();
        let want: Vec<&[u8]> = vec![b"1", b"A, \"q\" B", b"x\"y", b"ab"];
        assert_eq!(f, want);
        assert_eq!(fields(b"1,\"open"), None);
        assert_eq!(fields(b"").unwrap_or_default(), vec![Vec::<u8>::new()]);
    }

    proptest! {
        #[test]
        fn matches_the_csv_crate(line in proptest::collection::vec(
            prop_oneof![Just(b','), Just(b'"'), Just(b'a'), Just(b' ')], 1..24)
        ) {
            if let Some(f) = fields(&line) {
                prop_assert_eq!(f, by_csv_crate(&line));
            }
        }
    }
}
