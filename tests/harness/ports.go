package harness

import (
	"math/rand/v2"
	"net"
	"strconv"
	"sync"
	"testing"
)

// Ports a node keeps across restarts (its raft address) come from below
// Linux's ephemeral range (32768–60999 by default): a port from that
// range, free while its node is down, may be taken by any outgoing
// connection in the meantime, and the restart would fail.
const (
	stablePortMin = 20000
	stablePortMax = 32000
)

var ports struct {
	mu    sync.Mutex
	given map[int]bool // handed out in this test binary
}

// freeAddr returns a loopback address whose port is free now and was not
// handed out before in this test binary.
func freeAddr(t testing.TB) string {
	t.Helper()
	ports.mu.Lock()
	defer ports.mu.Unlock()
	if ports.given == nil {
		ports.given = map[int]bool{}
	}
	for range 1000 {
		p := stablePortMin + rand.IntN(stablePortMax-stablePortMin)
		if ports.given[p] {
			continue
		}
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(p))
		l, err := net.Listen("tcp", addr)
		if err != nil {
			continue
		}
		l.Close()
		ports.given[p] = true
		return addr
	}
	t.Fatal("harness: no free port found")
	return ""
}
