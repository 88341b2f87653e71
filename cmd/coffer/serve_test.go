package main

import (
	"os"
	"path/filepath"
	"testing"
)

// TestServeConfigPrecedence: defaults < config file < COFFER_* env < flags.
func TestServeConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "coffer.json")
	if err := os.WriteFile(file, []byte(`{"data_dir": "from-file", "mysql_addr": "127.0.0.1:1111", "max_connections": 7, "log_level": "debug"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("COFFER_MYSQL_ADDR", "127.0.0.1:2222")
	sf, err := loadServeConfig([]string{"--config", file, "--max-connections", "9"})
	if err != nil {
		t.Fatal(err)
	}
	if sf.cfg.DataDir != "from-file" || sf.cfg.MySQLAddr != "127.0.0.1:2222" || sf.cfg.MaxConnections != 9 || sf.logLevel != "debug" {
		t.Fatalf("got %+v (log %s)", sf.cfg, sf.logLevel)
	}
	if sf, err := loadServeConfig([]string{"--transaction-isolation", "read-committed"}); err != nil || sf.cfg.TransactionIsolation != "READ-COMMITTED" {
		t.Fatalf("--transaction-isolation: %q, %v", sf.cfg.TransactionIsolation, err)
	}
	for arg, want := range map[string]int64{"0": 0, "1048576": 1 << 20, "512M": 512 << 20, "2GiB": 2 << 30, "64kb": 64 << 10} {
		if sf, err := loadServeConfig([]string{"--row-cache-size", arg}); err != nil || sf.cfg.RowCacheSize != want {
			t.Errorf("--row-cache-size %s: %d, %v; want %d", arg, sf.cfg.RowCacheSize, err, want)
		}
	}
	if sf, err := loadServeConfig(nil); err != nil || sf.cfg.RowCacheSize != 256<<20 {
		t.Fatalf("default row cache: %d, %v", sf.cfg.RowCacheSize, err)
	}
	for _, bad := range [][]string{
		{"--row-cache-size", "-1"},
		{"--row-cache-size", "12T"},
		{"--row-cache-size", "9999999999G"},
		{"--transaction-isolation", "snapshot"},
		{"--mysql-addr", "nonsense"},
		{"--config", filepath.Join(dir, "missing.json")},
		{"extra-arg"},
	} {
		if _, err := loadServeConfig(bad); err == nil {
			t.Errorf("%v: accepted", bad)
		}
	}
	// The Postgres wire's TLS files: file key, env, flag; both or neither.
	if err := os.WriteFile(file, []byte(`{"pg_tls_cert": "file.crt", "pg_tls_key": "file.key"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("COFFER_PG_TLS_KEY", "env.key")
	sf, err = loadServeConfig([]string{"--config", file, "--pg-tls-cert", "flag.crt"})
	if err != nil || sf.cfg.PGTLSCertFile != "flag.crt" || sf.cfg.PGTLSKeyFile != "env.key" {
		t.Fatalf("TLS files: %+v, %v", sf.cfg, err)
	}
	if _, err := loadServeConfig([]string{"--pg-tls-cert", "only.crt", "--pg-tls-key", ""}); err == nil {
		t.Error("a TLS certificate without a key accepted")
	}
	if err := os.WriteFile(file, []byte(`{"data_dri": "typo"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := loadServeConfig([]string{"--config", file}); err == nil {
		t.Error("unknown config key accepted")
	}
}
