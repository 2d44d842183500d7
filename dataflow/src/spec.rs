//! `--input` and `--output` specs (SPEC §8).

use connectors::dir::DirConfig;
use operators::parse::Format;

/// One `--input`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InputSpec {
    /// `file:PATH[?format=NAME]`.
    File {
        /// Path as given.
        path: String,
        /// Format hint.
        format: Option<Format>,
    },
    /// `dir:PATH` (each file a feed).
    Dir {
        /// Path as given.
        path: String,
    },
    /// `generator:mode=…,count=…,seed=…[,format=…]`.
    Generator {
        /// The key=value list after `generator:`.
        params: String,
    },
    /// `kafka:TOPIC[,TOPIC…]`: every partition of the topics is a feed.
    Kafka {
        /// The topics, as given.
        topics: Vec<String>,
    },
}

/// One `--output`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OutputSpec {
    /// `dir:PATH[?views=…]`.
    Dir(DirConfig),
    /// `stdout`.
    Stdout,
    /// `null`.
    Null,
    /// `kafka`: the out topics of SPEC §2.4.
    Kafka,
    /// `clickhouse`: the `[clickhouse]` database (SPEC §6).
    Clickhouse,
    /// `redis`: the `[redis]` projection (SPEC §6).
    Redis,
}

/// Parses an input spec; the error says what is wrong and what is accepted.
pub fn parse_input(s: &str) -> Result<InputSpec, String> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix("file:") {
        let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
        if path.is_empty() {
            return Err(format!("--input {s}: file: needs a path"));
        }
        let mut format = None;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("format", name)) => {
                    format = Some(Format::from_name(name).ok_or_else(|| {
                        let known: Vec<_> = Format::ALL.iter().map(|f| f.name()).collect();
                        format!(
                            "--input {s}: unknown format {name:?} (known: {})",
                            known.join(", ")
                        )
                    })?);
                }
                _ => {
                    return Err(format!(
                        "--input {s}: unknown option {pair:?} (known: format=)"
                    ))
                }
            }
        }
        return Ok(InputSpec::File {
            path: path.to_string(),
            format,
        });
    }
    if let Some(path) = s.strip_prefix("dir:") {
        if path.is_empty() {
            return Err(format!("--input {s}: dir: needs a path"));
        }
        return Ok(InputSpec::Dir {
            path: path.to_string(),
        });
    }
    if let Some(params) = s.strip_prefix("generator:") {
        return Ok(InputSpec::Generator {
            params: params.to_string(),
        });
    }
    if let Some(list) = s.strip_prefix("kafka:") {
        let topics: Vec<String> = list
            .split(',')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        if topics.is_empty() {
            return Err(format!("--input {s}: kafka: needs at least one topic"));
        }
        return Ok(InputSpec::Kafka { topics });
    }
    Err(format!("--input {s}: expected file:PATH[?format=NAME], dir:PATH, kafka:TOPIC[,TOPIC…] or generator:mode=…,count=…,seed=…"))
}

/// Parses an output spec.
pub fn parse_output(s: &str, changes: bool) -> Result<OutputSpec, String> {
    let s = s.trim();
    if let Some(rest) = s.strip_prefix("dir:") {
        return DirConfig::parse(rest, changes)
            .map(OutputSpec::Dir)
            .map_err(|e| format!("--output {s}: {e}"));
    }
    match s {
        "stdout" => Ok(OutputSpec::Stdout),
        "null" => Ok(OutputSpec::Null),
        "kafka" => Ok(OutputSpec::Kafka),
        "clickhouse" => Ok(OutputSpec::Clickhouse),
        "redis" => Ok(OutputSpec::Redis),
        _ => Err(format!(
            "--output {s}: expected dir:PATH[?views=…], kafka, clickhouse, redis, stdout or null"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs() {
        assert_eq!(
            parse_input("file:a.csv?format=pjm-da").unwrap(),
            InputSpec::File {
                path: "a.csv".into(),
                format: Some(Format::PjmDa)
            }
        );
        assert!(parse_input("file:a.csv?format=nope")
            .unwrap_err()
            .contains("unknown format"));
        assert!(parse_input("ftp:x").is_err());
        assert_eq!(
            parse_input("dir:d").unwrap(),
            InputSpec::Dir { path: "d".into() }
        );
        assert_eq!(
            parse_input("kafka:a.v1, b.v1").unwrap(),
            InputSpec::Kafka {
                topics: vec!["a.v1".into(), "b.v1".into()]
            }
        );
        assert!(parse_input("kafka:").is_err());
    }

    #[test]
    fn outputs() {
        assert!(matches!(
            parse_output("dir:out?views=ticks", false),
            Ok(OutputSpec::Dir(_))
        ));
        assert!(parse_output("dir:out?views=tick", false)
            .unwrap_err()
            .contains("unknown view"));
        assert_eq!(parse_output("null", false).unwrap(), OutputSpec::Null);
        assert_eq!(parse_output("kafka", false).unwrap(), OutputSpec::Kafka);
        assert_eq!(
            parse_output("clickhouse", false).unwrap(),
            OutputSpec::Clickhouse
        );
        assert_eq!(parse_output(" redis", false).unwrap(), OutputSpec::Redis);
    }
}
