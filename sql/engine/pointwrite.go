package engine

import (
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/dolthub/go-mysql-server/sql/plan"
	"github.com/dolthub/go-mysql-server/sql/types"
	vmysql "github.com/dolthub/vitess/go/mysql"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"
	"github.com/dolthub/vitess/go/vt/sqlparser"

	"github.com/cofferdb/coffer/sql/catalog"
	"github.com/cofferdb/coffer/sql/txn"
)

// Prepared single-row updates and deletes by primary key skip the
// analyzer too. Statements of the shapes
//
//	UPDATE [db.]table SET col = ? | col = col + n | col = col - n [, …] WHERE pk1 = ? [AND …]
//	DELETE FROM [db.]table WHERE pk1 = ? [AND …]
//
// (n an integer literal; the WHERE naming every primary key column once;
// no IGNORE, ORDER BY, LIMIT, aliases, partitions, comments or hints)
// change at most one row. ExecPointWrite answers them as go-mysql-server's
// update and delete iterators do: the row is read with the table's row
// policies (a row the principal cannot see is not matched), the new row is
// computed as its SET expressions compute it and compared with the old one
// by the column types (an unchanged row is matched, not changed, and not
// written), and the table's editor writes it — keeping secondary indexes,
// checking unique keys, applying the UPDATE and DELETE policies — in a
// statement of the session's transaction, committed at once in autocommit
// mode. It declines (handled=false) whenever go-mysql-server might do more
// or decide differently: triggers in the database, foreign keys to or from
// the table, CHECK constraints, generated or ON UPDATE columns, an
// assignment to a primary key or AUTO_INCREMENT column or to the same
// column twice, a parameter that is not plainly its column's kind or does
// not convert exactly, NULL for a NOT NULL column, arithmetic on a column
// that is not an integer or whose result overflows the integer arithmetic
// go-mysql-server does or the column, a read-only transaction or server.
type PointWrite struct {
	db, table string
	delete    bool
	sets      []pointSet  // UPDATE's assignments, as written
	terms     []pointTerm // WHERE col = ? terms, as written
	plan      atomic.Pointer[writePlan]
}

// pointSet is one assignment: `col = ?` (param set) or `col = col ± n`,
// n a literal or (litParam) a parameter holding an integer, which counts as
// the literal it was in the text NormalizeLiterals made it from.
type pointSet struct {
	col      string
	param    string
	minus    bool
	lit      string // n as written
	litParam string
}

// writePlan is what a PointWrite needs of one table definition.
type writePlan struct {
	version any
	ok      bool // the table and statement qualify (see PointWrite)
	keyPlan
	sets   []setPlan
	schema gmssql.Schema
}

// setPlan is an assignment resolved against the table.
type setPlan struct {
	ord   int
	param string // "" for arithmetic
	minus bool
	// The literal as go-mysql-server types it (planbuilder's convertInt):
	// unsigned when it fits an unsigned integer type before the signed
	// one of the same size; litInt is its value when it fits an int64.
	litUnsigned bool
	litUint     uint64
	litInt      int64
	litIsInt64  bool
	// litParam names the parameter holding the literal (pointSet.litParam);
	// params resolves it for each execution.
	litParam string
}

// ParsePointWrite returns query as a PointWrite, or nil when it does not
// have one of the shapes (see PointWrite).
func ParsePointWrite(query string) *PointWrite {
	stmt, err := sqlparser.Parse(query)
	if err != nil {
		return nil
	}
	return pointWriteOf(stmt)
}

func pointWriteOf(stmt sqlparser.Statement) *PointWrite {
	var (
		pw    *PointWrite
		where *sqlparser.Where
	)
	switch s := stmt.(type) {
	case *sqlparser.Update:
		if len(s.Comments) > 0 || s.Ignore != "" || s.With != nil || len(s.OrderBy) > 0 || s.Limit != nil ||
			len(s.Returning) > 0 || len(s.Exprs) == 0 {
			return nil
		}
		if pw = singleTable(s.TableExprs); pw == nil {
			return nil
		}
		column := columnOf(pw.table, pw.db, false)
		for _, a := range s.Exprs {
			set, ok := parseSet(a, column)
			if !ok {
				return nil
			}
			pw.sets = append(pw.sets, set)
		}
		where = s.Where
	case *sqlparser.Delete:
		if len(s.Comments) > 0 || len(s.Targets) > 0 || s.With != nil || len(s.Partitions) > 0 ||
			len(s.OrderBy) > 0 || s.Limit != nil || len(s.Returning) > 0 {
			return nil
		}
		if pw = singleTable(s.TableExprs); pw == nil {
			return nil
		}
		pw.delete = true
		where = s.Where
	default:
		return nil
	}
	if where == nil || where.Type != sqlparser.WhereStr ||
		!keyTerms(where.Expr, columnOf(pw.table, pw.db, false), &pw.terms) {
		return nil
	}
	return pw
}

