package txn

import (
	"sync/atomic"

	gmssql "github.com/dolthub/go-mysql-server/sql"
)

// Session bookkeeping of the fast paths (sql/engine), kept in the session
// itself. go-mysql-server keeps a session's status variables and last
// query info in maps of the BaseSession: counting a statement and
// recording its row count took four look-ups in a map of several hundred
// status variables and two in the query info map per statement, each a
// cache miss once 64 sessions take turns: about 5% of a cluster leader's
// CPU at 64 connections of inserts. The session counts its statements in
// an array and adds them to go-mysql-server's map when something reads it
// (SHOW STATUS); its last query info is in atomic fields for the keys the
// fast paths set, read and written through the Session interface as
// go-mysql-server reads and writes them.

// Statement kinds CountStatement counts.
const (
	StatSelect = iota
	StatInsert
	StatUpdate
	StatDelete
	numStats
)

var comStatus = [numStats]string{"Com_select", "Com_insert", "Com_update", "Com_delete"}

// pendingStatus are the session's counts not yet in go-mysql-server's map.
type pendingStatus struct {
	questions uint64
	com       [numStats]uint64
}

// queryInfo holds the last query info the fast paths set.
type queryInfo struct {
	rowCount, foundRows, lastInsertID atomic.Int64
}

// CountStatement counts a statement of kind (StatSelect …) in the status
// variables Questions and Com_<kind>: the global ones at once, the
// session's when they are next read.
func (s *Session) CountStatement(kind int) {
	gmssql.StatusVariables.IncrementGlobal("Questions", 1)
	gmssql.StatusVariables.IncrementGlobal(comStatus[kind], 1)
	s.status.questions++
	s.status.com[kind]++
}

// flushStatus adds the pending counts to go-mysql-server's map.
func (s *Session) flushStatus(ctx *gmssql.Context) {
	p := &s.status
	if p.questions == 0 {
		return
	}
	s.BaseSession.IncrementStatusVariable(ctx, "Questions", int(p.questions))
	for k, n := range p.com {
		if n > 0 {
			s.BaseSession.IncrementStatusVariable(ctx, comStatus[k], int(n))
		}
	}
	*p = pendingStatus{}
}

// GetStatusVariable implements sql.Session.
func (s *Session) GetStatusVariable(ctx *gmssql.Context, name string) (any, error) {
	s.flushStatus(ctx)
	return s.BaseSession.GetStatusVariable(ctx, name)
}

// SetStatusVariable implements sql.Session.
func (s *Session) SetStatusVariable(ctx *gmssql.Context, name string, val any) error {
	s.flushStatus(ctx)
	return s.BaseSession.SetStatusVariable(ctx, name, val)
}

// GetAllStatusVariables implements sql.Session.
func (s *Session) GetAllStatusVariables(ctx *gmssql.Context) map[string]gmssql.StatusVarValue {
	s.flushStatus(ctx)
	return s.BaseSession.GetAllStatusVariables(ctx)
}

// info returns the field that holds key, or nil.
func (s *Session) info(key string) *atomic.Int64 {
	switch key {
	case gmssql.RowCount:
		return &s.query.rowCount
	case gmssql.FoundRows:
		return &s.query.foundRows
	case gmssql.LastInsertId:
		return &s.query.lastInsertID
	}
	return nil
}

// SetLastQueryInfoInt implements sql.Session.
func (s *Session) SetLastQueryInfoInt(key string, value int64) {
	if f := s.info(key); f != nil {
		f.Store(value)
		return
	}
	s.BaseSession.SetLastQueryInfoInt(key, value)
}

// GetLastQueryInfoInt implements sql.Session.
func (s *Session) GetLastQueryInfoInt(key string) int64 {
	if f := s.info(key); f != nil {
		return f.Load()
	}
	return s.BaseSession.GetLastQueryInfoInt(key)
}
