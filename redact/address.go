package redact

import (
	"net/url"
	"regexp"
	"strings"
)

// Mask replaces every secret part of an address.
const Mask = "***"

// URL returns an address (a webhook or Slack URL, an e-mail address) as it may be shown: in a
// log line, an error stored in the database, the API, the console. What can be a credential is
// replaced by Mask, what says where the address leads is kept:
//
//   - userinfo: the password (user:***@), or the user when it stands alone (***@: a token);
//   - every query value (?token=***&channel=***), and a query without keys (?***);
//   - the fragment (#***);
//   - the path's credential of a known webhook provider: Slack's /services/T…/B…/***,
//     /workflows/…/*** and /triggers/…/***, Discord's /api/webhooks/ID/***, and any path segment
//     that looks like a generated key (16 characters or more of letters and digits, with at least
//     one of each, or a UUID), such as Mattermost's /hooks/***.
//
// Text that is not a URL with a scheme and a host is returned as Text returns it. Masking too
// much is harmless; too little is not.
func URL(address string) string {
	u, err := url.Parse(address)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		if i := strings.Index(address, "://"); i > 0 && err != nil {
			return unparsable(address, i)
		}
		return slackPath.ReplaceAllString(address, "$1"+Mask)
	}
	// Userinfo is put back by hand: url.URL.String would escape the mask's asterisks there.
	userinfo := ""
	if u.User != nil {
		userinfo = Mask + "@"
		if _, has := u.User.Password(); has {
			userinfo = url.User(u.User.Username()).String() + ":" + Mask + "@"
		}
		u.User = nil
	}
	if u.RawQuery != "" || u.ForceQuery {
		u.RawQuery = maskQuery(u.RawQuery)
	}
	if u.Fragment != "" || u.RawFragment != "" {
		u.Fragment, u.RawFragment = Mask, ""
	}
	if masked := maskPath(u.EscapedPath()); masked != u.EscapedPath() {
		u.RawPath = masked
		u.Path, _ = url.PathUnescape(masked)
	}
	return strings.Replace(u.String(), "://", "://"+userinfo, 1)
}

// unparsable masks everything after the host of a URL url.Parse rejects (an invalid escape, a
// control character): the scheme and the host still say where it leads.
func unparsable(address string, schemeEnd int) string {
	rest := address[schemeEnd+3:]
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := rest[:end]
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = Mask + "@" + host[at+1:]
	}
	if end == len(rest) {
		return address[:schemeEnd+3] + host
	}
	return address[:schemeEnd+3] + host + "/" + Mask
}

// maskQuery keeps a query's keys and masks its values.
func maskQuery(q string) string {
	if q == "" {
		return Mask
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		if k, _, ok := strings.Cut(p, "="); ok {
			parts[i] = k + "=" + Mask
		} else if p != "" {
			parts[i] = Mask
		}
	}
	return strings.Join(parts, "&")
}

var (
	// slackPath is a Slack incoming webhook's path: /services/<team>/<hook>/<token>.
	slackPath = regexp.MustCompile(`(/services/[^/\s"'?#]+/[^/\s"'?#]+/)[^\s"'?#<>]+`)
	// providerPaths are other providers' paths whose last segments are the credential.
	providerPaths = []struct {
		prefix string
		keep   int // segments kept after the prefix
	}{
		{"/services/", 2},     // Slack incoming webhooks
		{"/workflows/", 3},    // Slack workflow webhooks
		{"/triggers/", 2},     // Slack workflow triggers
		{"/api/webhooks/", 1}, // Discord
	}
	// keyLike is a path segment that looks generated: a key, a token, a UUID.
	keyLike = regexp.MustCompile(`^(?:[A-Za-z0-9_\-]{16,}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$`)
)

// maskPath masks the credential segments of an escaped path.
func maskPath(p string) string {
	for _, pp := range providerPaths {
		if rest, ok := strings.CutPrefix(p, pp.prefix); ok {
			segs := strings.Split(rest, "/")
			if len(segs) > pp.keep {
				return pp.prefix + strings.Join(segs[:pp.keep], "/") + "/" + Mask
			}
		}
	}
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if looksLikeKey(s) {
			segs[i] = Mask
		}
	}
	return strings.Join(segs, "/")
}

func looksLikeKey(s string) bool {
	if !keyLike.MatchString(s) {
		return false
	}
	letter, digit := false, false
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digit = true
		case r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z':
			letter = true
		}
	}
	return letter && digit
}

// urlInText is a URL inside free text: a scheme, "://", then everything up to a space, a quote
// or an angle bracket (Go quotes URLs in its errors: Post "https://…": …).
var urlInText = regexp.MustCompile(`(?i)[a-z][a-z0-9+.\-]*://[^\s"'<>` + "`" + `]+`)

// Text returns free text (an error message, a log line) with every URL in it passed through
// URL, and a Slack webhook path without its scheme masked too. Text without "://" or
// "/services/" is returned as it is, at the cost of two substring searches.
func Text(s string) string {
	if strings.Contains(s, "://") {
		s = urlInText.ReplaceAllStringFunc(s, URL)
	}
	if strings.Contains(s, "/services/") {
		s = slackPath.ReplaceAllString(s, "$1"+Mask)
	}
	return s
}

// Error returns err with its message passed through Text; errors.Is and errors.As still see
// the original chain. nil stays nil.
func Error(err error) error {
	if err == nil {
		return nil
	}
	if _, ok := err.(redacted); ok {
		return err
	}
	return redacted{err}
}

type redacted struct{ err error }

func (r redacted) Error() string { return Text(r.err.Error()) }
func (r redacted) Unwrap() error { return r.err }
