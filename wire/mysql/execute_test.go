package mysql

import (
	"bytes"
	"crypto/sha1"
	"database/sql"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"net"
	"strings"
	"testing"
	"time"
)

// rawConn is a minimal MySQL client that sends hand-made packets, for
// parameter types drivers in Go never send (TINY, SHORT, INT24, FLOAT,
// YEAR, types bound once and left out after).
type rawConn struct {
	t   *testing.T
	c   net.Conn
	seq byte
	// greeting is the status flags of the server's greeting.
	greeting uint16
}

func (r *rawConn) write(payload []byte) {
	r.t.Helper()
	if _, err := r.c.Write(pkt(r.seq, payload)); err != nil {
		r.t.Fatal(err)
	}
	r.seq++
}

func (r *rawConn) read() []byte {
	r.t.Helper()
	var h [4]byte
	if _, err := io.ReadFull(r.c, h[:]); err != nil {
		r.t.Fatal(err)
	}
	p := make([]byte, packetLen(h[:]))
	if _, err := io.ReadFull(r.c, p); err != nil {
		r.t.Fatal(err)
	}
	r.seq = h[3] + 1
	return p
}

// dialRaw logs in as admin/pw with mysql_native_password, database coffer.
func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	r := &rawConn{t: t, c: c}
	hs := r.read()
	// protocol 10, version\0, connection id, salt part 1, filler, caps,
	// charset, status, caps, salt length, reserved, salt part 2.
	pos := bytes.IndexByte(hs[1:], 0) + 2 + 4
	salt := append([]byte{}, hs[pos:pos+8]...)
	r.greeting = binary.LittleEndian.Uint16(hs[pos+8+1+2+1:])
	pos += 8 + 1 + 2 + 1 + 2 + 2 + 1 + 10
	salt = append(salt, hs[pos:pos+12]...)
	h1 := sha1.Sum([]byte("pw"))
	h2 := sha1.Sum(h1[:])
	h3 := sha1.Sum(append(salt, h2[:]...))
	scramble := make([]byte, 20)
	for i := range scramble {
		scramble[i] = h1[i] ^ h3[i]
	}
	const caps = 0x0200 | 0x8000 | 0x80000 | 0x0008 | 0x2000 // 4.1, secure conn, plugin auth, with db, transactions
	resp := binary.LittleEndian.AppendUint32(nil, caps)
	resp = binary.LittleEndian.AppendUint32(resp, 1<<24)
	resp = append(resp, 45)
	resp = append(resp, make([]byte, 23)...)
	resp = append(resp, "admin\x00"...)
	resp = append(resp, 20)
	resp = append(resp, scramble...)
	resp = append(resp, "coffer\x00mysql_native_password\x00"...)
	r.write(resp)
	if ok := r.read(); ok[0] != 0 {
		t.Fatalf("login: %q", ok)
	}
	return r
}

// dialRawTo is dialRaw to db's server.
func dialRawTo(t *testing.T, db *sql.DB) *rawConn {
	t.Helper()
	return dialRaw(t, strings.TrimSuffix(strings.SplitN(dsnOf(t, db), "tcp(", 2)[1], ")/coffer"))
}

// prepare prepares q and returns its statement id.
func (r *rawConn) prepare(q string) uint32 {
	r.t.Helper()
	r.seq = 0
	r.write(append([]byte{comStmtPrepare}, q...))
	p := r.read()
	if p[0] != 0 {
		r.t.Fatalf("prepare %s: %q", q, p)
	}
	id := binary.LittleEndian.Uint32(p[1:5])
	cols, params := binary.LittleEndian.Uint16(p[5:7]), binary.LittleEndian.Uint16(p[7:9])
	for _, n := range []uint16{params, cols} {
		if n > 0 {
			for range n + 1 { // definitions, then EOF
				r.read()
			}
		}
	}
	return id
}

// param is one parameter of a hand-made execute: its MySQL type byte,
// flags (0x80: unsigned) and binary value; nil value: NULL.
type param struct {
	typ, flags byte
	val        []byte
}

// execute sends a COM_STMT_EXECUTE (types bound when bind) and returns the
// answer as "ok <affected> <insert id>" or "error <code> <state>".
func (r *rawConn) execute(id uint32, bind bool, ps ...param) string {
	r.t.Helper()
	r.seq = 0
	p := []byte{comStmtExecute}
	p = binary.LittleEndian.AppendUint32(p, id)
	p = append(p, 0)
	p = binary.LittleEndian.AppendUint32(p, 1)
	if len(ps) > 0 {
		nulls := make([]byte, (len(ps)+7)/8)
		for i, q := range ps {
			if q.val == nil {
				nulls[i/8] |= 1 << (i % 8)
			}
		}
		p = append(p, nulls...)
		if bind {
			p = append(p, 1)
			for _, q := range ps {
				p = append(p, q.typ, q.flags)
			}
		} else {
			p = append(p, 0)
		}
		for _, q := range ps {
			p = append(p, q.val...)
		}
	}
	r.write(p)
	return r.answer()
}

