package pgwire

import (
	"errors"
	"strconv"
	"strings"
)

// Simple-query templates. A client of the simple query protocol (psql,
// pgbench's default mode, drivers that interpolate their values) sends
// each statement as text with its values written in, so every execution
// paid for PostgreSQL's parser (pg_query: a cgo call and a protobuf
// decode), the translation, and the engine's own literal normalization
// (engine.NormalizeLiterals, a second parse) before the fast paths
// (fast.go) could take it: together about 40% of the server's CPU under
// pgbench. A statement whose only literals are integers is now
// translated once per connection as its template — the same text with
// each integer a $n parameter, as if the client had prepared it — and
// later executions bind the integers and go straight to the fast paths.
//
// The template is used only where it cannot mean anything else:
//   - SELECT, INSERT, UPDATE and DELETE without RETURNING, and
//     transaction control (BEGIN, COMMIT, ROLLBACK and their spellings);
//   - no string literal (a string written to a boolean or timestamp
//     column is translated according to the column's type), no cast,
//     comment, dollar quote or parameter of the text's own, one
//     statement;
//   - an integer becomes a parameter only as an operand (after = < > + -
//     * / % ( or ,), a minus in front of it folded in where it is unary;
//     elsewhere (LIMIT 5) it stays in the text, and in a SELECT only in
//     its WHERE clause;
//   - the column types the translation read (a SELECT's result types)
//     are read again before each use: a template translated before DDL
//     changed them is translated again;
//   - the fast paths take integer parameters as they take the integers
//     engine.NormalizeLiterals finds in the text. When they decline the
//     template, the statement runs from its text as before, and the
//     template is not tried again.
//
// Translation of such a statement depends on nothing but its text, the
// session's user and those column types, so the cache is the
// connection's.

// maxTemplates bounds a connection's template cache; it starts afresh
// when full.
const maxTemplates = 256

// maxTemplateText bounds the texts templated: the fast forms are short.
const maxTemplateText = 1024

// template is a translated simple-query template.
type template struct {
	st       statement
	declined bool // the fast paths declined it: run the text
	// read are the column types the translation looked up.
	read []columnRead
}

type columnRead struct {
	table, column string
	oid           uint32
}

// current reports whether the column types t was translated with are
// still the columns' types.
func (t *template) current(lookup columnLookup) bool {
	for _, r := range t.read {
		if lookup(r.table, r.column) != r.oid {
			return false
		}
	}
	return true
}

// operand is where an integer is a value: the symbols after which a
// literal is an operand.
func operand(prev string) bool {
	switch prev {
	case "=", "<", ">", "<=", ">=", "<>", "!=", "+", "-", "*", "/", "%", "(", ",":
		return true
	}
	return false
}

