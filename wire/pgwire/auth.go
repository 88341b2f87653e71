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

// verifier is a SCRAM verifier and the mysql_native_password hash of the
// same password. It authenticates a user only while the account's hash is
// that one: the hash is unsalted, so then the account has exactly the
// password the verifier was derived from. A password changed on the MySQL
// side, or one proposed and never accepted, leaves a verifier that never
// matches.
type verifier struct {
	SCRAM  scramVerifier `json:"scram"`
	Native string        `json:"native"`
}

// credential is a user's record: the current verifier and the verifiers
// of passwords proposed for the user (CREATE/ALTER USER … PASSWORD over
// this wire) while their proposals were open. A pending verifier takes
// effect when its proposal is accepted, whichever wire the deciding vote
// came from, because only then does the account's hash match it.
type credential struct {
	verifier
	Pending []verifier `json:"pending,omitempty"`
}

// maxPending bounds the pending verifiers kept per user; the oldest go.
const maxPending = 8

// match returns the verifier for the account's current hash, and whether
// it is a pending one.
func (c *credential) match(native string) (v verifier, pending, ok bool) {
	if c.Native == native {
		return c.verifier, false, true
	}
	for _, p := range c.Pending {
		if p.Native == native {
			return p, true, true
		}
	}
	return verifier{}, false, false
}

// promote makes v the current verifier, dropping pending entries for the
// same password.
func (c *credential) promote(v verifier) {
	c.verifier = v
	kept := c.Pending[:0]
	for _, p := range c.Pending {
		if p.Native != v.Native {
			kept = append(kept, p)
		}
	}
	c.Pending = kept
}

// addPending records v for a proposal still open.
func (c *credential) addPending(v verifier) {
	if c.Native == v.Native {
		return
	}
	for _, p := range c.Pending {
		if p.Native == v.Native {
			return
		}
	}
	c.Pending = append(c.Pending, v)
	if n := len(c.Pending); n > maxPending {
		c.Pending = append([]verifier(nil), c.Pending[n-maxPending:]...)
	}
}

// nativeHash is MySQL's mysql_native_password stored form of password.
func nativeHash(password string) string {
	s1 := sha1.Sum([]byte(password))
	s2 := sha1.Sum(s1[:])
	return "*" + strings.ToUpper(hex.EncodeToString(s2[:]))
}

func newVerifier(password string) (verifier, error) {
	v, err := newSCRAMVerifier(password)
	return verifier{SCRAM: v, Native: nativeHash(password)}, err
}

// loadCredential reads user's record; a missing or unreadable one is
// empty.
func loadCredential(e *engine.Engine, user string) credential {
	var c credential
	if raw, ok, err := e.Credential(credentialKind, user); err == nil && ok {
		if json.Unmarshal(raw, &c) != nil {
			return credential{}
		}
	}
	return c
}

func storeCredential(ctx context.Context, e *engine.Engine, user string, c credential) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	return e.SetCredential(ctx, credentialKind, user, b)
}

// Enroll stores a SCRAM verifier for user's password, so that the user can
// log in with SCRAM-SHA-256. The server calls it for the genesis admin;
// the wire calls it after each successful cleartext login that had no
// valid verifier, and after an accepted CREATE/ALTER USER … PASSWORD.
func Enroll(ctx context.Context, e *engine.Engine, user, password string) error {
	v, err := newVerifier(password)
	if err != nil {
		return err
	}
	c := loadCredential(e, user)
	c.promote(v)
	return storeCredential(ctx, e, user, c)
}

// enrollPending stores a verifier for a password whose proposal is still
// open, next to the current one, which keeps working until the account
// changes.
func enrollPending(ctx context.Context, e *engine.Engine, user, password string) error {
	v, err := newVerifier(password)
	if err != nil {
		return err
	}
	c := loadCredential(e, user)
	c.addPending(v)
	return storeCredential(ctx, e, user, c)
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
	var (
		cred     credential
		v        verifier
		pending  bool
		haveCred bool
	)
	if u != nil {
		if u.AuthString == "" {
			// An account without a password: as on the MySQL wire, only
			// an empty password logs in.
			if !c.cleartextAllowed() {
				return fail
			}
			return c.emptyPasswordExchange(fail)
		}
		cred = loadCredential(c.s.engine, u.User)
		v, pending, haveCred = cred.match(u.AuthString)
	}
	switch {
	case haveCred:
		if perr := c.scramExchange(v.SCRAM, fail); perr != nil {
			return perr
		}
		if pending {
			// The proposal that set this password was accepted since.
			cred.promote(v)
			if err := storeCredential(c.ctx, c.s.engine, u.User, cred); err != nil {
				c.s.cfg.Logger.Warn("pgwire: could not store SCRAM verifier", "user", u.User, "err", err)
			}
		}
		return nil
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
