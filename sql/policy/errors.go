package policy

import (
	"errors"
	"fmt"

	vmysql "github.com/dolthub/vitess/go/mysql"
)

// Error code and SQLSTATE of a write that no policy permits. 1142
// (ER_TABLEACCESS_DENIED_ERROR) is what MySQL clients already treat as
// "not allowed on this table"; 42501 is SQLSTATE's insufficient_privilege,
// which PostgreSQL uses for row-level security violations.
const (
	ViolationCode  = 1142
	ViolationState = "42501"
)

// ErrViolation is wrapped by every policy refusal of a write.
var ErrViolation = errors.New("row policy violation")

// Violation returns the error of a write refused by the policies of table:
// a MySQL error 1142 / SQLSTATE 42501. The message names the table and the
// command, never the row.
func Violation(table string, cmd Command, withCheck bool) error {
	what := "new row violates row-level security policy"
	if !withCheck {
		what = "row-level security policy does not permit " + string(cmd) + " of this row"
	}
	return vmysql.NewSQLError(ViolationCode, ViolationState, "%s for table %q (%s)", what, table, string(cmd))
}

// IsViolation reports whether err is a policy refusal.
func IsViolation(err error) bool {
	var se *vmysql.SQLError
	return errors.As(err, &se) && se.Num == ViolationCode && se.State == ViolationState
}

// CompileError is a policy expression that does not compile or type-check
// against its table.
type CompileError struct {
	Policy, Table, Clause string
	Detail                string
}

func (e *CompileError) Error() string {
	return fmt.Sprintf("policy %q on %s: %s: %s", e.Policy, e.Table, e.Clause, e.Detail)
}
