// Package catalog is go-mysql-server's storage backend over Coffer's
// storage: databases, tables, indexes, views, triggers and procedures as
// descriptors in the system keyspace; rows and index entries as
// multi-version keys; lookups as key range scans; uniqueness enforced on
// write; AUTO_INCREMENT counters.
//
// Every read and write goes through the caller's transaction (sql/txn), so a
// statement sees its transaction's snapshot plus its own writes, and every
// change, DDL included, commits through the same Proposer. The package must
// never write to storage directly.
package catalog
