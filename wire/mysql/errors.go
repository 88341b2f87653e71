package mysql

import (
	"errors"
	"strings"

	vmysql "github.com/dolthub/vitess/go/mysql"
)

// sqlStates gives the SQLSTATE MySQL sends with an error number, for the
// numbers go-mysql-server sends with the generic HY000.
var sqlStates = map[int]string{
	1044: "42000", // access denied to database
	1045: "28000", // access denied (password)
	1046: "3D000", // no database selected
	1048: "23000", // column cannot be null
	1049: "42000", // unknown database
	1050: "42S01", // table exists
	1051: "42S02", // unknown table (DROP)
	1054: "42S22", // unknown column
	1060: "42S21", // duplicate column name
	1061: "42000", // duplicate key name
	1062: "23000", // duplicate entry
	1064: "42000", // syntax error
	1091: "42000", // can't drop field or key
	1136: "21S01", // column count doesn't match
	1142: "42000", // table access denied
	1146: "42S02", // no such table
	1213: "40001", // serialization failure
	1216: "23000", // foreign key child (old code)
	1217: "23000", // foreign key parent (old code)
	1264: "22003", // out of range
	1406: "22001", // data too long
	1451: "23000", // row is referenced
	1452: "23000", // no referenced row
	1792: "25006", // read-only transaction
	3819: "HY000", // check constraint violated
}

// codesByMessage recovers MySQL's number for go-mysql-server errors it
// sends as 1105 (unknown error), by the stable start of their message.
var codesByMessage = []struct {
	prefix string
	code   int
}{
	{"table with name ", 1050},
	{"Check constraint ", 3819},
	{"Duplicate key name ", 1061},
	{"syntax error at position ", 1064},
	{"command denied to user", 1142},
}

// fixSQLError gives err the error number and SQLSTATE a MySQL client
// expects; other errors pass unchanged.
func fixSQLError(err error) error {
	if err == nil {
		return nil // before errors.As, whose target escapes: no allocation on success
	}
	var se *vmysql.SQLError
	if !errors.As(err, &se) {
		return err
	}
	num, state := se.Num, se.State
	if num == vmysql.ERUnknownError {
		for _, m := range codesByMessage {
			if strings.HasPrefix(se.Message, m.prefix) {
				num = m.code
				break
			}
		}
	}
	if want, ok := sqlStates[num]; ok && (state == "" || state == vmysql.SSUnknownSQLState) {
		state = want
	}
	if num == se.Num && state == se.State {
		return err
	}
	return vmysql.NewSQLError(num, state, "%s", se.Message)
}
