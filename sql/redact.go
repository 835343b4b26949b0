package sql

import "regexp"

var (
	// The password of a URL's userinfo: everything between user: and the last @ of the authority.
	urlPassword = regexp.MustCompile(`(?i)^([a-z][a-z0-9+.-]*://[^:@/?#]*:)[^/?#]*@`)
	// A password query parameter.
	queryPassword = regexp.MustCompile(`(?i)([?&]password=)[^&#]*`)
	// A keyword/value password, plain or quoted.
	keywordPassword = regexp.MustCompile(`(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)`)
)

// Redact returns a connection string with its password replaced by xxxxx, in the URL and the
// keyword/value forms, so it can appear in logs and error messages. It works on text, not on a
// parsed URL, so even a malformed connection string loses its password.
func Redact(conn string) string {
	if urlPassword.MatchString(conn) || queryPassword.MatchString(conn) {
		conn = urlPassword.ReplaceAllString(conn, "${1}xxxxx@")
		return queryPassword.ReplaceAllString(conn, "${1}xxxxx")
	}
	return keywordPassword.ReplaceAllString(conn, "${1}xxxxx")
}
