package mysql

import (
	"bytes"
	"errors"
	"io"
	"net"
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
	pkt := func(seq byte, payload []byte) []byte {
		n := len(payload)
		return append([]byte{byte(n), byte(n >> 8), byte(n >> 16), seq}, payload...)
	}
	var stream []byte
	stream = append(stream, pkt(1, bytes.Repeat([]byte{0}, 40))...) // handshake response
	stream = append(stream, pkt(0, append([]byte{0x03}, "SELECT 1"...))...)
	stream = append(stream, pkt(0, append([]byte{0x16}, "SELECT ?"...))...)
	stream = append(stream, pkt(0, append([]byte{0x03}, bytes.Repeat([]byte("z"), 9000)...))...)
	stream = append(stream, pkt(0, nil)...)
	for _, chunk := range []int{1, 3, 7, 4096, len(stream)} {
		client, server := net.Pipe()
		go func() {
			for i := 0; i < len(stream); i += chunk {
				_, _ = client.Write(stream[i:min(i+chunk, len(stream))])
			}
			client.Close()
		}()
		f := newPrepareFilter()
		var got []byte
		p := make([]byte, 5)
		for {
			_ = server.SetReadDeadline(time.Now().Add(5 * time.Second))
			n, err := f.read(server, p)
			got = append(got, p[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("chunk %d: %v", chunk, err)
			}
		}
		if !bytes.Equal(got, stream) {
			t.Fatalf("chunk %d: stream changed (%d bytes in, %d out)", chunk, len(stream), len(got))
		}
	}
}