// singleTable returns a PointWrite for a FROM that names one table,
// without alias, partitions, hints or AS OF.
func singleTable(exprs sqlparser.TableExprs) *PointWrite {
	if len(exprs) != 1 {
		return nil
	}
	from, ok := exprs[0].(*sqlparser.AliasedTableExpr)
	if !ok || !from.As.IsEmpty() || len(from.Partitions) > 0 || from.Hints != nil || from.AsOf != nil || from.Lateral {
		return nil
	}
	tn, ok := from.Expr.(sqlparser.TableName)
	if !ok || !tn.SchemaQualifier.IsEmpty() {
		return nil
	}
	return &PointWrite{db: tn.DbQualifier.String(), table: tn.Name.String()}
}

// parseSet reads `col = ?` or `col = col ± n` (in parentheses or not).
func parseSet(a *sqlparser.AssignmentExpr, column func(sqlparser.Expr) (string, bool)) (pointSet, bool) {
	if a.Name == nil {
		return pointSet{}, false
	}
	name, ok := column(a.Name)
	if !ok {
		return pointSet{}, false
	}
	if param, ok := paramName(a.Expr); ok {
		return pointSet{col: name, param: param}, true
	}
	e := a.Expr
	for {
		// The pgwire translator writes `k = (k + 1)`.
		p, ok := e.(*sqlparser.ParenExpr)
		if !ok {
			break
		}
		e = p.Expr
	}
	b, ok := e.(*sqlparser.BinaryExpr)
	if !ok || b.Operator != sqlparser.PlusStr && b.Operator != sqlparser.MinusStr {
		return pointSet{}, false
	}
	operand, ok := column(b.Left)
	if !ok || !strings.EqualFold(operand, name) {
		return pointSet{}, false
	}
	minus := b.Operator == sqlparser.MinusStr
	if param, ok := paramName(b.Right); ok {
		return pointSet{col: name, minus: minus, litParam: param}, true
	}
	lit, isVal := b.Right.(*sqlparser.SQLVal)
	if !isVal || lit.Type != sqlparser.IntVal {
		return pointSet{}, false
	}
	return pointSet{col: name, minus: minus, lit: string(lit.Val)}, true
}

