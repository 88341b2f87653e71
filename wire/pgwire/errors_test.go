package pgwire

import (
	"errors"
	"testing"

	gmssql "github.com/dolthub/go-mysql-server/sql"
)

// TestErrorStates: engine and cluster errors reach a PostgreSQL client
// with the SQLSTATE its driver acts on (retry 40001; check, do not blindly
// retry, 40003).
func TestErrorStates(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{gmssql.ErrLockDeadlock.New("conflict"), codeSerialization},
		{errors.New("cluster: the outcome of this commit is unknown (leadership lost while committing log); check before retrying"), codeCompletionUnknown},
		{gmssql.ErrTableNotFound.New("nope"), codeUndefinedTable},
		{errors.New("something else"), codeInternal},
	} {
		if got := toPGError(c.err).Code; got != c.want {
			t.Errorf("%v: SQLSTATE %s, want %s", c.err, got, c.want)
		}
	}
}
