package pgwire

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// scramIterations is PostgreSQL's default scram_iterations.
const scramIterations = 4096

// scramVerifier is what the server keeps for SCRAM-SHA-256 (RFC 5802,
// RFC 7677): never the password, only keys derived from it.
type scramVerifier struct {
	Salt       []byte `json:"salt"`
	Iterations int    `json:"iterations"`
	StoredKey  []byte `json:"stored_key"`
	ServerKey  []byte `json:"server_key"`
}

func hmacSHA256(key []byte, msg string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(msg))
	return h.Sum(nil)
}

// newSCRAMVerifier derives a verifier for password with a fresh salt.
func newSCRAMVerifier(password string) (scramVerifier, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return scramVerifier{}, err
	}
	return deriveSCRAM(password, salt, scramIterations)
}

func deriveSCRAM(password string, salt []byte, iter int) (scramVerifier, error) {
	salted, err := pbkdf2.Key(sha256.New, password, salt, iter, sha256.Size)
	if err != nil {
		return scramVerifier{}, err
	}
	clientKey := hmacSHA256(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	return scramVerifier{Salt: salt, Iterations: iter, StoredKey: stored[:], ServerKey: hmacSHA256(salted, "Server Key")}, nil
}

var errSCRAM = errors.New("pgwire: malformed SCRAM message")

// scramServer runs one SCRAM-SHA-256 exchange.
type scramServer struct {
	v               scramVerifier
	clientFirstBare string
	serverFirst     string
	nonce           string
}

// firstMessage reads client-first-message and returns server-first-message.
func (s *scramServer) firstMessage(data []byte) (string, error) {
	msg := string(data)
	// gs2 header: "n,," or "y,," (no channel binding); "p=" asks for it.
	parts := strings.SplitN(msg, ",", 3)
	if len(parts) != 3 {
		return "", errSCRAM
	}
	if strings.HasPrefix(parts[0], "p") {
		return "", errors.New("pgwire: SCRAM channel binding is not supported; use SCRAM-SHA-256 without -PLUS")
	}
	s.clientFirstBare = parts[2]
	var clientNonce string
	for _, attr := range strings.Split(s.clientFirstBare, ",") {
		if strings.HasPrefix(attr, "r=") {
			clientNonce = attr[2:]
		}
	}
	if clientNonce == "" {
		return "", errSCRAM
	}
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	s.nonce = clientNonce + base64.RawStdEncoding.EncodeToString(b)
	s.serverFirst = fmt.Sprintf("r=%s,s=%s,i=%d", s.nonce, base64.StdEncoding.EncodeToString(s.v.Salt), s.v.Iterations)
	return s.serverFirst, nil
}

// finalMessage checks client-final-message and returns server-final-message.
func (s *scramServer) finalMessage(data []byte) (string, error) {
	msg := string(data)
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return "", errSCRAM
	}
	withoutProof, proofB64 := msg[:i], msg[i+3:]
	var nonce string
	for _, attr := range strings.Split(withoutProof, ",") {
		if strings.HasPrefix(attr, "r=") {
			nonce = attr[2:]
		}
	}
	if nonce != s.nonce {
		return "", errSCRAM
	}
	proof, err := base64.StdEncoding.DecodeString(proofB64)
	if err != nil || len(proof) != sha256.Size {
		return "", errSCRAM
	}
	authMessage := s.clientFirstBare + "," + s.serverFirst + "," + withoutProof
	sig := hmacSHA256(s.v.StoredKey, authMessage)
	clientKey := make([]byte, len(proof))
	for j := range proof {
		clientKey[j] = proof[j] ^ sig[j]
	}
	got := sha256.Sum256(clientKey)
	if subtle.ConstantTimeCompare(got[:], s.v.StoredKey) != 1 {
		return "", errBadPassword
	}
	return "v=" + base64.StdEncoding.EncodeToString(hmacSHA256(s.v.ServerKey, authMessage)), nil
}

var errBadPassword = errors.New("pgwire: password authentication failed")

// String renders the verifier in PostgreSQL's rolpassword form.
func (v scramVerifier) String() string {
	return "SCRAM-SHA-256$" + strconv.Itoa(v.Iterations) + ":" + base64.StdEncoding.EncodeToString(v.Salt) + "$" +
		base64.StdEncoding.EncodeToString(v.StoredKey) + ":" + base64.StdEncoding.EncodeToString(v.ServerKey)
}