// ExecPointWrite runs pw for ctx's session and returns the OK result
// go-mysql-server's accumulator would: for an update the rows affected
// (changed, or matched for a client with CLIENT_FOUND_ROWS) and
// plan.UpdateInfo; for a delete the rows deleted. arg returns a
// parameter's bound value: int64, uint64, float64, string, or nil for NULL
// (ok=false for anything else). handled=false means the ordinary path must
// run the statement; ctx and the session are then as they were.
func (e *Engine) ExecPointWrite(ctx *gmssql.Context, pw *PointWrite, arg func(name string) (any, bool)) (res types.OkResult, handled bool, err error) {
	defer func() {
		if handled {
			e.fast.hits.Add(1)
		}
	}()
	priv := gmssql.PrivilegeType_Update
	if pw.delete {
		priv = gmssql.PrivilegeType_Delete
	}
	st, ok, err := e.beginFast(ctx, pw.db, pw.table, priv, true)
	if !ok {
		return res, err != nil, err
	}
	endsWithStatement := st.autocommit && !ctx.GetIgnoreAutoCommit()
	defer func() { st.endWrite(ctx, handled, endsWithStatement, err) }()
	t, err := e.Provider.StoredTable(ctx, st.db, pw.table)
	if err != nil || t == nil {
		return res, false, nil
	}
	p := e.writePlanFor(ctx, pw, st.db, t)
	if !p.ok {
		return res, false, nil
	}
	key, ok := p.bind(ctx, func(name string) (any, bool) {
		v, ok := arg(name)
		switch v.(type) {
		case int64, uint64:
			return v, ok
		}
		return nil, false
	})
	if !ok {
		return res, false, nil
	}
	vals, ok := p.params(ctx, arg)
	if !ok {
		return res, false, nil
	}
	// The row's lock: a concurrent writer of the row is waited for. Then,
	// under snapshot isolation, a row changed after the snapshot fails the
	// statement now, as the commit would; at READ COMMITTED the change is
	// computed from the newest committed version (txn/locks.go).
	rowKey, keyed, err := t.RowKey(key...)
	if err != nil {
		return res, false, nil
	}
	endLatest := func() {}
	if keyed {
		tx := st.tx.(*txn.Transaction)
		if err := e.locks.Lock(ctx, tx, rowKey, LockWaitTimeout); err != nil {
			return res, true, lockError(ctx, err)
		}
		if tx.LatestWrites() {
			endLatest = tx.BeginLatestWrite(rowKey, e.cfg.DB.ReadSeq())
		} else if err := e.unchangedSince(ctx, st.sess, tx, rowKey); err != nil {
			return res, true, err
		}
	}
	defer func() { endLatest() }()
	// A read error declines too: nothing is written yet, and the
	// ordinary path meets the error again and reports it. A NULL key
	// (not keyed) matches no row.
	var old gmssql.Row
	if keyed {
		if old, err = t.GetRowAt(ctx, rowKey); err != nil {
			return res, false, nil
		}
	}
	var row gmssql.Row
	if old != nil && !pw.delete {
		if row, ok = p.apply(ctx, old, vals); !ok {
			return res, false, nil
		}
	}

	// From here on the statement runs: errors are the statement's.
	ctx.ClearWarnings()
	if pw.delete {
		st.sess.CountStatement(txn.StatDelete)
		res, err = deleteRow(ctx, t, old)
	} else {
		st.sess.CountStatement(txn.StatUpdate)
		res, err = updateRow(ctx, t, p.schema, old, row)
	}
	endLatest()
	endLatest = func() {}
	if err != nil {
		return res, true, err
	}
	ctx.SetLastQueryInfoInt(gmssql.RowCount, int64(res.RowsAffected))
	if endsWithStatement {
		// As go-mysql-server's TransactionCommittingIter does.
		if err := st.sess.CommitTransaction(ctx, st.tx); err != nil {
			return res, true, err
		}
		ctx.SetTransaction(nil)
	}
	return res, true, nil
}

// updateRow writes row over old (nil: no row matched) as
// go-mysql-server's update iterator and accumulator do.
func updateRow(ctx *gmssql.Context, t *catalog.Table, sch gmssql.Schema, old, row gmssql.Row) (types.OkResult, error) {
	var info plan.UpdateInfo
	if old != nil {
		info.Matched = 1
		equal, err := old.Equals(ctx, row, sch)
		if err != nil {
			return types.OkResult{}, err
		}
		if !equal {
			ed := t.Updater(ctx)
			if err := edit(ctx, ed, func() error { return ed.Update(ctx, old, row) }); err != nil {
				return types.OkResult{}, err
			}
			info.Updated = 1
		}
	}
	ctx.SetLastQueryInfoInt(gmssql.FoundRows, int64(info.Matched))
	affected := info.Updated
	if ctx.Client().Capabilities&vmysql.CapabilityClientFoundRows != 0 {
		affected = info.Matched
	}
	return types.OkResult{RowsAffected: uint64(affected), Info: info}, nil
}

// deleteRow deletes old (nil: no row matched).
func deleteRow(ctx *gmssql.Context, t *catalog.Table, old gmssql.Row) (types.OkResult, error) {
	if old == nil {
		return types.NewOkResult(0), nil
	}
	ed := t.Deleter(ctx)
	if err := edit(ctx, ed, func() error { return ed.Delete(ctx, old) }); err != nil {
		return types.OkResult{}, err
	}
	return types.NewOkResult(1), nil
}

// rowEditor is what RowUpdater and RowDeleter have in common.
type rowEditor interface {
	gmssql.EditOpenerCloser
	Close(*gmssql.Context) error
}

// edit runs write as one statement of ed, as go-mysql-server's
// TableEditorIter does: discarded when it fails, kept otherwise.
func edit(ctx *gmssql.Context, ed rowEditor, write func() error) error {
	ed.StatementBegin(ctx)
	if err := write(); err != nil {
		_ = ed.DiscardChanges(ctx, err)
		_ = ed.Close(ctx)
		return err
	}
	if err := ed.StatementComplete(ctx); err != nil {
		return err
	}
	return ed.Close(ctx)
}

