// Package pgwire serves the PostgreSQL v3 wire protocol in front of
// Coffer's engine: startup with optional TLS and authentication
// (SCRAM-SHA-256, and cleartext on trusted channels), the simple and
// extended query protocols, COPY FROM STDIN / TO STDOUT, dialect
// translation from PostgreSQL to the engine's SQL through a real
// PostgreSQL parser (pg_query_go), and enough pg_catalog and
// information_schema emulation for psql and common drivers.
//
// It is the only package that imports pgproto3. It owns connections,
// sessions and statement translation; it must never import storage or
// replication (an architecture test checks this). Sessions, transactions,
// users and grants are the engine's, shared with the MySQL wire.
package pgwire
