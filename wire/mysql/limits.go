package mysql

import (
	gmssql "github.com/dolthub/go-mysql-server/sql"
	vmysql "github.com/dolthub/vitess/go/mysql"
)

// defaultMaxAllowedPacket is MySQL 8's default (go-mysql-server's is 1 GiB).
const defaultMaxAllowedPacket = 64 << 20

func setDefaultLimits() {
	_ = gmssql.SystemVariables.SetGlobal(gmssql.NewEmptyContext(), "max_allowed_packet", int64(defaultMaxAllowedPacket))
}

// checkPacketSize refuses a statement larger than max_allowed_packet with
// MySQL's error 1153 (08S01), which neither go-mysql-server nor vitess do.
func checkPacketSize(query string) error {
	_, v, ok := gmssql.SystemVariables.GetGlobal("max_allowed_packet")
	if !ok {
		return nil
	}
	var limit uint64
	switch x := v.(type) {
	case uint64:
		limit = x
	case int64:
		limit = uint64(x)
	default:
		return nil
	}
	if uint64(len(query)) <= limit {
		return nil
	}
	return vmysql.NewSQLError(vmysql.ERNetPacketTooLarge, vmysql.SSNetError, "Got a packet bigger than 'max_allowed_packet' bytes")
}
