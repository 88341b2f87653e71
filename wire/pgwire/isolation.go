package pgwire

import (
	"fmt"
	"strings"

	"github.com/jackc/pgproto3/v2"
)

// Transaction isolation levels, as PostgreSQL names them. Coffer runs two
// behaviours (docs/rfcs/2026-11-25-storage-and-transactions.md, "Row
// locks"): snapshot isolation, first committer wins, for REPEATABLE READ
// and SERIALIZABLE (the default; SERIALIZABLE is not PostgreSQL's
// serializable snapshot isolation: write skew is possible), and for READ
// COMMITTED and READ UNCOMMITTED a row write under its row lock that
// reads the newest committed version instead of failing with 40001, as
// PostgreSQL does at READ COMMITTED. Reads keep the transaction's
// snapshot at every level.
//
// The level reaches the engine as the session's MySQL transaction_isolation
// when a transaction starts: the session's default
// (default_transaction_isolation) outside a transaction block, the
// block's own level (BEGIN ISOLATION LEVEL …, SET TRANSACTION …) inside
// one.
var isolationLevels = map[string]string{
	"read uncommitted": "READ-UNCOMMITTED",
	"read committed":   "READ-COMMITTED",
	"repeatable read":  "REPEATABLE-READ",
	"serializable":     "SERIALIZABLE",
}

// defaultIsolation is default_transaction_isolation unless the server
// sets another (server.Config.TransactionIsolation).
const defaultIsolation = "repeatable read"

// isolationLevel returns PostgreSQL's name for the level v names, in any
// case and spacing ("READ COMMITTED", 'read committed').
func isolationLevel(v string) (string, bool) {
	level := strings.Join(strings.Fields(strings.ToLower(strings.Trim(v, `'"`))), " ")
	_, ok := isolationLevels[level]
	return level, ok
}

// pgIsolation is PostgreSQL's name for the engine's level name, or "".
func pgIsolation(engine string) string {
	for pg, e := range isolationLevels {
		if strings.EqualFold(e, engine) {
			return pg
		}
	}
	return ""
}

func invalidIsolation(name, value string) *pgError {
	return &pgError{Code: codeInvalidParameter, Message: fmt.Sprintf("invalid value for parameter %q: %q", name, value),
		Hint: `Available values: serializable, repeatable read, read committed, read uncommitted.`}
}

// initIsolation reads the server's default level from the new session.
func (c *conn) initIsolation() {
	level := defaultIsolation
	if v, err := c.sess.GetSessionVariable(c.newContext(c.ctx), "transaction_isolation"); err == nil {
		if l := pgIsolation(fmt.Sprint(v)); l != "" {
			level = l
		}
	}
	c.settings["default_transaction_isolation"] = level
	c.settings["transaction_isolation"] = level
	c.engineIsolation = level
}

// setDefaultIsolation is SET default_transaction_isolation (and SET
// SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL): the level of
// the transactions that start after it; an open transaction keeps its
// own.
func (c *conn) setDefaultIsolation(value string) *pgError {
	level := defaultIsolation
	if value != "" && !strings.EqualFold(value, "default") {
		var ok bool
		if level, ok = isolationLevel(value); !ok {
			return invalidIsolation("default_transaction_isolation", value)
		}
	}
	c.settings["default_transaction_isolation"] = level
	if !c.inTxn {
		c.settings["transaction_isolation"] = level
		return c.useIsolation(level)
	}
	return nil
}

// setTxnIsolation is SET TRANSACTION ISOLATION LEVEL (and SET
// transaction_isolation): the level of the open transaction block, before
// its first query. The engine's transaction began with BEGIN, so it
// begins again at the new level; nothing was read or written in it yet.
func (c *conn) setTxnIsolation(value string) *pgError {
	level, ok := isolationLevel(value)
	if value == "" || strings.EqualFold(value, "default") {
		level, ok = c.settings["default_transaction_isolation"], true
	}
	if !ok {
		return invalidIsolation("transaction_isolation", value)
	}
	if !c.inTxn {
		c.send(&pgproto3.NoticeResponse{Severity: "WARNING", Code: "25P01", Message: "SET TRANSACTION can only be used in transaction blocks"})
		return nil
	}
	if level == c.settings["transaction_isolation"] {
		return nil
	}
	if c.txnUsed {
		return &pgError{Code: codeActiveTransaction, Message: "SET TRANSACTION ISOLATION LEVEL must be called before any query"}
	}
	if _, perr := c.engineExec("ROLLBACK", nil, "", nil); perr != nil {
		return perr
	}
	c.inTxn = false
	return c.beginBlock(level, c.txnReadOnly)
}

// beginBlock starts a transaction block at level ("": the session's default).
func (c *conn) beginBlock(level string, readOnly bool) *pgError {
	if level == "" {
		level = c.settings["default_transaction_isolation"]
	}
	if perr := c.useIsolation(level); perr != nil {
		return perr
	}
	q := "START TRANSACTION"
	if readOnly {
		q += " READ ONLY"
	}
	if _, perr := c.engineExec(q, nil, "", nil); perr != nil {
		c.endTxn()
		return perr
	}
	c.inTxn, c.failed, c.txnUsed, c.txnReadOnly = true, false, false, readOnly
	c.settings["transaction_isolation"] = level
	return nil
}

// endTxn notes that the transaction block ended: the next transactions
// run at the session's default level again.
func (c *conn) endTxn() {
	c.inTxn, c.failed, c.txnUsed = false, false, false
	level := c.settings["default_transaction_isolation"]
	c.settings["transaction_isolation"] = level
	if perr := c.useIsolation(level); perr != nil {
		c.s.cfg.Logger.Warn("pgwire: cannot restore the session's isolation level", "level", level, "err", perr.Message)
	}
}

// useIsolation sets the engine session's level for the transactions it
// starts from now on.
func (c *conn) useIsolation(level string) *pgError {
	if level == c.engineIsolation {
		return nil
	}
	if err := c.sess.SetSessionVariable(c.newContext(c.ctx), "transaction_isolation", isolationLevels[level]); err != nil {
		return toPGError(err)
	}
	c.engineIsolation = level
	return nil
}
