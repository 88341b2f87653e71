// Package charter owns the consortium's rulebook: members (who govern),
// users and roles with their attributes, allowed code measurements, nodes,
// row policies as data, and the CEL constitution that decides proposals.
//
// Every change is a Proposal carrying one Action. Members cast Ballots;
// after each ballot the constitution decides whether the proposal is
// accepted, rejected or still open, and an accepted action is applied in
// the same transaction as the deciding ballot. The package reads and writes
// only through a Store (a transaction over the system keyspace), so a
// charter change commits, replicates and enters the ledger like any other
// transaction. It must never read the wall clock or a random source while
// deciding or applying: every replica must reach the same state from the
// same write set, and the write set is computed once, here.
package charter
