package pgwire_test

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgproto3"

	"github.com/cofferdb/coffer/server"
)

// pgPropose runs a governance or account statement over the simple
// protocol and returns the proposal id and state from its result row.
func pgPropose(t *testing.T, c *pgx.Conn, q string) (id uint64, state string) {
	t.Helper()
	var kind, summary, reason *string
	var approvals, rejections int64
	if err := c.QueryRow(context.Background(), q, pgx.QueryExecModeSimpleProtocol).
		Scan(&id, &kind, &state, &approvals, &rejections, &summary, &reason); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return id, state
}

// firstAuthRequest starts a session for user and returns the server's
// first answer: "scram", "cleartext", or the error's SQLSTATE.
func firstAuthRequest(t *testing.T, s *server.Server, user string) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", s.PGAddr().String(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(5 * time.Second))
	fe := pgproto3.NewFrontend(nc, nc)
	fe.Send(&pgproto3.StartupMessage{ProtocolVersion: pgproto3.ProtocolVersionNumber, Parameters: map[string]string{"user": user, "database": "postgres"}})
	if err := fe.Flush(); err != nil {
		t.Fatal(err)
	}
	msg, err := fe.Receive()
	if err != nil {
		t.Fatal(err)
	}
	switch m := msg.(type) {
	case *pgproto3.AuthenticationSASL:
		return "scram"
	case *pgproto3.AuthenticationCleartextPassword:
		return "cleartext"
	case *pgproto3.ErrorResponse:
		return m.Code
	default:
		return fmt.Sprintf("%T", msg)
	}
}

// TestPasswordProposals: CREATE/ALTER USER … PASSWORD over the Postgres
// wire are charter proposals. The password works only once its proposal
// is accepted (by a later VOTE too), over SCRAM-SHA-256; an open or
// rejected proposal's password never logs in, and an open ALTER leaves
// the current password working.
func TestPasswordProposals(t *testing.T) {
	s := startServer(t)
	ctx := context.Background()
	admin := connect(t, s, pgx.QueryExecModeSimpleProtocol)
	// A second member: from now on a proposal needs both.
	if _, st := pgPropose(t, admin, `CREATE MEMBER carol IDENTIFIED BY 'carol-pw'`); st != "accepted" {
		t.Fatalf("CREATE MEMBER carol: %s", st)
	}
	carol, err := pgx.Connect(ctx, connString(s, "carol", "carol-pw", "postgres"))
	if err != nil {
		t.Fatal(err)
	}
	defer carol.Close(ctx)
	vote := func(verdict string, id uint64, want string) {
		t.Helper()
		if _, st := pgPropose(t, carol, fmt.Sprintf("VOTE %s %d", verdict, id)); st != want {
			t.Fatalf("VOTE %s %d: %s, want %s", verdict, id, st, want)
		}
	}
	login := func(user, pw string) error {
		c, err := pgx.Connect(ctx, connString(s, user, pw, "postgres"))
		if err == nil {
			c.Close(ctx)
		}
		return err
	}
	// canLogin checks the password logs in, and with SCRAM.
	canLogin := func(step, user, pw string) {
		t.Helper()
		if m := firstAuthRequest(t, s, user); m != "scram" {
			t.Fatalf("%s: %s is asked for %s, want scram", step, user, m)
		}
		if err := login(user, pw); err != nil {
			t.Fatalf("%s: %s/%s: %v", step, user, pw, err)
		}
	}
	refused := func(step, user, pw string) {
		t.Helper()
		if err := login(user, pw); sqlState(err) != "28P01" {
			t.Fatalf("%s: %s/%s logs in or fails otherwise: %v (SQLSTATE %q)", step, user, pw, err, sqlState(err))
		}
	}

	// CREATE USER: open → refused; accepted by a later vote → SCRAM.
	id, st := pgPropose(t, admin, `CREATE USER dave WITH PASSWORD 'dave-1'`)
	if st != "open" {
		t.Fatalf("CREATE USER dave: %s, want open", st)
	}
	refused("create open", "dave", "dave-1")
	vote("APPROVE", id, "accepted")
	canLogin("create accepted", "dave", "dave-1")

	// ALTER USER: while open the old password stays, the new one is
	// refused; rejected, nothing changes.
	id, _ = pgPropose(t, admin, `ALTER USER dave PASSWORD 'dave-2'`)
	refused("alter open", "dave", "dave-2")
	canLogin("alter open", "dave", "dave-1")
	vote("REJECT", id, "rejected")
	refused("alter rejected", "dave", "dave-2")
	canLogin("alter rejected", "dave", "dave-1")

	// Accepted later: the new password, over SCRAM; the old one no more.
	id, _ = pgPropose(t, admin, `ALTER USER dave PASSWORD 'dave-3'`)
	canLogin("alter open", "dave", "dave-1")
	vote("APPROVE", id, "accepted")
	canLogin("alter accepted", "dave", "dave-3")
	refused("alter accepted", "dave", "dave-1")
	refused("alter accepted", "dave", "dave-2")

	// CREATE USER rejected: refused.
	id, _ = pgPropose(t, admin, `CREATE USER eve WITH PASSWORD 'eve-1'`)
	vote("REJECT", id, "rejected")
	refused("create rejected", "eve", "eve-1")
}