// query sends q as a COM_QUERY that answers with OK or ERR (no rows).
func (r *rawConn) query(q string) string {
	r.t.Helper()
	r.seq = 0
	r.write(append([]byte{0x03}, q...)) // COM_QUERY
	return r.answer()
}

// answer reads an OK or ERR packet as "ok <affected> <insert id> flags
// <status flags>" or "error <code> <state>".
func (r *rawConn) answer() string {
	r.t.Helper()
	a := r.read()
	switch a[0] {
	case 0:
		affected, pos, _ := readLenEncInt(a, 1)
		insertID, pos, _ := readLenEncInt(a, pos)
		return fmt.Sprintf("ok %d %d flags %#x", affected, insertID, binary.LittleEndian.Uint16(a[pos:]))
	case 0xff:
		return fmt.Sprintf("error %d %s", binary.LittleEndian.Uint16(a[1:3]), a[4:9])
	}
	r.t.Fatalf("answer: %q", a)
	return ""
}

func le(n int, v uint64) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(v >> (8 * i))
	}
	return b
}

func lenenc(s string) []byte { return append(appendLenEncInt(nil, uint64(len(s))), s...) }

// TestExecutePacketsMatchVitess: hand-made execute packets with every
// parameter type the read path decodes, and some it leaves to vitess,
// get the same answers and leave the same rows on a server with the
// fast paths as on one without (vitess' parse, go-mysql-server's
// analyzer); those the read path decodes are answered there.
func TestExecutePacketsMatchVitess(t *testing.T) {
	fast, fs, slow := startFastAndSlow(t)
	ddl := []string{
		"CREATE TABLE x (k BIGINT PRIMARY KEY, a TINYINT, b SMALLINT UNSIGNED, c INT, d MEDIUMINT, e FLOAT, f DOUBLE, g VARCHAR(20), u BIGINT UNSIGNED)",
		"CREATE TABLE z (k BIGINT PRIMARY KEY, h DECIMAL(10,2), dt DATETIME)",
	}
	execAll(t, []*sql.DB{fast, slow}, ddl...)
	ins := "INSERT INTO x (k, a, b, c, d, e, f, g, u) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
	row := func(k int64, a int8, b uint16, c int32, d int32, e float32, f float64, g string, u uint64) []param {
		return []param{
			{0x08, 0, le(8, uint64(k))},
			{0x01, 0, le(1, uint64(uint8(a)))},
			{0x02, 0x80, le(2, uint64(b))},
			{0x03, 0, le(4, uint64(uint32(c)))},
			{0x09, 0, le(4, uint64(uint32(d)))},
			{0x04, 0, le(4, uint64(math.Float32bits(e)))},
			{0x05, 0, le(8, math.Float64bits(f))},
			{0xfd, 0, lenenc(g)},
			{0x08, 0x80, le(8, u)},
		}
	}
	type step struct {
		q      string
		bind   bool
		ps     []param
		packet bool // answered in the read path
	}
	steps := []step{
		{ins, true, row(1, -5, 65535, -70000, -8000000, 1.5, -2.25, "héllo", math.MaxUint64), true},
		{ins, false, row(2, 127, 0, math.MaxInt32, 8388607, -0.1, 1e300, "", 1), true},                                // types left out: remembered
		{ins, true, row(1, 0, 0, 0, 0, 0, 0, "dup", 0), true},                                                         // duplicate key: 1062
		{ins, true, row(3, 1, 1, 1, 1, 1, 1, strings.Repeat("z", 21), 1), false},                                      // too long: the analyzer's answer
		{"INSERT INTO x (k, g) VALUES (?, ?)", true, []param{{0x08, 0, le(8, 5)}, {0xfe, 0, nil}}, true},              // NULL
		{"INSERT INTO x (k, g) VALUES (?, ?)", true, []param{{0x08, 0, le(8, 6)}, {0xfc, 0, lenenc("blob")}}, true},   // BLOB
		{"INSERT INTO x (k, c) VALUES (?, ?)", true, []param{{0x08, 0, le(8, 7)}, {0x0d, 0, le(2, 2024)}}, true},      // YEAR
		{"INSERT INTO x (k, c) VALUES (?, ?)", true, []param{{0x08, 0, le(8, 8)}, {0x02, 0, le(2, 0xfffe)}}, true},    // SHORT -2
		{"INSERT INTO z (k, h) VALUES (?, ?)", true, []param{{0x08, 0, le(8, 1)}, {0xf6, 0, lenenc("12.34")}}, false}, // DECIMAL: the analyzer
		{"INSERT INTO z (k, dt) VALUES (?, ?)", true, []param{{0x08, 0, le(8, 2)}, {0x0c, 0, []byte{0}}}, false},      // DATETIME: vitess
		{"UPDATE x SET c = ? WHERE k = ?", true, []param{{0x03, 0, le(4, uint64(uint32(42)))}, {0x08, 0, le(8, 1)}}, true},
		{"DELETE FROM x WHERE k = ?", true, []param{{0x08, 0, le(8, 2)}}, true},
	}
	fr, sr := dialRawTo(t, fast), dialRawTo(t, slow)
	ids := map[string][2]uint32{}
	for i, s := range steps {
		id, ok := ids[s.q]
		if !ok {
			id = [2]uint32{fr.prepare(s.q), sr.prepare(s.q)}
			ids[s.q] = id
		}
		p0, h0 := fs.fast.packets.Load(), fs.fast.hits.Load()
		got, want := fr.execute(id[0], s.bind, s.ps...), sr.execute(id[1], s.bind, s.ps...)
		if hits, packets := fs.fast.hits.Load()-h0, fs.fast.packets.Load()-p0; packets > hits {
			t.Errorf("step %d: %d answered in the read path, %d by the fast paths", i, packets, hits)
		}
		if got != want {
			t.Errorf("step %d %s: fast %s, slow %s", i, s.q, got, want)
		}
		if took := fs.fast.packets.Load() > p0; took != s.packet {
			t.Errorf("step %d %s: answered in the read path=%v, want %v (%s)", i, s.q, took, s.packet, got)
		}
	}
	dump := func(db *sql.DB) string {
		var b strings.Builder
		appendQuery(t, &b, db, "SELECT k, a, b, c, d, e, f, g, u FROM x ORDER BY k")
		appendQuery(t, &b, db, "SELECT k, h, dt FROM z ORDER BY k")
		return b.String()
	}
	if got, want := dump(fast), dump(slow); got != want {
		t.Errorf("tables differ:\nfast\n%s\nslow\n%s", got, want)
	}
}

