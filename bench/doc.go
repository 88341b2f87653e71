// Package bench measures Coffer side by side with MariaDB and PostgreSQL on
// the same machine in the same run, and reports ratios, never absolute
// times from different runs.
//
// It owns starting each system on loopback with throw-away data
// directories, loading the same data, driving sysbench and its own durable
// single-row INSERT client, summarising repetitions (min/median/max) and
// writing the results as JSON, Markdown and a PNG chart. It must never
// import Coffer's internals: Coffer is measured as a user sees it, a
// `coffer serve` process speaking the MySQL wire protocol.
package bench
