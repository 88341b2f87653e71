// Package cluster replicates a node's commits with Raft (hashicorp/raft),
// the only package that imports it.
//
// Every node applies the same log through storage.Apply (the FSM in
// fsm.go), so every node holds the same rows and the same ledger. A Node
// is the txn.Proposer of a replicated node: the leader appends write sets
// to the log; a follower forwards them to the leader over the cluster
// transport (rpc.go) and returns once it has applied the commit itself.
// Reads on a follower take a read index from the leader (SnapshotSeq).
//
// One TCP address per node carries Raft, the peer RPCs and the join
// handshake over mutual TLS with node certificates endorsed by the service
// identity (transport.go, tls.go). The Raft log and stable store live in
// their own pebble instance (logstore.go); snapshots are pebble checkpoints
// streamed as tar archives. Admission follows the charter: a joining node
// becomes a voter once a member's ADD NODE for its id has passed, and
// REMOVE NODE takes it out. See docs/rfcs/2026-11-25-replication.md and
// docs/guide/cluster.md.
package cluster
