package bench

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// TestClusterEndpointFollowsLeader: the 3-node system's clients go to the
// node the first node's /readyz names as leader, and to the first node
// when it names none.
func TestClusterEndpointFollowsLeader(t *testing.T) {
	var leader atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		leader := leader.Load().(string)
		if leader == "" {
			http.Error(w, "no raft leader", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintf(w, "ready seq=42 leader=%s\n", leader)
	}))
	defer srv.Close()
	c := &clusterSystem{}
	for i := 1; i <= clusterSize; i++ {
		c.nodes = append(c.nodes, &cofferSystem{adminAddr: strings.TrimPrefix(srv.URL, "http://"), endpoint: Endpoint{Host: "127.0.0.1", Port: 4000 + i}})
	}
	for _, tc := range []struct {
		leader string
		port   int
	}{{"n2", 4002}, {"n3", 4003}, {"n1", 4001}, {"", 4001}, {"n9", 4001}} {
		leader.Store(tc.leader)
		if got := c.Endpoint().Port; got != tc.port {
			t.Errorf("leader %q: endpoint port %d, want %d", tc.leader, got, tc.port)
		}
	}
}
