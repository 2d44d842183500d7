//! A test broker: librdkafka's mock cluster ([`MockCluster`]), which speaks the Kafka protocol
//! on loopback ports, so clients in this or other processes use it like a real cluster.
//!
//! [`MockBroker`] owns one cluster for as long as it lives (in-process tests); the
//! `tickflow-mock-kafka` binary wraps one for tests that need the broker in another process,
//! driven by the line commands of [`MockCommand`]. The cluster keeps everything in memory and
//! disappears with its owner.

use rdkafka::error::KafkaError;
use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;

/// A running mock cluster.
pub struct MockBroker {
    cluster: MockCluster<'static, DefaultProducerContext>,
    bootstrap: String,
}

/// One line command of the `tickflow-mock-kafka` helper.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MockCommand {
    /// `down <broker_id>`: the broker stops answering (an outage).
    Down(i32),
    /// `up <broker_id>`: the broker answers again.
    Up(i32),
    /// `create <topic> <partitions>`: creates a topic (replication factor 1).
    Create(String, i32),
}

impl MockCommand {
    /// Parses one line; the error says what is accepted.
    pub fn parse(line: &str) -> Result<MockCommand, String> {
        let words: Vec<&str> = line.split_whitespace().collect();
        let int = |s: &str| {
            s.parse::<i32>()
                .map_err(|_| format!("'{s}' is not a number"))
        };
        match words.as_slice() {
            ["down", id] => Ok(MockCommand::Down(int(id)?)),
            ["up", id] => Ok(MockCommand::Up(int(id)?)),
            ["create", topic, n] => Ok(MockCommand::Create(topic.to_string(), int(n)?)),
            _ => Err(format!(
                "unknown command '{}' (expected: down <broker_id>, up <broker_id>, create <topic> <partitions>)",
                line.trim()
            )),
        }
    }
}

impl MockBroker {
    /// Starts a cluster of `brokers` brokers (ids `1..=brokers`).
    pub fn start(brokers: i32) -> Result<MockBroker, KafkaError> {
        let cluster = MockCluster::new(brokers.max(1))?;
        let bootstrap = cluster.bootstrap_servers();
        Ok(MockBroker { cluster, bootstrap })
    }

    /// The `bootstrap.servers` of the cluster (`127.0.0.1:port,…`).
    pub fn bootstrap_servers(&self) -> &str {
        &self.bootstrap
    }

    /// Creates `topic` with `partitions` partitions.
    pub fn create_topic(&self, topic: &str, partitions: i32) -> Result<(), KafkaError> {
        self.cluster.create_topic(topic, partitions, 1)
    }

    /// Takes broker `id` down.
    pub fn broker_down(&self, id: i32) -> Result<(), KafkaError> {
        self.cluster.broker_down(id)
    }

    /// Brings broker `id` back up.
    pub fn broker_up(&self, id: i32) -> Result<(), KafkaError> {
        self.cluster.broker_up(id)
    }

    /// Applies one command.
    pub fn apply(&self, command: &MockCommand) -> Result<(), KafkaError> {
        match command {
            MockCommand::Down(id) => self.broker_down(*id),
            MockCommand::Up(id) => self.broker_up(*id),
            MockCommand::Create(topic, n) => self.create_topic(topic, *n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(MockCommand::parse("down 1"), Ok(MockCommand::Down(1)));
        assert_eq!(MockCommand::parse(" up  2 "), Ok(MockCommand::Up(2)));
        assert_eq!(
            MockCommand::parse("create t.v1 3"),
            Ok(MockCommand::Create("t.v1".into(), 3))
        );
        assert!(MockCommand::parse("down x")
            .unwrap_err()
            .contains("not a number"));
        assert!(MockCommand::parse("reboot")
            .unwrap_err()
            .contains("expected"));
    }
}
