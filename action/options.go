package action

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/opsworker/opsworker/setting"
	"github.com/opsworker/opsworker/vocab"
)

// Limits of the settings.
const (
	// MinKeyBytes is the shortest key ACTION_SECRET may hold (decoded).
	MinKeyBytes = 32
	// MaxTTL is the longest ACTION_LINK_TTL: a link is a credential, and a page a month old is
	// history.
	MaxTTL = 30 * 24 * time.Hour
	// DefaultTTL is ACTION_LINK_TTL's default.
	DefaultTTL = 24 * time.Hour
)

// Options are the action links' settings, from the environment.
type Options struct {
	// PublicURL is PUBLIC_URL: the external base URL of `serve`, absolute https:// (or http:// on a
	// loopback host, for local use). Links are PublicURL + "/act/" + token.
	PublicURL string
	// Secret is ACTION_SECRET: one base64 key of at least MinKeyBytes bytes, or two separated by
	// a comma during a rotation ("new,old"). Empty: no links. Never printed.
	Secret string
	// TTL is ACTION_LINK_TTL: how long a link stays valid, counted from its page.
	TTL time.Duration
}

// String shows the settings without the secret: a Config printed by mistake does not leak it.
func (o Options) String() string {
	secret := "unset"
	if o.Secret != "" {
		secret = fmt.Sprintf("set (%d keys)", strings.Count(o.Secret, ",")+1)
	}
	return fmt.Sprintf("{PUBLIC_URL: %q, ACTION_SECRET: %s, ACTION_LINK_TTL: %s}", o.PublicURL, secret, o.TTL)
}

// Enabled reports whether pages carry links: PUBLIC_URL and ACTION_SECRET are both set.
func (o Options) Enabled() bool { return o.PublicURL != "" && o.Secret != "" }

// Validate checks the settings, whether or not links are enabled (PUBLIC_URL alone is a valid
// setting), and returns a *setting.Error naming the variable. It never quotes ACTION_SECRET.
func (o Options) Validate() error {
	if o.PublicURL != "" {
		if _, err := baseURL(o.PublicURL); err != nil {
			return setting.Errorf("PUBLIC_URL", o.PublicURL, "%v", err)
		}
	}
	if o.Secret != "" {
		if _, err := keys(o.Secret); err != nil {
			return &setting.Error{Name: "ACTION_SECRET", Value: "…", Reason: err.Error()}
		}
		if o.PublicURL == "" {
			return setting.Errorf("PUBLIC_URL", "", "must be set when ACTION_SECRET is: action links point to it")
		}
	}
	if o.TTL <= 0 || o.TTL > MaxTTL {
		return setting.Errorf("ACTION_LINK_TTL", o.TTL, "must be a positive duration up to 30 days (720h), such as 24h")
	}
	return nil
}

// baseURL checks PUBLIC_URL and returns it without a trailing slash.
func baseURL(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.Opaque != "" {
		return "", fmt.Errorf("must be an absolute URL, such as https://ops.example.com")
	}
	switch {
	case u.User != nil:
		return "", fmt.Errorf("must not carry credentials")
	case u.RawQuery != "" || u.ForceQuery || u.Fragment != "":
		return "", fmt.Errorf("must have no query or fragment: links are appended to it")
	case u.Scheme == "https":
	case u.Scheme == "http" && loopback(u.Hostname()):
	case u.Scheme == "http":
		return "", fmt.Errorf("must be https:// (plain http:// only on a loopback host, for local use): the links it carries are credentials")
	default:
		return "", fmt.Errorf("must be an https:// URL")
	}
	return strings.TrimRight(u.String(), "/"), nil
}

func loopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// keys decodes ACTION_SECRET: one or two base64 keys, each at least MinKeyBytes long. Its errors
// never quote the value.
func keys(secret string) ([][]byte, error) {
	parts := strings.Split(secret, ",")
	if len(parts) > 2 {
		return nil, fmt.Errorf("holds %d keys: one, or two during a rotation (new,old)", len(parts))
	}
	out := make([][]byte, len(parts))
	for i, p := range parts {
		k, ok := decodeKey(strings.TrimSpace(p))
		switch {
		case !ok:
			return nil, fmt.Errorf("key %d is not base64 (make one with: openssl rand -base64 32)", i+1)
		case len(k) < MinKeyBytes:
			return nil, fmt.Errorf("key %d is %d bytes long; at least %d random bytes are needed (openssl rand -base64 32)", i+1, len(k), MinKeyBytes)
		}
		out[i] = k
	}
	return out, nil
}

// decodeKey accepts standard and URL-safe base64, padded or not.
func decodeKey(s string) ([]byte, bool) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && s != "" {
			return k, true
		}
	}
	return nil, false
}

// Signer makes and checks action links. A nil *Signer makes no links (Links returns none), so
// senders may call it whether or not links are enabled. It is safe for concurrent use.
type Signer struct {
	base string
	keys [][]byte // the first signs
	ttl  time.Duration
}

// NewSigner returns the signer of o, or nil when links are not enabled (PUBLIC_URL or
// ACTION_SECRET empty). It validates o first.
func NewSigner(o Options) (*Signer, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if !o.Enabled() {
		return nil, nil
	}
	base, _ := baseURL(o.PublicURL)
	k, _ := keys(o.Secret)
	return &Signer{base: base, keys: k, ttl: o.TTL}, nil
}

// Links are a page's action links: absolute URLs, or both empty when links are off.
type Links struct {
	Acknowledge string `json:"acknowledge"`
	Resolve     string `json:"resolve"`
}

// Empty reports whether there are no links (links are off).
func (l Links) Empty() bool { return l.Acknowledge == "" && l.Resolve == "" }

// Links returns the acknowledge and resolve links of the page of alertID to responderID made at
// issued (the page's time: notifications.created_at), valid for ACTION_LINK_TTL from then. A
// bundle carries one pair per alert it lists. On a nil Signer it returns no links.
func (s *Signer) Links(alertID, responderID int64, issued time.Time) Links {
	if s == nil {
		return Links{}
	}
	return Links{
		Acknowledge: s.URL(s.Sign(Claim{AlertID: alertID, ResponderID: responderID, Action: vocab.ActionAcknowledge, Expires: issued.Add(s.ttl)})),
		Resolve:     s.URL(s.Sign(Claim{AlertID: alertID, ResponderID: responderID, Action: vocab.ActionResolve, Expires: issued.Add(s.ttl)})),
	}
}

// Sign returns the token of c, under the first key.
func (s *Signer) Sign(c Claim) string { return sign(s.keys[0], c) }

// URL is the link of token.
func (s *Signer) URL(token string) string { return s.base + "/act/" + token }

// Verify checks token at now: ErrInvalid, or ErrExpired (with the claim it made), or the claim.
func (s *Signer) Verify(token string, now time.Time) (Claim, error) {
	if s == nil {
		return Claim{}, ErrInvalid
	}
	return verify(s.keys, token, now)
}
