package pgwire

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	gmssql "github.com/dolthub/go-mysql-server/sql"
	"github.com/jackc/pgproto3/v2"
	pg "github.com/pganalyze/pg_query_go/v6"
)

// copySpec is a COPY statement translated for the connection to run.
type copySpec struct {
	from bool
	// db and table name the table (db "": the current database).
	db, table string
	// columns are COPY's column list (empty: every column).
	columns []string
	// query is COPY TO's engine SELECT; resultTypes its inferred
	// column types (resulttypes.go).
	query       string
	resultTypes []uint32
	opts        copyOptions
}

// copyBatchRows is how many rows one engine INSERT of COPY FROM carries.
const copyBatchRows = 500

const (
	codeBadCopyFormat        = "22P04"
	codeProgramLimitExceeded = "54000"
)

// maxCopyRow bounds one row of COPY FROM input.
const maxCopyRow = 64 << 20

// copyStmt translates COPY … FROM STDIN and COPY … TO STDOUT; files and
// programs on the server are refused (psql's \copy goes through STDIN).
func (t *translator) copyStmt(s *pg.CopyStmt) statement {
	if s.IsProgram || s.Filename != "" {
		t.unsupported("COPY to or from a file or program on the server (use STDIN/STDOUT, as psql's \\copy does)")
	}
	if s.WhereClause != nil {
		t.unsupported("COPY … FROM … WHERE")
	}
	cs := &copySpec{from: s.IsFrom, columns: stringList(s.Attlist), opts: t.copyOptions(s.Options)}
	if s.Query != nil {
		sel := s.Query.GetSelectStmt()
		if sel == nil {
			t.unsupported("COPY (a statement other than SELECT) TO")
		}
		cs.query = t.selectStmt(sel)
		cs.resultTypes = t.selectResultTypes(sel, nil)
		return statement{kind: kindCopy, tag: "COPY", copy: cs}
	}
	rv := s.Relation
	switch schema := strings.ToLower(rv.Schemaname); {
	case schema == "pg_catalog" || schema == "information_schema":
		if s.IsFrom {
			t.unsupported("COPY into " + schema + "." + rv.Relname)
		}
	case schema != "" && schema != "public":
		cs.db = schema
	}
	cs.table = rv.Relname
	if !s.IsFrom {
		cols := "*"
		if len(cs.columns) > 0 {
			cols = joinIdents(cs.columns)
		}
		cs.query = "SELECT " + cols + " FROM " + t.rangeVar(rv, true)
	}
	return statement{kind: kindCopy, tag: "COPY", copy: cs}
}

func (t *translator) copyOptions(opts []*pg.Node) copyOptions {
	format := copyText
	set := map[string]string{}
	for _, n := range opts {
		d := n.GetDefElem()
		if d == nil {
			continue
		}
		v := defElemString(d.Arg)
		switch d.Defname {
		case "format":
			switch strings.ToLower(v) {
			case "text":
			case "csv":
				format = copyCSV
			case "binary":
				format = copyBinary
			default:
				t.fail(newError(codeInvalidParameter, fmt.Sprintf("COPY format %q not recognized", v)))
			}
		case "delimiter", "null", "quote", "escape", "header":
			set[d.Defname] = v
			if d.Arg == nil && d.Defname == "header" {
				set[d.Defname] = "true"
			}
		case "freeze":
			// Storage has no tuple freezing; pgbench -i asks for it.
		case "encoding":
			if e := strings.ToLower(strings.ReplaceAll(v, "-", "")); e != "utf8" && e != "unicode" {
				t.unsupported("COPY encoding " + v + " (only UTF8)")
			}
		default:
			t.unsupported("COPY option " + strings.ToUpper(d.Defname))
		}
	}
	o := defaultCopyOptions(format)
	if format == copyBinary && len(set) > 0 {
		t.fail(newError(codeSyntaxError, "cannot specify DELIMITER, NULL, QUOTE, ESCAPE or HEADER in BINARY mode"))
	}
	oneByte := func(name string, dst *byte) {
		if v, ok := set[name]; ok {
			if len(v) != 1 {
				t.fail(newError(codeFeatureNotSupported, "COPY "+name+" must be a single one-byte character"))
			}
			*dst = v[0]
		}
	}
	oneByte("delimiter", &o.delim)
	if _, ok := set["quote"]; ok && format != copyCSV {
		t.fail(newError(codeFeatureNotSupported, "COPY QUOTE requires CSV mode"))
	}
	oneByte("quote", &o.quote)
	o.escape = o.quote
	oneByte("escape", &o.escape)
	if v, ok := set["null"]; ok {
		o.null = v
	}
	if v, ok := set["header"]; ok {
		switch strings.ToLower(v) {
		case "true", "on", "1", "match":
			o.header = true
		case "false", "off", "0":
		default:
			t.fail(newError(codeInvalidParameter, "header requires a Boolean value or \"match\""))
		}
	}
	if o.delim == '\n' || o.delim == '\r' || o.delim == '\\' && format == copyText {
		t.fail(newError(codeFeatureNotSupported, "COPY delimiter cannot be newline, carriage return or backslash"))
	}
	return o
}

