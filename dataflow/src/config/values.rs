//! Checking a TOML value, or parsing an environment string, against a key's [`Kind`]. Both return
//! the value to merge (normalised: env enums get their canonical spelling, interval strings become
//! arrays) or a message. Messages never quote the value of a secret key.

use super::keys::Kind;
use super::types::BarInterval;
use operators::parse::Format;
use toml::Value;

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::String(_) => "a string",
        Value::Integer(_) => "an integer",
        Value::Float(_) => "a float",
        Value::Boolean(_) => "a boolean",
        Value::Datetime(_) => "a datetime",
        Value::Array(_) => "an array",
        Value::Table(_) => "a table",
    }
}

fn expected(what: &str, v: &Value) -> String {
    format!("expected {what}, found {}", type_name(v))
}

fn check_int(n: i64, min: i64, max: i64) -> Result<Value, String> {
    if n < min {
        Err(format!("{n} is below the minimum {min}"))
    } else if n > max {
        Err(format!("{n} is above the maximum {max}"))
    } else {
        Ok(Value::Integer(n))
    }
}

fn check_enum(s: &str, names: &[&str], exact: bool) -> Result<Value, String> {
    let found = names.iter().find(|n| {
        if exact {
            **n == s
        } else {
            n.eq_ignore_ascii_case(s.trim())
        }
    });
    match found {
        Some(n) => Ok(Value::String(n.to_string())),
        None => Err(format!("'{s}' is not one of: {}", names.join(", "))),
    }
}

fn check_format(s: &str) -> Result<Value, String> {
    match Format::from_name(s) {
        Some(f) => Ok(Value::String(f.name().to_string())),
        None => {
            let names: Vec<&str> = Format::ALL.iter().map(|f| f.name()).collect();
            Err(format!("'{s}' is not a format name ({})", names.join(", ")))
        }
    }
}

fn intervals(items: &[&str]) -> Result<Value, String> {
    let mut out = Vec::with_capacity(items.len());
    let mut bad = Vec::new();
    for item in items {
        match item.parse::<BarInterval>() {
            Ok(i) => out.push(Value::String(i.name().to_string())),
            Err(_) => bad.push(format!("'{item}'")),
        }
    }
    if bad.is_empty() {
        Ok(Value::Array(out))
    } else {
        Err(format!(
            "invalid bar interval {} (allowed: 1m, 5m, 15m, 1h, 1d)",
            bad.join(", ")
        ))
    }
}

/// Checks a value written in a TOML file.
pub(crate) fn check_toml(kind: Kind, v: &Value) -> Result<Value, String> {
    match (kind, v) {
        (Kind::Str | Kind::Path | Kind::Secret | Kind::SecretUrl, Value::String(_)) => {
            Ok(v.clone())
        }
        (Kind::Str | Kind::Path | Kind::Secret | Kind::SecretUrl, _) => {
            Err(expected("a string", v))
        }
        (Kind::Bool, Value::Boolean(_)) => Ok(v.clone()),
        (Kind::Bool, _) => Err(expected("true or false", v)),
        (Kind::Int { min, max }, Value::Integer(n)) => check_int(*n, min, max),
        (Kind::Int { .. }, _) => Err(expected("an integer", v)),
        (Kind::Float, Value::Integer(n)) => Ok(Value::Float(*n as f64)),
        (Kind::Float, Value::Float(f)) if f.is_finite() => Ok(v.clone()),
        (Kind::Float, Value::Float(_)) => Err("expected a finite number".into()),
        (Kind::Float, _) => Err(expected("a number", v)),
        (Kind::Enum(names), Value::String(s)) => check_enum(s, names, true),
        (Kind::Enum(names), _) => Err(expected(&format!("one of: {}", names.join(", ")), v)),
        (Kind::Format, Value::String(s)) => check_format(s),
        (Kind::Format, _) => Err(expected("a format name", v)),
        (Kind::List { .. }, Value::Array(items)) => match items.iter().find(|i| !i.is_str()) {
            Some(bad) => Err(expected("an array of strings; an item is", bad)),
            None => Ok(v.clone()),
        },
        (Kind::List { .. }, _) => Err(expected("an array of strings", v)),
        (Kind::Intervals, Value::Array(items)) => {
            let strs: Option<Vec<&str>> = items.iter().map(Value::as_str).collect();
            match strs {
                Some(s) => intervals(&s),
                None => Err("expected an array of interval strings like \"5m\"".into()),
            }
        }
        (Kind::Intervals, Value::String(s)) => intervals(&split(s, ',')),
        (Kind::Intervals, _) => Err(expected("an array of intervals like [\"5m\", \"1h\"]", v)),
    }
}

