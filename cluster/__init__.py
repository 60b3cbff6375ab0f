"""The system under test: an ArangoDB-style Active Failover cluster (agency + single servers)."""
