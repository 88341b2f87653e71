//go:build !linux

package mysql

import (
	"net"
	"time"
)

// poller is a no-op outside Linux: connections park in the runtime's
// netpoller only.
type poller struct{}

func (p *poller) init(*net.TCPConn) bool { return false }

func (p *poller) wait(time.Duration) bool { return false }