fn split(s: &str, sep: char) -> Vec<&str> {
    s.split(sep)
        .map(str::trim)
        .filter(|i| !i.is_empty())
        .collect()
}

/// Parses the value of an environment variable.
pub(crate) fn parse_env(kind: Kind, s: &str) -> Result<Value, String> {
    let t = s.trim();
    match kind {
        Kind::Str | Kind::Path | Kind::Secret | Kind::SecretUrl => Ok(Value::String(s.to_string())),
        Kind::Bool => match t.to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(Value::Boolean(false)),
            _ => Err(format!(
                "'{s}' is not a boolean (true/false, 1/0, yes/no, on/off)"
            )),
        },
        Kind::Int { min, max } => match t.parse::<i64>() {
            Ok(n) => check_int(n, min, max),
            Err(_) => Err(format!("'{s}' is not an integer")),
        },
        Kind::Float => match t.parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::Float(f)),
            _ => Err(format!("'{s}' is not a finite number")),
        },
        Kind::Enum(names) => check_enum(s, names, false),
        Kind::Format => check_format(s),
        Kind::List { sep, secret } => {
            let items = split(s, sep);
            if secret && s.split(sep).any(|i| i.trim().is_empty()) && !t.is_empty() {
                return Err("a list item is empty".into());
            }
            Ok(Value::Array(
                items
                    .into_iter()
                    .map(|i| Value::String(i.to_string()))
                    .collect(),
            ))
        }
        Kind::Intervals => intervals(&split(s, ',')),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_values_parse_by_kind() {
        let int = Kind::Int { min: 1, max: 10 };
        assert_eq!(parse_env(int, " 7 "), Ok(Value::Integer(7)));
        assert_eq!(parse_env(int, "0"), Err("0 is below the minimum 1".into()));
        assert_eq!(parse_env(int, "x"), Err("'x' is not an integer".into()));
        assert_eq!(parse_env(Kind::Float, "-12.5"), Ok(Value::Float(-12.5)));
        assert!(parse_env(Kind::Float, "NaN").is_err());
        assert_eq!(parse_env(Kind::Bool, "YES"), Ok(Value::Boolean(true)));
        assert_eq!(
            parse_env(Kind::Enum(&["text", "json"]), "JSON"),
            Ok(Value::String("json".into()))
        );
        assert_eq!(
            parse_env(Kind::Intervals, "5m, 1h"),
            Ok(Value::Array(vec![
                Value::String("5m".into()),
                Value::String("1h".into())
            ]))
        );
        assert_eq!(
            parse_env(Kind::Intervals, "5m,2h,1w"),
            Err("invalid bar interval '2h', '1w' (allowed: 1m, 5m, 15m, 1h, 1d)".into())
        );
        assert_eq!(
            parse_env(Kind::Format, "PJM-DA"),
            Ok(Value::String("pjm-da".into()))
        );
        let secret = Kind::List {
            sep: ',',
            secret: true,
        };
        assert_eq!(
            parse_env(secret, "").map(|v| v.as_array().map(Vec::len)),
            Ok(Some(0))
        );
        let err = parse_env(secret, "abc,,def").unwrap_err();
        assert!(!err.contains("abc"), "{err}");
    }

    #[test]
    fn toml_values_check_by_kind() {
        let int = Kind::Int {
            min: 0,
            max: 65_535,
        };
        assert_eq!(
            check_toml(int, &Value::Integer(70_000)),
            Err("70000 is above the maximum 65535".into())
        );
        assert_eq!(
            check_toml(int, &Value::String("80".into())),
            Err("expected an integer, found a string".into())
        );
        assert_eq!(
            check_toml(Kind::Float, &Value::Integer(-5)),
            Ok(Value::Float(-5.0))
        );
        assert!(check_toml(Kind::Enum(&["text"]), &Value::String("TEXT".into())).is_err());
        let list = Kind::List {
            sep: ';',
            secret: false,
        };
        assert!(check_toml(list, &Value::Array(vec![Value::Integer(1)])).is_err());
        assert!(check_toml(Kind::Intervals, &Value::String("1m,1d".into())).is_ok());
    }
}
