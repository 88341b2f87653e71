// Package bench measures Coffer side by side with MariaDB and PostgreSQL on
// the same machine in the same run, and reports ratios, never absolute
// times from different runs.
//
// It owns starting each system on loopback with throw-away data
// directories, loading the same data, driving sysbench and its own durable
// single-row INSERT client, summarising repetitions (min/median/max) and
// writing the results as JSON, Markdown and a PNG chart. Coffer is
// measured as a user sees it, a `coffer serve` process speaking the MySQL
// (or Postgres) wire protocol; the one exception is the ledger workload
// (ledger.go), which calls storage directly because ledger verification
// runs offline, on a stopped node's store, as `coffer ledger verify` does.
// The ledger and policy-overhead workloads measure Coffer alone and are
// reported as numbers and policy / no-policy ratios, not against a peer.
package bench
