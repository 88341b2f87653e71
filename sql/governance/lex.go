package governance

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// token kinds of the governance grammar.
const (
	tokWord = iota
	tokString
	tokNumber
	tokSymbol
	tokEnd
)

type token struct {
	kind int
	text string // words as written, strings unquoted
	pos  int
}

// lexer tokenizes one statement and stops at the delimiter.
type lexer struct {
	src   string
	delim rune
	pos   int
	toks  []token
	end   int // offset just past the statement (after the delimiter)
}

func lex(src string, delim rune) (*lexer, error) {
	l := &lexer{src: src, delim: delim}
	for {
		l.skipSpace()
		if l.pos >= len(src) {
			l.end = len(src)
			l.toks = append(l.toks, token{kind: tokEnd, pos: l.pos})
			return l, nil
		}
		c := rune(src[l.pos])
		start := l.pos
		switch {
		case c == delim:
			l.toks = append(l.toks, token{kind: tokEnd, pos: l.pos})
			l.end = l.pos + 1
			return l, nil
		case c == '\'' || c == '"':
			s, err := l.quoted(byte(c))
			if err != nil {
				return nil, err
			}
			l.toks = append(l.toks, token{kind: tokString, text: s, pos: start})
		case c == '`':
			s, err := l.quoted('`')
			if err != nil {
				return nil, err
			}
			l.toks = append(l.toks, token{kind: tokWord, text: s, pos: start})
		case unicode.IsDigit(c):
			for l.pos < len(src) && unicode.IsDigit(rune(src[l.pos])) {
				l.pos++
			}
			l.toks = append(l.toks, token{kind: tokNumber, text: src[start:l.pos], pos: start})
		case c == '_' || c == '$' || unicode.IsLetter(c):
			for l.pos < len(src) && isWordByte(src[l.pos]) {
				l.pos++
			}
			l.toks = append(l.toks, token{kind: tokWord, text: src[start:l.pos], pos: start})
		default:
			l.pos++
			l.toks = append(l.toks, token{kind: tokSymbol, text: string(c), pos: start})
		}
	}
}

func isWordByte(b byte) bool {
	return b == '_' || b == '$' || b >= 0x80 || unicode.IsLetter(rune(b)) || unicode.IsDigit(rune(b))
}

// skipSpace skips white space and comments (-- , #, /* */).
func (l *lexer) skipSpace() {
	for l.pos < len(l.src) {
		rest := l.src[l.pos:]
		switch {
		case unicode.IsSpace(rune(rest[0])):
			l.pos++
		case strings.HasPrefix(rest, "--") || rest[0] == '#':
			if i := strings.IndexByte(rest, '\n'); i >= 0 {
				l.pos += i + 1
			} else {
				l.pos = len(l.src)
			}
		case strings.HasPrefix(rest, "/*"):
			if i := strings.Index(rest[2:], "*/"); i >= 0 {
				l.pos += i + 4
			} else {
				l.pos = len(l.src)
			}
		default:
			return
		}
	}
}

// quoted reads a quoted string or identifier: doubled quotes and (for
// strings) backslash escapes.
func (l *lexer) quoted(q byte) (string, error) {
	start := l.pos
	l.pos++
	var b strings.Builder
	for l.pos < len(l.src) {
		c := l.src[l.pos]
		switch {
		case c == q && l.pos+1 < len(l.src) && l.src[l.pos+1] == q:
			b.WriteByte(q)
			l.pos += 2
		case c == q:
			l.pos++
			return b.String(), nil
		case c == '\\' && q != '`' && l.pos+1 < len(l.src):
			n := l.src[l.pos+1]
			switch n {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case '0':
				b.WriteByte(0)
			default:
				b.WriteByte(n)
			}
			l.pos += 2
		default:
			b.WriteByte(c)
			l.pos++
		}
	}
	return "", fmt.Errorf("syntax error at position %d: unterminated quoted string", start+1)
}

// cursor walks the tokens of one statement.
type cursor struct {
	toks []token
	i    int
}

func (c *cursor) peek() token { return c.toks[c.i] }

func (c *cursor) next() token {
	t := c.toks[c.i]
	if t.kind != tokEnd {
		c.i++
	}
	return t
}

// is reports whether the next token is the keyword kw (case-insensitive).
func (c *cursor) is(kw string) bool {
	t := c.peek()
	return t.kind == tokWord && strings.EqualFold(t.text, kw)
}

// accept consumes keyword kw if it is next.
func (c *cursor) accept(kw string) bool {
	if c.is(kw) {
		c.i++
		return true
	}
	return false
}

func (c *cursor) errorf(format string, args ...any) error {
	t := c.peek()
	near := t.text
	if t.kind == tokEnd {
		near = "end of statement"
	}
	return fmt.Errorf("syntax error at position %d near %q: %s", t.pos+1, near, fmt.Sprintf(format, args...))
}

func (c *cursor) expect(kw string) error {
	if !c.accept(kw) {
		return c.errorf("expected %s", strings.ToUpper(kw))
	}
	return nil
}

func (c *cursor) ident(what string) (string, error) {
	t := c.peek()
	if t.kind != tokWord && t.kind != tokString {
		return "", c.errorf("expected %s", what)
	}
	c.i++
	return t.text, nil
}

func (c *cursor) str(what string) (string, error) {
	t := c.peek()
	if t.kind != tokString {
		return "", c.errorf("expected %s as a quoted string", what)
	}
	c.i++
	return t.text, nil
}

func (c *cursor) number(what string) (uint64, error) {
	t := c.peek()
	if t.kind != tokNumber {
		return 0, c.errorf("expected %s", what)
	}
	n, err := strconv.ParseUint(t.text, 10, 64)
	if err != nil {
		return 0, c.errorf("%s out of range", what)
	}
	c.i++
	return n, nil
}

func (c *cursor) symbol(s string) bool {
	t := c.peek()
	if t.kind == tokSymbol && t.text == s {
		c.i++
		return true
	}
	return false
}

func (c *cursor) end() error {
	if c.peek().kind != tokEnd {
		return c.errorf("unexpected text after the statement")
	}
	return nil
}
