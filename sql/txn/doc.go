// Package txn owns Coffer's sessions and transactions: snapshot reads at a
// read sequence, a private write buffer that reads of the same transaction
// see, savepoints and per-statement rollback, and the hand-off of the write
// set to a Proposer at COMMIT.
//
// The Proposer is the seam between SQL and replication: on a single node it
// calls storage.Apply directly; a replicated node puts the write set through
// Raft first. Neither side of the seam knows which one it talks to. This
// package must never write to storage except through a Proposer.
package txn
