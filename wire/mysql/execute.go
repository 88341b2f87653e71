package mysql

import (
	"context"
	"encoding/binary"
	"errors"
	"math"
	"net"

	vmysql "github.com/dolthub/vitess/go/mysql"
	"github.com/dolthub/vitess/go/sqltypes"
	querypb "github.com/dolthub/vitess/go/vt/proto/query"

	"github.com/cofferdb/coffer/sql/engine"
)

// A prepared single-row INSERT, UPDATE or DELETE by primary key is
// executed from its COM_STMT_EXECUTE packet as it arrives, in the
// connection's read path (prepareFilter), and answered with an OK or ERR
// packet written to the socket: vitess never sees the packet. vitess'
// parse of an execute packet formats a bind variable name per parameter
// (fmt.Sprintf), formats each number as text that argValue then parses
// back, and allocates a map per execution: about 5% of a cluster
// leader's CPU under single-row inserts. stmtExecutor decodes the
// parameters straight into Go values, as vitess and argValue together
// would, and runs the statement through the same fast path
// (Server.execFastWrite), retries and error codes (retryHandler).
//
// It declines, and the packet goes to vitess unchanged, whenever it could
// answer differently from vitess: a statement without a fast form of
// these kinds, a cursor, parameters of a type it does not decode (dates
// and times), long data sent before (COM_STMT_SEND_LONG_DATA), a malformed
// packet, or a fast path that declines at run time (nothing was done
// then). Only a packet that starts a command (sequence 0) while vitess
// holds no unread bytes is taken, so answers keep the commands' order.

const (
	comStmtExecute = 0x17
	// maxExecutePacket is the largest execute packet taken; a larger one
	// goes to vitess.
	maxExecutePacket = 64 << 10
	okPacket         = 0x00
	erUnknownError   = 1105
)

// errDeclined ends a run that the fast path declined.
var errDeclined = errors.New("mysql: fast path declined")

// stmtExecutor answers execute packets on one connection. It runs on the
// connection's goroutine (inside vitess' read), as vitess' handlers do.
type stmtExecutor struct {
	h *retryHandler
	c *vmysql.Conn
	// last is the statement last executed and fs its fast form: a
	// connection usually runs one statement over and over, and vitess
	// never reuses a statement's PrepareData.
	last *vmysql.PrepareData
	fs   engine.FastForm
	args []any
	out  []byte // the answer packet, reused
}

// execute answers payload, a COM_STMT_EXECUTE packet's payload, on conn;
// handled=false leaves it to vitess. err is a failure to write the answer.
func (x *stmtExecutor) execute(conn net.Conn, payload []byte) (handled bool, err error) {
	if !x.decode(payload) {
		return false, nil
	}
	s := x.h.s
	s.begin()
	defer s.end(x.c)
	var res *sqltypes.Result
	runErr := x.h.retrying(x.c, func(sent *bool) error {
		r, handled, err := s.execFastWrite(context.Background(), x.c, x.fs, x.arg)
		if !handled {
			return errDeclined
		}
		if err == nil {
			*sent, res = true, r
		}
		return err
	})
	if runErr == errDeclined {
		return false, nil
	}
	s.fast.packets.Add(1)
	x.out = x.out[:0]
	if runErr != nil {
		var se *vmysql.SQLError
		if errors.As(runErr, &se) {
			x.out = appendErrPacket(x.out, 1, uint16(se.Num), se.State, se.Message)
		} else {
			x.out = appendErrPacket(x.out, 1, erUnknownError, vmysql.SSUnknownSQLState, "unknown error: "+runErr.Error())
		}
	} else {
		// As vitess answers a prepared statement: no info string, no
		// warning count.
		x.out = appendOKPacket(x.out, 1, res.RowsAffected, res.InsertID, x.c.StatusFlags)
	}
	_, err = conn.Write(x.out)
	return true, err
}

// decode parses payload into x.args, as vitess' parseComStmtExecute and
// argValue would, and finds the statement's fast form; false when the
// packet is one to leave to vitess.
func (x *stmtExecutor) decode(payload []byte) bool {
	if len(payload) < 10 {
		return false
	}
	prepare := x.c.PrepareData[binary.LittleEndian.Uint32(payload[1:5])]
	if prepare == nil || payload[5] != vmysql.NoCursor || binary.LittleEndian.Uint32(payload[6:10]) != 1 ||
		len(prepare.BindVars) > 0 || len(prepare.ParamsType) != int(prepare.ParamsCount) {
		return false
	}
	if prepare != x.last {
		x.last, x.fs = prepare, x.h.s.e.FastForm(prepare.PrepareStmt)
	}
	if x.fs.Insert == nil && x.fs.Write == nil {
		return false
	}
	n := int(prepare.ParamsCount)
	pos := 10
	var nulls []byte
	if n > 0 {
		if pos+(n+7)/8 > len(payload) {
			return false
		}
		nulls = payload[pos : pos+(n+7)/8]
		pos += (n + 7) / 8
	}
	if pos < len(payload) {
		bound := payload[pos]
		pos++
		if bound == 1 {
			if pos+2*n > len(payload) {
				return false
			}
			for i := range n {
				t, err := sqltypes.MySQLToType(int64(payload[pos]), int64(payload[pos+1])>>2)
				if err != nil {
					return false
				}
				// Kept as vitess keeps them: a later execute may
				// leave the types out, and may go to vitess.
				prepare.ParamsType[i] = int32(t)
				pos += 2
			}
		}
	}
	x.args = x.args[:0]
	for i := range n {
		if nulls[i/8]&(1<<(i%8)) != 0 {
			x.args = append(x.args, nil)
			continue
		}
		v, next, ok := decodeParam(payload, pos, querypb.Type(prepare.ParamsType[i]))
		if !ok {
			return false
		}
		x.args = append(x.args, v)
		pos = next
	}
	return true
}