// TestStatusFlagsTellAutocommit: the greeting and every OK packet say
// whether the session is in autocommit mode and whether a transaction is
// open, on the fast paths as in go-mysql-server's handler. A driver
// trusts them: PyMySQL sends SET autocommit=0 only if they say
// autocommit is on, so with the flag missing its default (non-autocommit)
// connections had every statement committed at once.
func TestStatusFlagsTellAutocommit(t *testing.T) {
	fast, fs, slow := startFastAndSlow(t)
	execAll(t, []*sql.DB{fast, slow}, "CREATE TABLE f (k BIGINT PRIMARY KEY AUTO_INCREMENT, v INT)")
	const autocommit, inTxn = 0x2, 0x1
	fr, sr := dialRawTo(t, fast), dialRawTo(t, slow)
	for _, r := range []*rawConn{fr, sr} {
		if r.greeting&autocommit == 0 || r.greeting&inTxn != 0 {
			t.Errorf("greeting status flags %#x, want autocommit and no transaction", r.greeting)
		}
	}
	ins := "INSERT INTO f (v) VALUES (?)"
	id := [2]uint32{fr.prepare(ins), sr.prepare(ins)}
	one := param{0x03, 0, le(4, 1)}
	steps := []struct {
		q         string // "" runs the prepared insert
		on, unset uint16 // flags that must be set and unset
		packet    bool   // answered in the read path
	}{
		{"", autocommit, inTxn, true},
		{"INSERT INTO f (v) VALUES (2)", autocommit, inTxn, false},
		{"SET autocommit = 0", 0, autocommit, false},
		{"", inTxn, autocommit, true},
		{"COMMIT", 0, autocommit | inTxn, false},
		{"INSERT INTO f (v) VALUES (3)", inTxn, autocommit, false},
		{"ROLLBACK", 0, autocommit | inTxn, false},
		{"SET autocommit = 1", autocommit, inTxn, false},
		{"", autocommit, inTxn, true},
		{"BEGIN", autocommit | inTxn, 0, false},
		{"", autocommit | inTxn, 0, true},
		{"COMMIT", autocommit, inTxn, false},
	}
	for i, s := range steps {
		p0 := fs.fast.packets.Load()
		var got, want string
		if s.q == "" {
			got, want = fr.execute(id[0], true, one), sr.execute(id[1], true, one)
		} else {
			got, want = fr.query(s.q), sr.query(s.q)
		}
		if got != want {
			t.Errorf("step %d %q: fast %s, slow %s", i, s.q, got, want)
		}
		var flags uint16
		if _, err := fmt.Sscanf(got[strings.Index(got, "flags"):], "flags %v", &flags); err != nil {
			t.Fatalf("step %d %q: %s: %v", i, s.q, got, err)
		}
		if flags&s.on != s.on || flags&s.unset != 0 {
			t.Errorf("step %d %q: status flags %#x, want %#x set and %#x unset", i, s.q, flags, s.on, s.unset)
		}
		if took := fs.fast.packets.Load() > p0; took != s.packet {
			t.Errorf("step %d %q: answered in the read path=%v, want %v", i, s.q, took, s.packet)
		}
	}
}
