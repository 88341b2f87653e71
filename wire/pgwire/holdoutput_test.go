package pgwire_test

import (
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"
)

// TestExtendedProtocolAnswersAtSync: as PostgreSQL does, the answers to
// Parse, Bind, Describe and Execute wait in the server's buffer until the
// client's Sync (or Flush), which sends them together — not one socket
// write per message (a point select paid five writes for one answer).
func TestExtendedProtocolAnswersAtSync(t *testing.T) {
	s := startServer(t)
	c := connect(t, s, pgx.QueryExecModeCacheStatement)
	mustExec(t, c, "CREATE TABLE h (id INT PRIMARY KEY, v VARCHAR(10))")
	mustExec(t, c, "INSERT INTO h VALUES (1, 'one')")
	hc, err := c.PgConn().Hijack()
	if err != nil {
		t.Fatal(err)
	}
	defer hc.Conn.Close()
	fe := hc.Frontend
	fe.Send(&pgproto3.Parse{Query: "SELECT v FROM h WHERE id = $1", ParameterOIDs: []uint32{20}})
	fe.Send(&pgproto3.Bind{Parameters: [][]byte{[]byte("1")}})
	fe.Send(&pgproto3.Describe{ObjectType: 'P'})
	fe.Send(&pgproto3.Execute{})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	// Nothing may arrive before the Sync.
	hc.Conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
	if msg, err := fe.Receive(); !errors.Is(err, os.ErrDeadlineExceeded) {
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("an answer arrived before Sync: %T %v", msg, err)
		}
	}
	// The timed-out read may have left the frontend unusable: read the
	// answers after Sync from a fresh one on the same connection.
	hc.Conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	fe2 := pgproto3.NewFrontend(hc.Conn, hc.Conn)
	fe2.Send(&pgproto3.Sync{})
	if err := fe2.Flush(); err != nil {
		t.Fatal(err)
	}
	var got []string
	for {
		msg, err := fe2.Receive()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		got = append(got, fmt.Sprintf("%T", msg))
		if dr, ok := msg.(*pgproto3.DataRow); ok && string(dr.Values[0]) != "one" {
			t.Fatalf("row %q", dr.Values[0])
		}
		if _, ok := msg.(*pgproto3.ReadyForQuery); ok {
			break
		}
	}
	want := "[*pgproto3.ParseComplete *pgproto3.BindComplete *pgproto3.RowDescription *pgproto3.DataRow *pgproto3.CommandComplete *pgproto3.ReadyForQuery]"
	if fmt.Sprint(got) != want {
		t.Fatalf("answers %v, want %s", got, want)
	}
}