// defElemString is an option's value as text ("" when it has none).
func defElemString(n *pg.Node) string {
	switch {
	case n == nil:
		return ""
	case n.GetString_() != nil:
		return n.GetString_().Sval
	case n.GetBoolean() != nil:
		return strconv.FormatBool(n.GetBoolean().Boolval)
	case n.GetInteger() != nil:
		return strconv.Itoa(int(n.GetInteger().Ival))
	case n.GetAConst() != nil:
		if sv := n.GetAConst().GetSval(); sv != nil {
			return sv.Sval
		}
	}
	return ""
}

// copyTo runs COPY … TO STDOUT: the query's rows as CopyData.
func (c *conn) copyTo(cs *copySpec) (*result, *pgError) {
	sch, rows, err := c.engineQuery(cs.query, nil, "")
	if err != nil {
		return nil, toPGError(err)
	}
	sch, rows, perr := retype(cs.resultTypes, sch, rows)
	if perr != nil {
		return nil, perr
	}
	o := cs.opts
	formats := make([]uint16, len(sch))
	for i := range formats {
		formats[i] = uint16(o.format.wireCode())
	}
	c.send(&pgproto3.CopyOutResponse{OverallFormat: o.format.wireCode(), ColumnFormatCodes: formats})
	ctx := c.newContext(c.ctx)
	oids := make([]uint32, len(sch))
	for i, col := range sch {
		oids[i] = typeOID(col.Type)
	}
	var line []byte
	switch {
	case o.format == copyBinary:
		line = append(append(line, copyBinarySignature...), 0, 0, 0, 0, 0, 0, 0, 0)
		c.send(&pgproto3.CopyData{Data: line})
	case o.header:
		line = line[:0]
		for i, col := range sch {
			if i > 0 {
				line = append(line, o.delim)
			}
			line = o.appendField(line, []byte(col.Name))
		}
		c.send(&pgproto3.CopyData{Data: append(line, '\n')})
	}
	for _, row := range rows {
		line = line[:0]
		if o.format == copyBinary {
			line = binary.BigEndian.AppendUint16(line, uint16(len(sch)))
		}
		for i := range sch {
			var v any
			if i < len(row) {
				v = row[i]
			}
			if o.format == copyBinary {
				b, err := encodeBinary(ctx, sch[i].Type, oids[i], v)
				if err != nil {
					return nil, toPGError(err)
				}
				if b == nil && v == nil {
					line = binary.BigEndian.AppendUint32(line, 0xffffffff)
					continue
				}
				line = append(binary.BigEndian.AppendUint32(line, uint32(len(b))), b...)
				continue
			}
			b, err := encodeText(ctx, sch[i].Type, oids[i], v)
			if err != nil {
				return nil, toPGError(err)
			}
			if i > 0 {
				line = append(line, o.delim)
			}
			if v == nil {
				b = nil
			} else if b == nil {
				b = []byte{}
			}
			line = o.appendField(line, b)
		}
		if o.format != copyBinary {
			line = append(line, '\n')
		}
		c.send(&pgproto3.CopyData{Data: line})
	}
	if o.format == copyBinary {
		c.send(&pgproto3.CopyData{Data: []byte{0xff, 0xff}})
	}
	c.send(&pgproto3.CopyDone{})
	return &result{tag: "COPY " + strconv.Itoa(len(rows))}, nil
}

func (o copyOptions) appendField(dst, v []byte) []byte {
	if o.format == copyCSV {
		return appendCopyCSV(dst, v, o)
	}
	return appendCopyText(dst, v, o)
}

// copyTarget is the table COPY FROM writes: its columns and their types.
type copyTarget struct {
	name    string // for messages
	insert  string // INSERT INTO t (cols) VALUES, without the rows
	columns []string
	oids    []uint32
}

