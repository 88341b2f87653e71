// Package mysql serves the MySQL wire protocol: go-mysql-server's server
// and vitess's protocol code in front of Coffer's engine, with passwords
// checked against the users the engine loaded from storage.
//
// It owns connections, sessions and statement retry; it must never import
// storage or replication (an architecture test checks this).
package mysql