// arg returns parameter name ("v1", "v2", … as vitess names them).
func (x *stmtExecutor) arg(name string) (any, bool) {
	if len(name) < 2 || name[0] != 'v' {
		return nil, false
	}
	i := 0
	for _, r := range name[1:] {
		if r < '0' || r > '9' || i > len(x.args) {
			return nil, false
		}
		i = i*10 + int(r-'0')
	}
	if i < 1 || i > len(x.args) {
		return nil, false
	}
	return x.args[i-1], true
}

// decodeParam decodes a parameter of type t at payload[pos:] into the
// value argValue gives for vitess' bind variable: int64 for signed
// integers, uint64 for unsigned, float64, and a string for every type
// vitess reads as length-encoded bytes. ok=false for a type it leaves to
// vitess (dates and times) or a short payload.
func decodeParam(payload []byte, pos int, t querypb.Type) (v any, next int, ok bool) {
	if n := fixedWidth(t); n > 0 {
		if pos+n > len(payload) {
			return nil, 0, false
		}
		u := leUint(payload[pos : pos+n])
		switch t {
		case sqltypes.Float32:
			v = float64(math.Float32frombits(uint32(u)))
		case sqltypes.Float64:
			v = math.Float64frombits(u)
		case sqltypes.Uint8, sqltypes.Uint16, sqltypes.Uint24, sqltypes.Uint32, sqltypes.Uint64:
			v = u
		default: // signed: extend the sign of its n bytes
			shift := 64 - 8*n
			v = int64(u<<shift) >> shift
		}
		return v, pos + n, true
	}
	switch t {
	case sqltypes.Null:
		return nil, pos, true
	case sqltypes.Decimal, sqltypes.Text, sqltypes.Blob, sqltypes.VarChar, sqltypes.Char, sqltypes.VarBinary,
		sqltypes.Bit, sqltypes.Enum, sqltypes.Set, sqltypes.Geometry, sqltypes.Binary, sqltypes.TypeJSON:
		n, pos, ok := readLenEncInt(payload, pos)
		if !ok || uint64(len(payload)-pos) < n {
			return nil, 0, false
		}
		return string(payload[pos : pos+int(n)]), pos + int(n), true
	}
	return nil, 0, false
}

// fixedWidth is the binary protocol's width of a number of type t (0:
// not a fixed-width number). INT24 and MEDIUMINT travel in four bytes.
func fixedWidth(t querypb.Type) int {
	switch t {
	case sqltypes.Int8, sqltypes.Uint8:
		return 1
	case sqltypes.Int16, sqltypes.Uint16, sqltypes.Year:
		return 2
	case sqltypes.Int24, sqltypes.Uint24, sqltypes.Int32, sqltypes.Uint32, sqltypes.Float32:
		return 4
	case sqltypes.Int64, sqltypes.Uint64, sqltypes.Float64:
		return 8
	}
	return 0
}

// readLenEncInt reads a length-encoded integer at payload[pos:].
func readLenEncInt(payload []byte, pos int) (uint64, int, bool) {
	if pos >= len(payload) {
		return 0, 0, false
	}
	b := payload[pos]
	pos++
	var n int
	switch {
	case b < 0xfb:
		return uint64(b), pos, true
	case b == 0xfc:
		n = 2
	case b == 0xfd:
		n = 3
	case b == 0xfe:
		n = 8
	default:
		return 0, 0, false // 0xfb is NULL, 0xff an error: not a length
	}
	if pos+n > len(payload) {
		return 0, 0, false
	}
	return leUint(payload[pos : pos+n]), pos + n, true
}

// leUint reads a little-endian unsigned integer of len(b) ≤ 8 bytes.
func leUint(b []byte) uint64 {
	var u uint64
	for i := len(b) - 1; i >= 0; i-- {
		u = u<<8 | uint64(b[i])
	}
	return u
}

// appendOKPacket appends an OK packet as vitess' writeOKPacket writes it,
// with no warnings.
func appendOKPacket(dst []byte, seq byte, affected, insertID uint64, flags uint16) []byte {
	start := len(dst)
	dst = append(dst, 0, 0, 0, seq, okPacket)
	dst = appendLenEncInt(dst, affected)
	dst = appendLenEncInt(dst, insertID)
	dst = binary.LittleEndian.AppendUint16(dst, flags)
	dst = binary.LittleEndian.AppendUint16(dst, 0)
	n := len(dst) - start - 4
	dst[start], dst[start+1], dst[start+2] = byte(n), byte(n>>8), byte(n>>16)
	return dst
}

// appendLenEncInt appends a length-encoded integer.
func appendLenEncInt(dst []byte, v uint64) []byte {
	switch {
	case v < 251:
		return append(dst, byte(v))
	case v < 1<<16:
		return append(dst, 0xfc, byte(v), byte(v>>8))
	case v < 1<<24:
		return append(dst, 0xfd, byte(v), byte(v>>8), byte(v>>16))
	}
	return binary.LittleEndian.AppendUint64(append(dst, 0xfe), v)
}