// templateOf returns text's template and the integers taken out of it
// (as $1, $2 …), or ok false when text is not one templates serve.
func templateOf(text string) (key string, vals []int64, ok bool) {
	text = strings.TrimSpace(text)
	text = strings.TrimSpace(strings.TrimSuffix(text, ";"))
	if len(text) == 0 || len(text) > maxTemplateText {
		return "", nil, false
	}
	// In a SELECT only the WHERE clause's integers become parameters: one
	// in the select list would change the column's type.
	values := true
	switch strings.ToUpper(firstWord(text)) {
	case "SELECT":
		values = false
	case "INSERT", "UPDATE", "DELETE", "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT":
	default:
		return "", nil, false
	}
	var b strings.Builder
	b.Grow(len(text))
	prev, prev2 := "", "" // the last two significant tokens
	minusAt := -1         // where in b the last significant token, a "-", starts
	token := func(t string) { prev2, prev = prev, t }
	for i := 0; i < len(text); {
		ch := text[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			b.WriteByte(ch)
			i++
		case ch == '"':
			j := i + 1
			for ; j < len(text); j++ {
				if text[j] == '"' {
					if j+1 < len(text) && text[j+1] == '"' {
						j++
						continue
					}
					break
				}
			}
			if j >= len(text) {
				return "", nil, false
			}
			b.WriteString(text[i : j+1])
			token("ident")
			i = j + 1
		case isIdentStart(ch):
			j := i
			for j < len(text) && isIdentPart(text[j]) {
				j++
			}
			if j < len(text) && (text[j] == '\'' || text[j] == '$') {
				return "", nil, false // E'…', U&'…', a $ in a name
			}
			b.WriteString(text[i:j])
			token(strings.ToUpper(text[i:j]))
			values = values || prev == "WHERE"
			i = j
		case ch >= '0' && ch <= '9':
			j := i
			for j < len(text) && text[j] >= '0' && text[j] <= '9' {
				j++
			}
			if j < len(text) && (text[j] == '.' || isIdentPart(text[j])) {
				return "", nil, false // a decimal, a float, 1e5, 0x…
			}
			digits := text[i:j]
			i = j
			if !values || !operand(prev) {
				b.WriteString(digits)
				token("number")
				continue
			}
			if prev == "-" && (prev2 == "" || operand(prev2)) && minusAt >= 0 {
				// A unary minus: the value is negative.
				s := b.String()[:minusAt]
				b.Reset()
				b.WriteString(s)
				digits = "-" + digits
			}
			n, err := strconv.ParseInt(digits, 10, 64)
			if err != nil {
				return "", nil, false
			}
			vals = append(vals, n)
			b.WriteString("$" + strconv.Itoa(len(vals)))
			token("param")
		default:
			op := string(ch)
			if i+1 < len(text) {
				switch two := text[i : i+2]; two {
				case "<=", ">=", "<>", "!=", "||":
					op = two
				case "::", "--", "/*":
					return "", nil, false
				}
			}
			switch ch {
			case '\'', '$', ';', '\\', '?', ':':
				return "", nil, false
			}
			if op == "-" {
				minusAt = b.Len()
			}
			b.WriteString(op)
			token(op)
			i += len(op)
		}
	}
	return b.String(), vals, true
}

func isIdentStart(ch byte) bool {
	return ch == '_' || ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= 0x80
}

func isIdentPart(ch byte) bool { return isIdentStart(ch) || ch >= '0' && ch <= '9' }

// errFastDeclined (from engineQuery) and errDeclined (from run): the fast
// paths declined a template; nothing ran.
var (
	errFastDeclined = errors.New("pgwire: no fast form")
	errDeclined     = &pgError{Code: codeInternal, Message: "pgwire: no fast form"}
)

// templated runs a simple query from its template; false means it did
// not (the text is not one templates serve, or the fast paths declined
// it) and nothing was sent or changed.
func (c *conn) templated(text string) bool {
	key, vals, ok := templateOf(text)
	if !ok {
		return false
	}
	t := c.templates[key]
	if t != nil && !t.current(c.columnType) {
		t = nil
	}
	if t == nil {
		var read []columnRead
		stmts, perr := translate(key, c.user, func(table, column string) uint32 {
			oid := c.columnType(table, column)
			read = append(read, columnRead{table, column, oid})
			return oid
		})
		t = &template{declined: true}
		if perr == nil && len(stmts) == 1 && templatable(&stmts[0], len(vals)) {
			t = &template{st: stmts[0], read: read}
		}
		if len(c.templates) >= maxTemplates {
			clear(c.templates)
		}
		c.templates[key] = t
	}
	if t.declined || c.failed {
		return false
	}
	st := t.st
	st.source = text
	var params map[int]any
	if len(vals) > 0 {
		params = make(map[int]any, len(vals))
		for i, v := range vals {
			params[i+1] = v
		}
	}
	c.fastOnly = st.kind == kindEngine
	res, perr := c.run(&st, params)
	c.fastOnly = false
	if perr == errDeclined {
		t.declined = true
		return false
	}
	c.reply(res, perr)
	return true
}

// templatable reports whether a template's translation can stand for
// every text it serves (see the comment at the top).
func templatable(st *statement, params int) bool {
	switch st.kind {
	case kindBegin, kindCommit, kindRollback:
		return params == 0
	case kindEngine:
	default:
		return false
	}
	switch st.tag {
	case "SELECT", "INSERT", "UPDATE", "DELETE":
	default:
		return false
	}
	return st.params == params && st.returning == "" && st.returningSelect == "" && st.then == nil &&
		st.enrollUser == "" && st.alterColumns == nil && st.copy == nil && !st.callSource && st.pgErr == nil
}
