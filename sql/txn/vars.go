package txn

import (
	"fmt"

	gmssql "github.com/dolthub/go-mysql-server/sql"
)

// sessionVars are the session variables read by every statement, decoded
// once and kept until the session sets a variable. go-mysql-server's
// GetSessionVariable looks each one up in a map of several hundred
// entries and the callers formatted the value: three look-ups and as
// many allocations per statement, about 3% of a cluster leader's CPU at
// 64 connections of inserts. Variables change only through
// SetSessionVariable and InitSessionVariable, which Session overrides to
// drop the cache.
type sessionVars struct {
	valid bool
	// autocommit is @@autocommit; autocommitErr the error reading it.
	autocommit    bool
	autocommitErr error
	// followerReads: coffer_read_mode is 'follower' (cluster nodes).
	followerReads bool
	// latestWrites: the isolation level is READ COMMITTED or READ
	// UNCOMMITTED (see Transaction.latestWrites).
	latestWrites bool
}

// cachedVars returns the session's decoded variables.
func (s *Session) cachedVars(ctx *gmssql.Context) *sessionVars {
	v := &s.vars
	if v.valid {
		return v
	}
	*v = sessionVars{valid: true}
	if a, err := s.BaseSession.GetSessionVariable(ctx, "autocommit"); err != nil {
		v.autocommitErr = err
	} else {
		v.autocommit, v.autocommitErr = gmssql.ConvertToBool(ctx, a)
	}
	if m, err := s.BaseSession.GetSessionVariable(ctx, ReadModeVar); err == nil {
		v.followerReads = fmt.Sprint(m) == "follower"
	}
	if i, err := s.BaseSession.GetSessionVariable(ctx, "transaction_isolation"); err == nil {
		switch fmt.Sprint(i) {
		case "READ-COMMITTED", "READ-UNCOMMITTED":
			v.latestWrites = true
		}
	}
	return v
}

// Autocommit returns @@autocommit.
func (s *Session) Autocommit(ctx *gmssql.Context) (bool, error) {
	v := s.cachedVars(ctx)
	return v.autocommit, v.autocommitErr
}

// SetSessionVariable implements sql.Session, dropping the cached variables.
func (s *Session) SetSessionVariable(ctx *gmssql.Context, name string, value any) error {
	s.vars.valid = false
	return s.BaseSession.SetSessionVariable(ctx, name, value)
}

// InitSessionVariable implements sql.Session, dropping the cached
// variables.
func (s *Session) InitSessionVariable(ctx *gmssql.Context, name string, value any) error {
	s.vars.valid = false
	return s.BaseSession.InitSessionVariable(ctx, name, value)
}
