use super::*;

const SECRETS: [&str; 7] = [
    "saslPa55",
    "keyPa55",
    "chPa55",
    "pgPa55",
    "redisPa55",
    "apiKeyOne",
    "apiKeyTwo",
];

fn secret_config() -> Config {
    let toml = r#"
[kafka]
security_protocol = "sasl_ssl"
sasl_mechanism = "SCRAM-SHA-512"
sasl_username = "svc"
sasl_password = "saslPa55"
ssl_certificate_location = "/tls/c.pem"
ssl_key_location = "/tls/k.pem"
ssl_key_password = "keyPa55"
[clickhouse]
password = "chPa55"
[postgres]
dsn = "postgres://user:pgPa55@host/db"
"#;
    ok(
        toml,
        &[
            ("DATA_PROC_REDIS_URL", "redis://:redisPa55@host"),
            ("DATA_PROC_API_KEYS", "apiKeyOne,apiKeyTwo:acme"),
        ],
    )
}

#[test]
fn secrets_never_print() {
    let c = secret_config();
    let printed = c.print_masked();
    let debug = format!("{c:?}\n{c:#?}");
    for s in SECRETS {
        assert!(!printed.contains(s), "{s} in print:\n{printed}");
        assert!(!debug.contains(s), "{s} in Debug");
    }
    assert!(
        printed.contains(r#"dsn = "postgres://user:***@host/db""#),
        "{printed}"
    );
    assert!(
        printed.contains(r#"url = "redis://:***@host""#),
        "{printed}"
    );
    assert!(printed.contains(r#"sasl_password = "***""#), "{printed}");
    let default = Config::default().print_masked();
    assert!(
        default.contains("password = \"\"\n"),
        "unset secrets print empty:\n{default}"
    );
    assert!(
        printed.contains(r#"api_keys = ["***", "***"]"#),
        "{printed}"
    );
    // The clear values are still there for the code that connects.
    assert_eq!(c.kafka.sasl_password.expose(), "saslPa55");
    assert_eq!(c.redis.url.expose(), "redis://:redisPa55@host");
}

#[test]
fn printed_config_reloads_to_the_same_non_secret_values() {
    let c = secret_config();
    let reloaded = ok(&c.print_masked(), &[]);
    assert_eq!(reloaded.kafka.topics, c.kafka.topics);
    assert_eq!(reloaded.aggregation, c.aggregation);
    assert_eq!(reloaded.cluster, c.cluster);
    assert_eq!(reloaded.kafka.sasl_password.expose(), "***");
}

#[test]
fn errors_do_not_quote_secrets() {
    let e = load(
        "[kafka]\nsecurity_protocol = \"sasl_plaintext\"\nsasl_mechanism = \"PLAIN\"\n",
        &[
            ("DATA_PROC_API_KEYS", "good,bad Key9,,x"),
            ("DATA_PROC_REDIS_URL", "redis://:redisPa55@host:notaport"),
            ("DATA_PROC_POSTGRES_DSN", "mysql://u:pgPa55@h/db"),
        ],
        &FlagOverrides::default(),
    )
    .unwrap_err()
    .to_string();
    for s in ["redisPa55", "pgPa55", "Key9"] {
        assert!(!e.contains(s), "{s} in:\n{e}");
    }
    assert!(
        e.contains("environment DATA_PROC_API_KEYS: `http.api_keys`: a list item is empty"),
        "{e}"
    );
    assert!(
        e.contains("config: `kafka.sasl_password`: required with sasl_mechanism PLAIN"),
        "{e}"
    );
    assert!(
        e.contains("config: `redis.url`: 'redis://:***@host:notaport' has a bad port"),
        "{e}"
    );
}
