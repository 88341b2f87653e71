package pgwire

import (
	"fmt"
	"github.com/jackc/pgproto3/v2"
	"sort"
	"strings"
)

// reportedSettings are sent as ParameterStatus at startup and when set.
var reportedSettings = []string{
	"server_version", "server_encoding", "client_encoding", "DateStyle", "integer_datetimes",
	"standard_conforming_strings", "TimeZone", "IntervalStyle", "is_superuser",
	"session_authorization", "application_name",
}

func defaultSettings() map[string]string {
	return map[string]string{
		"server_version":                      ServerVersion,
		"server_version_num":                  "150000",
		"server_encoding":                     "UTF8",
		"client_encoding":                     "UTF8",
		"datestyle":                           "ISO, MDY",
		"integer_datetimes":                   "on",
		"standard_conforming_strings":         "on",
		"timezone":                            "UTC",
		"intervalstyle":                       "postgres",
		"is_superuser":                        "off",
		"application_name":                    "",
		"search_path":                         `"$user", public`,
		"transaction_isolation":               "repeatable read",
		"default_transaction_isolation":       "repeatable read",
		"transaction_read_only":               "off",
		"default_transaction_read_only":       "off",
		"max_identifier_length":               "63",
		"extra_float_digits":                  "1",
		"statement_timeout":                   "0",
		"lock_timeout":                        "0",
		"idle_in_transaction_session_timeout": "0",
		"client_min_messages":                 "notice",
		"bytea_output":                        "hex",
		"datestyle_order":                     "MDY",
	}
}

func (c *conn) setting(name string) string {
	switch strings.ToLower(name) {
	case "session_authorization":
		return c.user
	case "is_superuser":
		if u := c.lookupUser(c.user); u != nil && u.IsSuperUser {
			return "on"
		}
		return "off"
	}
	return c.settings[strings.ToLower(name)]
}

// set applies SET name = value (value "" resets).
func (c *conn) set(name, value string) *pgError {
	name = strings.ToLower(name)
	switch name {
	case "client_encoding":
		v := strings.ToUpper(strings.ReplaceAll(strings.Trim(value, `'"`), "-", ""))
		if value != "" && v != "UTF8" && v != "UNICODE" {
			return &pgError{Code: codeFeatureNotSupported, Message: "client_encoding " + value + " is not supported by Coffer; use UTF8"}
		}
		value = "UTF8"
	case "timezone":
		v := strings.ToUpper(strings.Trim(value, `'"`))
		if value != "" && v != "UTC" && v != "GMT" && v != "ETC/UTC" && v != "Z" && v != "00:00" && v != "0" {
			// Times are stored and shown in UTC; other zones are not
			// applied, so refuse rather than mislead.
			return &pgError{Code: codeFeatureNotSupported, Message: "TimeZone " + value + " is not supported by Coffer; sessions run in UTC"}
		}
		value = "UTC"
	case "default_transaction_isolation":
		return c.setDefaultIsolation(value)
	case "transaction_isolation":
		return c.setTxnIsolation(value)
	}
	if value == "" {
		value = defaultSettings()[name]
	}
	c.settings[name] = value
	for _, k := range reportedSettings {
		if strings.ToLower(k) == name {
			c.send(&pgproto3.ParameterStatus{Name: k, Value: value})
		}
	}
	return nil
}

func (c *conn) settingNames() []string {
	names := make([]string, 0, len(c.settings))
	for k := range c.settings {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// startupParam applies a setting the startup packet carries, directly or
// in its options: the session's isolation level is checked as SET checks
// it; a few others are kept as they come, and the rest are ignored.
func (c *conn) startupParam(name, value string) *pgError {
	switch name = strings.ToLower(name); name {
	case "application_name", "client_encoding", "datestyle", "timezone", "search_path", "extra_float_digits":
		c.settings[name] = value
	case "default_transaction_isolation", "transaction_isolation":
		return c.setDefaultIsolation(value)
	}
	return nil
}

// startupOptions applies the startup packet's options parameter
// (PGOPTIONS: "-c name=value", "--name=value", a backslash escaping the
// next character, such as a space in a value) as startupParam applies a
// parameter.
func (c *conn) startupOptions(opts string) *pgError {
	var words []string
	var w strings.Builder
	inWord, escaped := false, false
	for _, r := range opts {
		switch {
		case escaped:
			w.WriteRune(r)
			escaped = false
		case r == '\\':
			escaped, inWord = true, true
		case r == ' ' || r == '\t' || r == '\n':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		default:
			w.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	for i := 0; i < len(words); i++ {
		kv := words[i]
		switch {
		case kv == "-c" && i+1 < len(words):
			i++
			kv = words[i]
		case strings.HasPrefix(kv, "-c"):
			kv = kv[2:]
		case strings.HasPrefix(kv, "--"):
			kv = kv[2:]
		default:
			return &pgError{Code: codeProtocolViolation, Message: fmt.Sprintf("invalid command-line argument for server process: %s", kv)}
		}
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return &pgError{Code: codeSyntaxError, Message: fmt.Sprintf("-c %s requires a value", kv)}
		}
		name = strings.ReplaceAll(name, "-", "_")
		if perr := c.startupParam(name, value); perr != nil {
			return perr
		}
	}
	return nil
}
