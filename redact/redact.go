// Package redact hides credentials in text that is shown or logged: the password of a
// connection string (DATABASE_URL, SMTP_URL, ConnString), and the credentials an address
// carries — a Slack webhook's token, a webhook's ?token=, a user:password@ (URL, and Text for
// free text that may quote addresses, such as Go's *url.Error). Every place that shows an
// address or an error about one goes through here: log lines (Handler wraps a slog.Handler),
// errors stored in the database (Error), the API and the console.
package redact

import (
	"net/url"
	"regexp"
	"strings"
)

var (
	// A password query parameter.
	queryPassword = regexp.MustCompile(`(?i)([?&]password=)([^&#]*)`)
	// A keyword/value password, plain or quoted.
	keywordPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
)

// ConnString returns a connection string with its password replaced by xxxxx, in the URL and the
// keyword/value forms, so it can appear in logs and error messages. It works on the text, not on
// a parsed URL, so a malformed connection string loses its password too: in a URL the password is
// everything between the user's colon and the last @ of the string (a password may hold / ? # or
// @; masking too much is harmless, too little is not).
func ConnString(conn string) string {
	for _, secret := range ConnSecrets(conn) {
		conn = strings.ReplaceAll(conn, secret, "xxxxx")
	}
	return conn
}

// ConnSecrets returns the passwords a connection string holds, as written and decoded, longest first,
// so that other text quoting the string (a driver's error message) can be scrubbed as well.
func ConnSecrets(conn string) []string {
	var out []string
	add := func(s string) {
		if s == "" || s == "xxxxx" {
			return
		}
		out = append(out, s)
		if d, err := url.PathUnescape(s); err == nil && d != s {
			out = append(out, d)
		}
		if d, err := url.QueryUnescape(s); err == nil && d != s {
			out = append(out, d)
		}
	}
	if i := strings.Index(conn, "://"); i >= 0 {
		rest := conn[i+3:]
		if at := strings.LastIndex(rest, "@"); at >= 0 {
			if colon := strings.Index(rest[:at], ":"); colon >= 0 {
				add(rest[colon+1 : at])
			}
		}
		for _, m := range queryPassword.FindAllStringSubmatch(conn, -1) {
			add(m[2])
		}
	} else {
		for _, m := range keywordPassword.FindAllStringSubmatch(conn, -1) {
			add(m[2])
			add(strings.Trim(m[2], "'"))
		}
	}
	// Longest first: a password that contains another's text is replaced whole.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && len(out[j]) > len(out[j-1]); j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
