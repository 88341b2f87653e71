package pgwire

import (
	"errors"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	vmysql "github.com/dolthub/vitess/go/mysql"
	"github.com/jackc/pgproto3/v2"
)

// SQLSTATE codes this package sends.
const (
	codeUniqueViolation      = "23505"
	codeNotNullViolation     = "23502"
	codeForeignKeyViolation  = "23503"
	codeCheckViolation       = "23514"
	codeUndefinedTable       = "42P01"
	codeUndefinedColumn      = "42703"
	codeUndefinedObject      = "42704"
	codeDuplicateTable       = "42P07"
	codeDuplicateColumn      = "42701"
	codeDuplicateObject      = "42710"
	codeSyntaxError          = "42601"
	codeInsufficientPriv     = "42501"
	codeSerialization        = "40001"
	codeCompletionUnknown    = "40003" // statement_completion_unknown
	codeFeatureNotSupported  = "0A000"
	codeInvalidPassword      = "28P01"
	codeInvalidAuthSpec      = "28000"
	codeInvalidCatalog       = "3D000"
	codeProtocolViolation    = "08P01"
	codeInFailedTransaction  = "25P02"
	codeReadOnlyTransaction  = "25006"
	codeActiveTransaction    = "25001"
	codeDataException        = "22000"
	codeNumericOutOfRange    = "22003"
	codeStringTooLong        = "22001"
	codeInvalidText          = "22P02"
	codeUndefinedParameter   = "42704"
	codeInvalidParameter     = "22023"
	codeInvalidSQLStatement  = "26000"
	codeInvalidCursor        = "34000"
	codeInternal             = "XX000"
	codeCardinalityViolation = "21000"
	codeQueryCanceled        = "57014"
	codeAdminShutdown        = "57P01"
	codeDatatypeMismatch     = "42804"
	codeUndefinedFunction    = "42883"
	codeAmbiguousColumn      = "42702"
	codeTooManyConnections   = "53300"
)

// pgError is an error with its SQLSTATE, sent as an ErrorResponse.
type pgError struct {
	Code    string
	Message string
	Detail  string
	Hint    string
	// Where is the context (PostgreSQL's CONTEXT line): "COPY t, line 3".
	Where string
}

func (e *pgError) Error() string { return e.Message }

func newError(code, msg string) *pgError { return &pgError{Code: code, Message: msg} }

// unsupported is the 0A000 answer for a PostgreSQL feature Coffer lacks.
func unsupported(what string) *pgError {
	return &pgError{Code: codeFeatureNotSupported, Message: what + " is not supported by Coffer",
		Hint: "see docs/guide/postgres.md for what the PostgreSQL wire supports"}
}

// mysqlStates maps MySQL error numbers to PostgreSQL SQLSTATEs.
var mysqlStates = map[int]string{
	1044: codeInsufficientPriv,
	1045: codeInvalidPassword,
	1046: codeInvalidCatalog,
	1048: codeNotNullViolation,
	1049: codeInvalidCatalog,
	1050: codeDuplicateTable,
	1051: codeUndefinedTable,
	1054: codeUndefinedColumn,
	1060: codeDuplicateColumn,
	1061: codeDuplicateObject,
	1062: codeUniqueViolation,
	1064: codeSyntaxError,
	1091: codeUndefinedObject,
	1105: codeInternal,
	1136: "42601",
	1142: codeInsufficientPriv,
	1143: codeInsufficientPriv,
	1146: codeUndefinedTable,
	1149: codeSyntaxError,
	1213: codeSerialization,
	1205: "55P03", // lock_not_available: a row lock wait timed out
	1216: codeForeignKeyViolation,
	1217: codeForeignKeyViolation,
	1227: codeInsufficientPriv,
	1235: codeFeatureNotSupported,
	1242: codeCardinalityViolation,
	1264: codeNumericOutOfRange,
	1292: codeInvalidText,
	1305: codeUndefinedFunction,
	1364: codeNotNullViolation,
	1366: codeInvalidText,
	1406: codeStringTooLong,
	1451: codeForeignKeyViolation,
	1452: codeForeignKeyViolation,
	1792: codeReadOnlyTransaction,
	3819: codeCheckViolation,
}