// params returns the converted value of each `col = ?` assignment (nil
// for arithmetic ones); ok=false when one does not convert plainly.
func (p *writePlan) params(ctx *gmssql.Context, arg func(name string) (any, bool)) ([]any, bool) {
	vals := make([]any, len(p.sets))
	for i, s := range p.sets {
		if s.litParam != "" {
			// The literal the parameter stands for, typed as
			// go-mysql-server types a literal (intLiteral).
			v, ok := arg(s.litParam)
			var text string
			switch n := v.(type) {
			case int64:
				text = strconv.FormatInt(n, 10)
			case uint64:
				text = strconv.FormatUint(n, 10)
			default:
				return nil, false
			}
			lit, litOK := intLiteral(text)
			if !ok || !litOK {
				return nil, false
			}
			lit.ord, lit.minus = s.ord, s.minus
			vals[i] = lit
			continue
		}
		if s.param == "" {
			continue
		}
		v, ok := arg(s.param)
		if !ok {
			return nil, false
		}
		col := p.schema[s.ord]
		if v == nil {
			if !col.Nullable {
				return nil, false
			}
			continue
		}
		if !sameKind(v, col.Type) {
			return nil, false
		}
		cv, ok := convertExact(ctx, col.Type, v)
		if !ok {
			return nil, false
		}
		vals[i] = cv
	}
	return vals, true
}

// apply returns old with the assignments made; ok=false when arithmetic
// leaves the range where it is plain (see arith).
func (p *writePlan) apply(ctx *gmssql.Context, old gmssql.Row, vals []any) (gmssql.Row, bool) {
	row := old.Copy()
	for i, s := range p.sets {
		if s.param != "" {
			row[s.ord] = vals[i]
			continue
		}
		if row[s.ord] == nil {
			continue // NULL ± n is NULL
		}
		if s.litParam != "" {
			s = vals[i].(setPlan)
		}
		v, ok := s.arith(ctx, p.schema[s.ord].Type, row[s.ord])
		if !ok {
			return nil, false
		}
		row[s.ord] = v
	}
	return row, true
}

// arith computes `col ± n` for a non-NULL value v of an integer column
// of type typ, as go-mysql-server's Arithmetic does — in uint64 when the
// column and the literal are both unsigned, in int64 otherwise — followed
// by SetField's conversion to the column's type. ok=false when an operand
// does not fit that arithmetic's type, the result overflows it, or the
// result is out of the column's range: go-mysql-server then clamps, wraps
// or fails, and the ordinary path does that.
func (s *setPlan) arith(ctx *gmssql.Context, typ gmssql.Type, v any) (any, bool) {
	var result any
	if s.litUnsigned && types.IsUnsigned(typ) {
		l, nonNegative, isInt := catalog.IntToUint(v)
		if !isInt || !nonNegative {
			return nil, false
		}
		r := s.litUint
		switch {
		case !s.minus && l > math.MaxUint64-r, s.minus && l < r:
			return nil, false
		case s.minus:
			result = l - r
		default:
			result = l + r
		}
	} else {
		l, isInt := toInt64(v)
		if !isInt || !s.litIsInt64 {
			return nil, false
		}
		r := s.litInt
		if s.minus {
			if r == math.MinInt64 {
				return nil, false
			}
			r = -r
		}
		if r > 0 && l > math.MaxInt64-r || r < 0 && l < math.MinInt64-r {
			return nil, false
		}
		result = l + r
	}
	return convertExact(ctx, typ, result)
}

// convertExact converts v to typ and reports whether that was plain: no
// error, in range, and for an integer the same number (go-mysql-server
// truncates some unsigned values to a narrower unsigned type and calls
// that in range).
func convertExact(ctx *gmssql.Context, typ gmssql.Type, v any) (any, bool) {
	if cv, ok := convertIdentity(typ, v); ok {
		return cv, true
	}
	cv, inRange, err := typ.Convert(ctx, v)
	if err != nil || inRange != gmssql.InRange {
		return nil, false
	}
	if types.IsInteger(typ) && !sameInteger(v, cv) {
		return nil, false
	}
	if t, ok := v.(time.Time); ok {
		// A time the column would round or move (its precision, its
		// range) goes to the analyzer's path.
		if ct, ok := cv.(time.Time); !ok || !ct.Equal(t) {
			return nil, false
		}
	}
	return cv, true
}

