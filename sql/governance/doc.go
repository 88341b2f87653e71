// Package governance is the SQL face of the charter. It wraps
// go-mysql-server's parser so that governance statements (CREATE MEMBER,
// VOTE, SET CONSTITUTION, SHOW PROPOSALS …) and the MySQL account
// statements (CREATE USER, GRANT, CREATE ROLE …) become injected plan nodes
// that run charter transactions in the session's own transaction: the
// change commits through the session's Proposer and enters the ledger as a
// governance entry. Accepted account changes are carried out on a scratch
// copy of go-mysql-server's user store and stored as one blob in the same
// write set; the engine loads it after the commit.
//
// It must not write to storage except through the session's transaction,
// and it must leave every statement it does not own to the stock parser
// unchanged.
package governance
