// Package ledger defines Coffer's ledger: the entry every committed
// transaction leaves, the hash chain through the entries, the append-only
// Merkle tree over them (RFC 9162 hashing), signed tree roots, receipts and
// their offline verification.
//
// It is pure: it encodes, hashes, signs and verifies, and never touches
// pebble. storage writes entries and tree nodes in the same batch as the
// rows a transaction changes; verification tools read them back through the
// small interfaces declared here. See docs/rfcs/2026-11-25-ledger-format.md.
package ledger
