package mysql

import (
	"bytes"
	"errors"
	"io"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	gomysql "github.com/go-sql-driver/mysql"
)

// A governance statement sent as a server-side prepared statement gets
// error 1295 with the clear message, and the connection goes on serving
// ordinary prepared statements (large ones included).
func TestPreparedGovernanceStatementIsRefusedClearly(t *testing.T) {
	db := startServer(t)
	db.SetMaxOpenConns(1)
	_, err := db.Prepare("VOTE APPROVE ?")
	var me *gomysql.MySQLError
	if !errors.As(err, &me) || me.Number != 1295 || !strings.Contains(me.Message, "text query") {
		t.Fatalf("prepare VOTE APPROVE ?: got %v, want error 1295 naming the text path", err)
	}
	if _, err := db.Prepare("SHOW PROPOSALS"); err == nil {
		t.Fatal("prepare SHOW PROPOSALS succeeded")
	}
	st, err := db.Prepare("SELECT LENGTH(?)")
	if err != nil {
		t.Fatalf("an ordinary prepare after the refused one: %v", err)
	}
	defer st.Close()
	big := strings.Repeat("y", 300<<10) // spans many reads
	var n int
	if err := st.QueryRow(big).Scan(&n); err != nil || n != len(big) {
		t.Fatalf("LENGTH of a %d-byte parameter = %d, %v", len(big), n, err)
	}
	// The text path still runs governance statements.
	if _, err := db.Exec("SHOW PROPOSALS"); err != nil {
		t.Fatalf("SHOW PROPOSALS as text: %v", err)
	}
}

// The filter passes arbitrary packet streams through unchanged, however
// the reads split them, and switches off after an SSLRequest.
func TestPrepareFilterPassesEverythingElse(t *testing.T) {
	var stream []byte
	stream = append(stream, pkt(1, bytes.Repeat([]byte{0}, 40))...) // handshake response
	stream = append(stream, pkt(0, append([]byte{0x03}, "SELECT 1"...))...)
	stream = append(stream, pkt(0, append([]byte{0x16}, "SELECT ?"...))...)
	stream = append(stream, pkt(0, append([]byte{0x03}, bytes.Repeat([]byte("z"), 9000)...))...)
	stream = append(stream, pkt(0, nil)...)
	for _, chunk := range []int{1, 3, 7, 4096, len(stream)} {
		server := pipeChunks(stream, chunk)
		f := newPrepareFilter()
		var got []byte
		readThrough(t, f, server, &got)
		if !bytes.Equal(got, stream) {
			t.Fatalf("chunk %d: stream changed (%d bytes in, %d out)", chunk, len(stream), len(got))
		}
	}
}

// Execute packets offered to exec are taken only when everything passed
// before them has been read (so answers keep the commands' order); every
// packet is either passed whole or taken, however the reads split them.
func TestPrepareFilterOffersExecutesInOrder(t *testing.T) {
	exec := func(id byte) []byte { return pkt(0, []byte{comStmtExecute, id, 0, 0, 0, 0, 1, 0, 0, 0}) }
	packets := [][]byte{
		pkt(1, bytes.Repeat([]byte{0}, 40)), // handshake response
		exec(1),
		pkt(0, append([]byte{0x03}, "SELECT 1"...)),
		exec(2),
		exec(3),
		pkt(0, append([]byte{0x03}, bytes.Repeat([]byte("z"), 9000)...)),
		exec(4),
		pkt(0, append([]byte{comStmtExecute}, bytes.Repeat([]byte("e"), maxExecutePacket)...)), // too big to offer
		exec(5),
	}
	var stream []byte
	for _, p := range packets {
		stream = append(stream, p...)
	}
	for _, chunk := range []int{1, 3, 7, 4096, len(stream)} {
		server := pipeChunks(stream, chunk)
		f := newPrepareFilter()
		var got []byte
		var taken []int // packet index of each taken execute
		f.exec = func(_ net.Conn, payload []byte) (bool, error) {
			// The packet is one of the executes, offered whole, and all
			// packets passed before it have been read.
			i := slices.IndexFunc(packets, func(p []byte) bool { return bytes.Equal(p[4:], payload) })
			if i < 0 {
				t.Fatalf("chunk %d: offered %q, not a whole packet", chunk, payload)
			}
			var before []byte
			for j := range i {
				if !slices.Contains(taken, j) {
					before = append(before, packets[j]...)
				}
			}
			if !bytes.Equal(got, before) {
				t.Fatalf("chunk %d: packet %d offered with %d bytes read, want %d", chunk, i, len(got), len(before))
			}
			taken = append(taken, i)
			return true, nil
		}
		readThrough(t, f, server, &got)
		var want []byte
		for i, p := range packets {
			if !slices.Contains(taken, i) {
				want = append(want, p...)
			}
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("chunk %d: passed %d bytes, want %d (taken %v)", chunk, len(got), len(want), taken)
		}
		if chunk == 1 && !slices.Equal(taken, []int{1, 3, 4, 6, 8}) {
			t.Errorf("byte by byte, taken %v, want every small execute", taken)
		}
		if slices.Contains(taken, 7) {
			t.Errorf("chunk %d: the execute larger than %d bytes was offered", chunk, maxExecutePacket)
		}
	}
}

// pkt is a MySQL packet: header, then payload.
func pkt(seq byte, payload []byte) []byte {
	n := len(payload)
	return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}, payload...)
}

// pipeChunks returns the server end of a pipe whose client writes stream
// in chunks of chunk bytes, then closes.
func pipeChunks(stream []byte, chunk int) net.Conn {
	client, server := net.Pipe()
	go func() {
		for i := 0; i < len(stream); i += chunk {
			_, _ = client.Write(stream[i:min(i+chunk, len(stream))])
		}
		client.Close()
	}()
	return server
}

// readThrough reads conn through f, five bytes at a time, appending to
// *got as it goes (an exec hook may look at it), until EOF.
func readThrough(t *testing.T, f *prepareFilter, conn net.Conn, got *[]byte) {
	t.Helper()
	p := make([]byte, 5)
	for {
		_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		n, err := f.read(conn, p)
		*got = append(*got, p[:n]...)
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}