// convertIdentity is convertExact for the two conversions that return
// their argument unchanged, without go-mysql-server's Convert: an int64
// to a signed BIGINT, and a string, valid UTF-8 and not too long, to a
// utf8mb4 CHAR, VARCHAR or TEXT column. Convert copied the string and
// boxed the result again: two to three allocations of every prepared
// insert (TestConvertIdentityMatchesConvert).
func convertIdentity(typ gmssql.Type, v any) (any, bool) {
	switch x := v.(type) {
	case int64:
		if n, ok := typ.(types.NumberTypeImpl_); ok && n.Type() == querypb.Type_INT64 {
			return v, true
		}
	case string:
		st, ok := typ.(types.StringType)
		if !ok || st.CharacterSet() != gmssql.CharacterSet_utf8mb4 || !utf8.ValidString(x) {
			return nil, false
		}
		switch st.Type() {
		case querypb.Type_TEXT:
			return v, int64(len(x)) <= st.MaxByteLength()
		case querypb.Type_VARCHAR, querypb.Type_CHAR:
			max := st.MaxCharacterLength()
			return v, int64(len(x)) <= max || int64(utf8.RuneCountInString(x)) <= max
		}
	}
	return nil, false
}

// sameInteger reports whether a and b are integers of the same value,
// whatever their Go types.
func sameInteger(a, b any) bool {
	au, aNonNeg, aInt := catalog.IntToUint(a)
	bu, bNonNeg, bInt := catalog.IntToUint(b)
	if !aInt || !bInt || aNonNeg != bNonNeg {
		return false
	}
	if aNonNeg {
		return au == bu
	}
	ai, _ := toInt64(a)
	bi, _ := toInt64(b)
	return ai == bi
}

// toInt64 returns an integer column's stored value as an int64; ok=false
// for an unsigned value above math.MaxInt64 or a value of another kind.
func toInt64(v any) (int64, bool) {
	switch n := v.(type) {
	case int8:
		return int64(n), true
	case int16:
		return int64(n), true
	case int32:
		return int64(n), true
	case int64:
		return n, true
	}
	u, nonNegative, isInt := catalog.IntToUint(v)
	if !isInt || !nonNegative || u > math.MaxInt64 {
		return 0, false
	}
	return int64(u), true
}

// intLiteral types an integer literal as go-mysql-server's planbuilder
// does (convertInt): the first of int8, uint8, int16, uint16, int32,
// uint32, int64, uint64 that holds it. ok=false past uint64 (a decimal).
func intLiteral(text string) (sp setPlan, ok bool) {
	for _, bits := range []int{8, 16, 32, 64} {
		if n, err := strconv.ParseInt(text, 10, bits); err == nil {
			sp.litInt, sp.litIsInt64 = n, true
			return sp, true
		}
		if n, err := strconv.ParseUint(text, 10, bits); err == nil {
			sp.litUnsigned, sp.litUint = true, n
			if n <= math.MaxInt64 {
				sp.litInt, sp.litIsInt64 = int64(n), true
			}
			return sp, true
		}
	}
	return sp, false
}

// writePlanFor returns pw's plan for t's definition.
func (e *Engine) writePlanFor(ctx *gmssql.Context, pw *PointWrite, db string, t *catalog.Table) *writePlan {
	if p := pw.plan.Load(); p != nil && p.version == t.Version() {
		return p
	}
	sch := t.Schema()
	p := &writePlan{version: t.Version(), schema: sch}
	defer pw.plan.Store(p)
	if !t.PointReadable() || !t.PlainUpdates(ctx) || e.hasTriggers(ctx, db) {
		return p
	}
	kp, ok := keyPlanFor(t, pw.terms)
	if !ok {
		return p
	}
	p.keyPlan = kp
	assigned := make([]bool, len(sch))
	for _, s := range pw.sets {
		o := sch.IndexOfColName(s.col)
		if o < 0 || assigned[o] || sch[o].PrimaryKey || sch[o].AutoIncrement {
			return p
		}
		assigned[o] = true
		sp := setPlan{ord: o, param: s.param, litParam: s.litParam, minus: s.minus}
		if s.litParam != "" && !types.IsInteger(sch[o].Type) {
			return p
		}
		if s.param == "" && s.litParam == "" {
			if !types.IsInteger(sch[o].Type) {
				return p
			}
			lit, ok := intLiteral(s.lit)
			if !ok {
				return p
			}
			sp = lit
			sp.ord, sp.minus = o, s.minus
		}
		p.sets = append(p.sets, sp)
	}
	p.ok = true
	return p
}