func (c *conn) copyTarget(cs *copySpec) (*copyTarget, *pgError) {
	ctx := c.newContext(c.ctx)
	defer c.dropAnalysisTxn()
	db := cs.db
	if db == "" {
		db = ctx.GetCurrentDatabase()
	}
	tbl, _, err := c.s.engine.Analyzer.Catalog.Table(ctx, db, cs.table)
	if err != nil || tbl == nil {
		return nil, newError(codeUndefinedTable, fmt.Sprintf("relation %q does not exist", cs.table))
	}
	sch := tbl.Schema()
	tg := &copyTarget{name: cs.table}
	pick := func(col *gmssql.Column) {
		tg.columns = append(tg.columns, col.Name)
		tg.oids = append(tg.oids, typeOID(col.Type))
	}
	if len(cs.columns) == 0 {
		for _, col := range sch {
			pick(col)
		}
	}
	for _, name := range cs.columns {
		i := sch.IndexOfColName(name)
		if i < 0 {
			return nil, newError(codeUndefinedColumn, fmt.Sprintf("column %q of relation %q does not exist", name, cs.table))
		}
		pick(sch[i])
	}
	qt := quoteIdent(cs.table)
	if cs.db != "" {
		qt = quoteIdent(cs.db) + "." + qt
	}
	tg.insert = "INSERT INTO " + qt + " (" + joinIdents(tg.columns) + ") VALUES "
	return tg, nil
}

// copyFrom runs COPY … FROM STDIN: the client's rows are inserted through
// the engine (grants, policies and the ledger apply) in one transaction,
// the client's own if one is open. Any error writes nothing.
func (c *conn) copyFrom(cs *copySpec) (*result, *pgError) {
	tg, perr := c.copyTarget(cs)
	if perr != nil {
		return nil, perr
	}
	formats := make([]uint16, len(tg.columns))
	for i := range formats {
		formats[i] = uint16(cs.opts.format.wireCode())
	}
	c.send(&pgproto3.CopyInResponse{OverallFormat: cs.opts.format.wireCode(), ColumnFormatCodes: formats})
	own := !c.inTxn
	if own {
		if _, _, err := c.engineQuery("START TRANSACTION", nil, ""); err != nil {
			return nil, toPGError(err)
		}
	}
	n, perr := c.copyIn(cs, tg)
	if perr != nil {
		if own {
			c.engineQuery("ROLLBACK", nil, "")
		}
		return nil, perr
	}
	if own {
		if _, _, err := c.engineQuery("COMMIT", nil, ""); err != nil {
			return nil, toPGError(err)
		}
	}
	return &result{tag: "COPY " + strconv.FormatInt(n, 10)}, nil
}

// copyIn reads CopyData until CopyDone and inserts the rows in batches.
func (c *conn) copyIn(cs *copySpec, tg *copyTarget) (int64, *pgError) {
	dec := &copyDecoder{opts: cs.opts}
	b := &copyBatch{c: c, tg: tg, format: cs.opts.format}
	for {
		msg, err := c.receive()
		if err != nil {
			return b.line, newError(codeProtocolViolation, "connection lost during COPY: "+err.Error())
		}
		switch m := msg.(type) {
		case *pgproto3.CopyData:
			dec.feed(m.Data)
			if perr := b.drain(dec, false); perr != nil {
				return b.line, perr
			}
			if len(dec.buf)-dec.pos > maxCopyRow {
				// One row (or a binary header) that never ends would
				// otherwise grow the buffer without bound.
				return b.line, b.where(newError(codeProgramLimitExceeded, fmt.Sprintf("COPY row exceeds %d MiB", maxCopyRow>>20)), b.line+1, "")
			}
		case *pgproto3.CopyDone:
			if perr := b.drain(dec, true); perr != nil {
				return b.line, perr
			}
			if rest := len(dec.buf) - dec.pos; rest > 0 && !dec.done {
				// The binary trailer may be left out (pgx does), but not
				// half a row.
				return b.line, b.where(newError(codeBadCopyFormat, "unexpected EOF in COPY data"), b.line+1, "")
			}
			if perr := b.flush(); perr != nil {
				return b.line, perr
			}
			return b.line, nil
		case *pgproto3.CopyFail:
			return b.line, newError(codeQueryCanceled, "COPY from stdin failed: "+m.Message)
		case *pgproto3.Flush, *pgproto3.Sync:
			// Ignored in copy-in mode, as PostgreSQL does.
		default:
			return b.line, newError(codeProtocolViolation, fmt.Sprintf("unexpected message type %T during COPY from stdin", msg))
		}
	}
}

