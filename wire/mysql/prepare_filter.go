package mysql

import (
	"encoding/binary"
	"net"

	"github.com/cofferdb/coffer/sql/governance"
)

// vitess parses a COM_STMT_PREPARE with its own parser before any handler
// sees it (GMS-SEAMS), so a governance statement prepared server-side
// (VOTE APPROVE ?) would come back as a bare syntax error. prepareFilter
// sits in the connection's read path, recognizes such a packet and answers
// it with the clear error the text path gives (1295), without handing it to
// vitess. Everything else passes through unchanged, streamed: only the
// first bytes of each packet are looked at.
//
// The filter reads plaintext MySQL packets; it switches itself off for good
// when the client asks for TLS (an SSLRequest as its first packet).
type prepareFilter struct {
	off   bool   // TLS started: pass everything
	first bool   // the next packet is the client's first (handshake or SSLRequest)
	pend  []byte // the start of the current packet, until it is decided
	pass  int    // bytes of the current packet still to pass through
	drop  int    // bytes of the current packet still to drop
	out   []byte // bytes ready for the reader are out[r:]
	r     int
	// exec, when set, is offered every whole COM_STMT_EXECUTE packet
	// that starts a command while the reader holds no unread bytes
	// (execute.go); handled=true means it answered the packet, which is
	// then dropped.
	exec func(conn net.Conn, payload []byte) (handled bool, err error)
	// buf receives reads from the connection: a local array would escape
	// to the heap (conn is an interface), 4 KiB per read.
	buf []byte
	// wait, when set, may wait for the socket in the kernel before a
	// read (readwait.go).
	wait *readWait
}

const (
	comStmtPrepare = 0x16
	clientSSL      = 0x0800
	// peekLen is how much of a packet's payload is read before deciding:
	// enough for the command byte and a governance statement's first two
	// words.
	peekLen = 96
)

func newPrepareFilter() *prepareFilter {
	return &prepareFilter{first: true, pend: make([]byte, 0, 4+peekLen)}
}

// read fills p from conn, filtering.
func (f *prepareFilter) read(conn net.Conn, p []byte) (int, error) {
	if f.off && f.r == len(f.out) {
		return f.readConn(conn, p)
	}
	if f.buf == nil {
		f.buf = make([]byte, 4096)
	}
	for f.r == len(f.out) {
		f.out, f.r = f.out[:0], 0
		n, err := f.readConn(conn, f.buf)
		if n > 0 {
			if werr := f.feed(conn, f.buf[:n]); werr != nil {
				return 0, werr
			}
		}
		if err != nil {
			if f.r < len(f.out) {
				break // deliver what we have; the error comes back on the next read
			}
			return 0, err
		}
	}
	n := copy(p, f.out[f.r:])
	f.r += n
	return n, nil
}

// readConn reads from the socket, through wait if set.
func (f *prepareFilter) readConn(conn net.Conn, p []byte) (int, error) {
	if f.wait == nil {
		return conn.Read(p)
	}
	f.wait.before()
	n, err := conn.Read(p)
	f.wait.after(n)
	return n, err
}

// feed consumes bytes read from the client; answers to dropped packets are
// written to conn.
func (f *prepareFilter) feed(conn net.Conn, data []byte) error {
	for len(data) > 0 {
		switch {
		case f.off:
			f.out = append(f.out, data...)
			return nil
		case f.pass > 0:
			k := min(f.pass, len(data))
			f.out = append(f.out, data[:k]...)
			f.pass -= k
			data = data[k:]
			continue
		case f.drop > 0:
			k := min(f.drop, len(data))
			f.drop -= k
			data = data[k:]
			continue
		}
		// At the start of a packet: gather its header and first bytes
		// (all of it, for an execute packet offered to exec).
		k := min(f.want()-len(f.pend), len(data))
		f.pend = append(f.pend, data[:k]...)
		data = data[k:]
		if want := f.want(); len(f.pend) >= 4 && len(f.pend) >= want {
			if err := f.decide(conn, packetLen(f.pend), want); err != nil {
				return err
			}
		}
	}
	return nil
}

// want is how many bytes of the current packet, header included, are
// gathered before it is decided.
func (f *prepareFilter) want() int {
	if len(f.pend) < 4 {
		return 4
	}
	plen := packetLen(f.pend)
	if f.execCandidate() {
		return 4 + plen
	}
	return 4 + min(plen, peekLen)
}

// execCandidate reports whether the packet in pend is one to offer to
// exec: a COM_STMT_EXECUTE starting a command, small, while nothing
// passed to the reader is unread (an answer written now could otherwise
// overtake that of an earlier command).
func (f *prepareFilter) execCandidate() bool {
	return f.exec != nil && !f.first && len(f.pend) > 4 && f.pend[3] == 0 && f.pend[4] == comStmtExecute &&
		packetLen(f.pend) <= maxExecutePacket && f.r == len(f.out)
}

func packetLen(h []byte) int { return int(h[0]) | int(h[1])<<8 | int(h[2])<<16 }

// decide passes or drops the packet whose first want bytes are in pend.
func (f *prepareFilter) decide(conn net.Conn, plen, want int) error {
	pend := f.pend
	defer func() { f.pend = pend[:0] }() // reused: out and answers hold copies
	seq, payload := pend[3], pend[4:want]
	first := f.first
	f.first = false
	if first && plen == 32 && binary.LittleEndian.Uint32(payload[0:4])&clientSSL != 0 {
		// SSLRequest: what follows is TLS.
		f.out = append(f.out, pend...)
		f.off = true
		return nil
	}
	if !first && seq == 0 && plen > 0 && payload[0] == comStmtPrepare && governance.IsStatement(string(payload[1:])) {
		f.drop = plen - (want - 4)
		code, state, msg := governance.PreparedError(string(payload[1:]))
		_, err := conn.Write(errPacket(1, code, state, msg))
		return err
	}
	if !first && f.execCandidate() {
		handled, err := f.exec(conn, payload)
		if handled || err != nil {
			return err
		}
	}
	f.out = append(f.out, pend...)
	f.pass = plen - (want - 4)
	return nil
}

// errPacket is a protocol-4.1 ERR packet.
func errPacket(seq byte, code uint16, state, msg string) []byte {
	return appendErrPacket(make([]byte, 0, 13+len(msg)), seq, code, state, msg)
}

// appendErrPacket appends a protocol-4.1 ERR packet to dst.
func appendErrPacket(dst []byte, seq byte, code uint16, state, msg string) []byte {
	if len(state) != 5 {
		state = "HY000"
	}
	n := 9 + len(msg)
	dst = append(dst, byte(n), byte(n>>8), byte(n>>16), seq, 0xff, byte(code), byte(code>>8), '#')
	dst = append(dst, state...)
	return append(dst, msg...)
}
