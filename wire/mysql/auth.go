package mysql

import (
	gmsserver "github.com/dolthub/go-mysql-server/server"
	vmysql "github.com/dolthub/vitess/go/mysql"
)

// listenerFactory builds vitess's listener with Coffer's auth server.
func listenerFactory(cfg gmsserver.Config, lc vmysql.ListenerConfig, sel gmsserver.ServerEventListener) (gmsserver.ProtocolListener, error) {
	lc.AuthServer = authServer{lc.AuthServer}
	return gmsserver.MySQLProtocolListenerFactory(cfg, lc, sel)
}

// authServer makes an unknown user indistinguishable from a wrong
// password: go-mysql-server declines unknown users during method
// negotiation, which vitess reports as error 2012 instead of 1045, telling
// a client which user names exist.
type authServer struct{ vmysql.AuthServer }

func (a authServer) AuthMethods() []vmysql.AuthMethod {
	ms := append([]vmysql.AuthMethod(nil), a.AuthServer.AuthMethods()...)
	for i, m := range ms {
		if m.Name() == vmysql.MysqlNativePassword {
			ms[i] = anyUser{m}
		}
	}
	return ms
}

// anyUser negotiates mysql_native_password for every user; the password
// check then rejects unknown ones with 1045.
type anyUser struct{ vmysql.AuthMethod }

func (anyUser) HandleUser(*vmysql.Conn, string) bool { return true }
