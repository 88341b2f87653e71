// Package storage owns Coffer's on-disk state: a pebble database holding
// multi-version rows, secondary indexes and the system keyspace, and the one
// deterministic Apply that turns a committed write set into a new sequence
// number.
//
// Every user key is stored with a version suffix: the bitwise complement of
// the commit sequence number that wrote it, so the newest version sorts first.
// A reader at sequence S sees, for each user key, the newest version whose
// sequence is at most S. Versions are never garbage collected: they are the
// history that AS OF reads and the ledger refer to. Each key's newest
// version is also kept under an unversioned key in the current keyspace
// (current.go) or, until a checkpoint writes it there, in the in-memory
// overlay (overlay.go); scans and point reads use the two merged.
//
// The package must never import the SQL engine or any wire protocol; it
// speaks in user keys, encoded values and write sets. See keys.go for the key
// layout and rowcodec.go for the value encoding.
package storage