// messageStates recovers a SQLSTATE for go-mysql-server errors that carry
// no specific MySQL number, by the stable start of their message.
var messageStates = []struct{ prefix, code string }{
	{"table not found", codeUndefinedTable},
	{"table with name ", codeDuplicateTable},
	{"column \"", codeUndefinedColumn},
	{"column not found", codeUndefinedColumn},
	{"Check constraint ", codeCheckViolation},
	{"Duplicate key name ", codeDuplicateObject},
	{"duplicate primary key", codeUniqueViolation},
	{"duplicate unique key", codeUniqueViolation},
	{"Duplicate entry", codeUniqueViolation},
	{"syntax error", codeSyntaxError},
	{"database not found", codeInvalidCatalog},
	{"function: ", codeUndefinedFunction},
	{"command denied", codeInsufficientPriv},
	{"Access denied", codeInsufficientPriv},
	{"serialization failure", codeSerialization},
	// A cluster commit whose node lost touch with the leader while it
	// was in flight (server/cluster/settle.go): it may have committed.
	{"outcome of this commit is unknown", codeCompletionUnknown},
	{"column name '", codeAmbiguousColumn},
	{"Field '", codeNotNullViolation}, // "Field 'n' doesn't have a default value"
}

// toPGError gives any engine error its SQLSTATE.
func toPGError(err error) *pgError {
	var pe *pgError
	if errors.As(err, &pe) {
		return pe
	}
	msg := err.Error()
	switch {
	case gmssql.ErrLockDeadlock.Is(err):
		return &pgError{Code: codeSerialization, Message: "could not serialize access due to concurrent update: " + msg,
			Hint: "retry the transaction"}
	case gmssql.ErrTableNotFound.Is(err):
		return newError(codeUndefinedTable, msg)
	case gmssql.ErrUniqueKeyViolation.Is(err), gmssql.ErrPrimaryKeyViolation.Is(err):
		return newError(codeUniqueViolation, msg)
	case gmssql.ErrColumnNotFound.Is(err), gmssql.ErrTableColumnNotFound.Is(err):
		return newError(codeUndefinedColumn, msg)
	case gmssql.ErrDatabaseNotFound.Is(err):
		return newError(codeInvalidCatalog, msg)
	case gmssql.ErrInsertIntoNonNullableProvidedNull.Is(err):
		return newError(codeNotNullViolation, msg)
	case gmssql.ErrPrivilegeCheckFailed.Is(err), gmssql.ErrTableAccessDeniedForUser.Is(err), gmssql.ErrDatabaseAccessDeniedForUser.Is(err):
		return newError(codeInsufficientPriv, msg)
	case gmssql.ErrForeignKeyChildViolation.Is(err), gmssql.ErrForeignKeyParentViolation.Is(err):
		return newError(codeForeignKeyViolation, msg)
	case gmssql.ErrCheckConstraintViolated.Is(err):
		return newError(codeCheckViolation, msg)
	case gmssql.ErrSyntaxError.Is(err):
		return newError(codeSyntaxError, msg)
	}
	var se *vmysql.SQLError
	if errors.As(err, &se) {
		if code, ok := mysqlStates[se.Num]; ok && se.Num != 1105 {
			return newError(code, se.Message)
		}
		msg = se.Message
	}
	if code, ok := mysqlCodeFromGMS(err); ok {
		return newError(code, msg)
	}
	for _, m := range messageStates {
		if strings.HasPrefix(msg, m.prefix) || strings.Contains(msg, m.prefix) {
			return newError(m.code, msg)
		}
	}
	return newError(codeInternal, msg)
}

// mysqlCodeFromGMS asks vitess which MySQL number the engine's error
// would be sent with, the same conversion the MySQL wire makes.
func mysqlCodeFromGMS(err error) (string, bool) {
	se := gmssql.CastSQLError(err)
	if se == nil || se.Num == vmysql.ERUnknownError {
		return "", false
	}
	code, ok := mysqlStates[se.Num]
	return code, ok
}

func (e *pgError) response() *pgproto3.ErrorResponse {
	return &pgproto3.ErrorResponse{Severity: "ERROR", Code: e.Code, Message: e.Message, Detail: e.Detail, Hint: e.Hint, Where: e.Where}
}
