package pgwire

import (
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"strings"

	"github.com/dolthub/go-mysql-server/sql/mysql_db"
	"github.com/jackc/pgproto3/v2"

	"github.com/cofferdb/coffer/sql/engine"
)

// credentialKind names the records this package stores with the engine.
const credentialKind = "scram-sha-256"

// credential is a user's SCRAM verifier and the mysql_native_password
// hash the user had when it was derived. A verifier whose hash no longer
// matches the user's current one is stale (the password was changed on
// the MySQL side) and is never used.
type credential struct {
	SCRAM  scramVerifier `json:"scram"`
	Native string        `json:"native"`
}

// nativeHash is MySQL's mysql_native_password stored form of password.
func nativeHash(password string) string {
	s1 := sha1.Sum([]byte(password))
	s2 := sha1.Sum(s1[:])
	return "*" + strings.ToUpper(hex.EncodeToString(s2[:]))
}

// Enroll stores a SCRAM verifier for user's password, so that the user can
// log in with SCRAM-SHA-256. The server calls it for the genesis admin;
// the wire calls it after each successful cleartext login that had no
// valid verifier.
func Enroll(ctx context.Context, e *engine.Engine, user, password string) error {
	v, err := newSCRAMVerifier(password)
	if err != nil {
		return err
	}
	b, err := json.Marshal(credential{SCRAM: v, Native: nativeHash(password)})
	if err != nil {
		return err
	}
	return e.SetCredential(ctx, credentialKind, user, b)
}

// lookupUser finds the account user@host in the engine's user store.
func (c *conn) lookupUser(user string) *mysql_db.User {
	mdb := c.s.engine.Analyzer.Catalog.MySQLDb
	rd := mdb.Reader()
	defer rd.Close()
	u := mdb.GetUser(rd, user, c.host, false)
	if u == nil || u.Locked {
		return nil
	}
	return u
}

func (c *conn) authEnabled() bool { return c.s.engine.Analyzer.Catalog.MySQLDb.Enabled() }

// cleartextAllowed says whether this connection may send a password in
// cleartext: never on an untrusted channel unless configured so.
func (c *conn) cleartextAllowed() bool {
	switch c.s.cfg.Cleartext {
	case CleartextAlways:
		return true
	case CleartextNever:
		return false
	}
	if c.tls {
		return true
	}
	host, _, err := net.SplitHostPort(c.nc.RemoteAddr().String())
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// authenticate runs the password exchange for user. It returns a
// wire error to send, or nil on success.
func (c *conn) authenticate(user string) *pgError {
	if !c.authEnabled() {
		return nil
	}
	fail := &pgError{Code: codeInvalidPassword, Message: fmt.Sprintf("password authentication failed for user %q", user)}
	u := c.lookupUser(user)
	var cred credential
	haveCred := false
	if u != nil {
		if u.AuthString == "" {
			// An account without a password: as on the MySQL wire, only
			// an empty password logs in.
			if !c.cleartextAllowed() {
				return fail
			}
			return c.emptyPasswordExchange(fail)
		}
		if raw, ok, err := c.s.engine.Credential(credentialKind, u.User); err == nil && ok {
			haveCred = json.Unmarshal(raw, &cred) == nil && cred.Native == u.AuthString
		}
	}
	switch {
	case haveCred:
		return c.scramExchange(cred.SCRAM, fail)
	case u != nil && c.cleartextAllowed():
		return c.cleartextExchange(u, fail)
	case u == nil && !c.cleartextAllowed():
		// Run SCRAM against a made-up verifier so that unknown users
		// look like wrong passwords.
		salt := make([]byte, 16)
		rand.Read(salt)
		v, _ := deriveSCRAM(salt2pw(salt), salt, scramIterations)
		return c.scramExchange(v, fail)
	case u == nil:
		c.cleartextExchange(nil, fail)
		return fail
	}
	return &pgError{Code: codeInvalidAuthSpec, Message: fmt.Sprintf("user %q has no SCRAM-SHA-256 verifier yet", user),
		Hint: "log in once over TLS or from loopback (the password is then checked and a verifier stored), or set the password again"}
}

func salt2pw(b []byte) string { return hex.EncodeToString(b) }

func (c *conn) scramExchange(v scramVerifier, fail *pgError) *pgError {
	if err := c.be.SetAuthType(pgproto3.AuthTypeSASL); err != nil {
		return fail
	}
	c.send(&pgproto3.AuthenticationSASL{AuthMechanisms: []string{"SCRAM-SHA-256"}})
	msg, err := c.receive()
	if err != nil {
		return fail
	}
	init, ok := msg.(*pgproto3.SASLInitialResponse)
	if !ok || init.AuthMechanism != "SCRAM-SHA-256" {
		return &pgError{Code: codeProtocolViolation, Message: "expected SASLInitialResponse with SCRAM-SHA-256"}
	}
	s := &scramServer{v: v}
	first, err := s.firstMessage(init.Data)
	if err != nil {
		return &pgError{Code: codeProtocolViolation, Message: err.Error()}
	}
	if err := c.be.SetAuthType(pgproto3.AuthTypeSASLContinue); err != nil {
		return fail
	}
	c.send(&pgproto3.AuthenticationSASLContinue{Data: []byte(first)})
	msg, err = c.receive()
	if err != nil {
		return fail
	}
	resp, ok := msg.(*pgproto3.SASLResponse)
	if !ok {
		return &pgError{Code: codeProtocolViolation, Message: "expected SASLResponse"}
	}
	final, err := s.finalMessage(resp.Data)
	if err != nil {
		return fail
	}
	c.send(&pgproto3.AuthenticationSASLFinal{Data: []byte(final)})
	return nil
}

func (c *conn) cleartextExchange(u *mysql_db.User, fail *pgError) *pgError {
	if err := c.be.SetAuthType(pgproto3.AuthTypeCleartextPassword); err != nil {
		return fail
	}
	c.send(&pgproto3.AuthenticationCleartextPassword{})
	msg, err := c.receive()
	if err != nil {
		return fail
	}
	pw, ok := msg.(*pgproto3.PasswordMessage)
	if !ok {
		return &pgError{Code: codeProtocolViolation, Message: "expected a password message"}
	}
	if u == nil || subtle.ConstantTimeCompare([]byte(nativeHash(pw.Password)), []byte(u.AuthString)) != 1 {
		return fail
	}
	if err := Enroll(c.ctx, c.s.engine, u.User, pw.Password); err != nil {
		c.s.cfg.Logger.Warn("pgwire: could not store SCRAM verifier", "user", u.User, "err", err)
	}
	return nil
}

func (c *conn) emptyPasswordExchange(fail *pgError) *pgError {
	if err := c.be.SetAuthType(pgproto3.AuthTypeCleartextPassword); err != nil {
		return fail
	}
	c.send(&pgproto3.AuthenticationCleartextPassword{})
	msg, err := c.receive()
	if err != nil {
		return fail
	}
	if pw, ok := msg.(*pgproto3.PasswordMessage); !ok || pw.Password != "" {
		return fail
	}
	return nil
}