// copyBatch collects decoded rows and inserts them copyBatchRows at a
// time.
type copyBatch struct {
	c      *conn
	tg     *copyTarget
	format copyFormat
	params map[int]any
	rows   int
	// line counts input rows, for error context.
	line int64
}

func (b *copyBatch) drain(dec *copyDecoder, final bool) *pgError {
	for {
		raw, ok, err := dec.next(final)
		if err != nil {
			return b.where(newError(codeBadCopyFormat, err.Error()), b.line+1, "")
		}
		if !ok {
			return nil
		}
		b.line++
		if perr := b.add(raw); perr != nil {
			return perr
		}
	}
}

func (b *copyBatch) add(raw [][]byte) *pgError {
	tg := b.tg
	if len(raw) > len(tg.columns) {
		return b.where(newError(codeBadCopyFormat, "extra data after last expected column"), b.line, "")
	}
	if len(raw) < len(tg.columns) {
		return b.where(newError(codeBadCopyFormat, fmt.Sprintf("missing data for column %q", tg.columns[len(raw)])), b.line, "")
	}
	if b.params == nil {
		b.params = make(map[int]any, copyBatchRows*len(tg.columns))
	}
	base := b.rows * len(tg.columns)
	for i, f := range raw {
		v, perr := decodeCopyValue(tg.oids[i], b.format, f)
		if perr != nil {
			return b.where(perr, b.line, tg.columns[i])
		}
		b.params[base+i+1] = v
	}
	b.rows++
	if b.rows == copyBatchRows {
		return b.flush()
	}
	return nil
}

// flush inserts the collected rows with one engine INSERT.
func (b *copyBatch) flush() *pgError {
	if b.rows == 0 {
		return nil
	}
	var q strings.Builder
	q.WriteString(b.tg.insert)
	n := len(b.tg.columns)
	for r := 0; r < b.rows; r++ {
		if r > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for i := 0; i < n; i++ {
			if i > 0 {
				q.WriteString(", ")
			}
			q.WriteString(":v" + strconv.Itoa(r*n+i+1))
		}
		q.WriteByte(')')
	}
	first := b.line - int64(b.rows) + 1
	_, _, err := b.c.engineQuery(q.String(), b.params, "")
	b.rows = 0
	clear(b.params)
	if err != nil {
		perr := toPGError(err)
		if first == b.line {
			return b.where(perr, first, "")
		}
		e := *perr
		e.Where = fmt.Sprintf("COPY %s, lines %d–%d", b.tg.name, first, b.line)
		return &e
	}
	return nil
}

func (b *copyBatch) where(perr *pgError, line int64, column string) *pgError {
	e := *perr
	e.Where = fmt.Sprintf("COPY %s, line %d", b.tg.name, line)
	if column != "" {
		e.Where += ", column " + column
	}
	return &e
}

// decodeCopyValue turns one COPY field into a value the engine binds,
// checking the input for the column's type as PostgreSQL does.
func decodeCopyValue(oid uint32, format copyFormat, raw []byte) (any, *pgError) {
	if raw == nil {
		return nil, nil
	}
	if format == copyBinary {
		var v any
		var err error
		if oid == oidNumeric {
			v, err = decodeNumericBinary(raw)
		} else {
			v, err = decodeParam(oid, 1, raw)
		}
		if err != nil {
			return nil, toPGError(err)
		}
		return v, nil
	}
	s := string(raw)
	bad := func(typ string) *pgError {
		return newError(codeInvalidText, fmt.Sprintf("invalid input syntax for type %s: %q", typ, s))
	}
	switch oid {
	case oidBool:
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "t", "true", "y", "yes", "on", "1":
			return true, nil
		case "f", "false", "n", "no", "off", "0":
			return false, nil
		}
		return nil, bad("boolean")
	case oidInt2, oidInt4, oidInt8:
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			if errors.Is(err, strconv.ErrRange) {
				return nil, newError(codeNumericOutOfRange, fmt.Sprintf("value %q is out of range for type integer", s))
			}
			return nil, bad("integer")
		}
		return v, nil
	case oidFloat4, oidFloat8:
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
		if err != nil {
			return nil, bad("double precision")
		}
		return v, nil
	case oidTimestamp, oidTimestamptz:
		if tm, ok := parseTimestamp(s); ok {
			return tm, nil
		}
	}
	v, err := decodeParam(oid, 0, raw)
	if err != nil {
		return nil, toPGError(err)
	}
	return v, nil
}
