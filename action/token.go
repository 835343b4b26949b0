// Package action is opsworker's signed action links: the links a page carries to acknowledge or
// resolve its alert without signing in anywhere (DESIGN.md, "Action links and follow-ups").
//
// A link is PUBLIC_URL/act/<token>. The token names the alert, the responder it was made for, the
// action and an expiry (ACTION_LINK_TTL after the page), and is authenticated with HMAC-SHA256
// under ACTION_SECRET: it is a bearer credential, bound to one alert and one responder, that
// never appears in a log line or a metric label. During a key rotation ACTION_SECRET holds two
// keys, "new,old": links signed with either verify, new links use the first.
//
// Senders call Signer.Links for each page; `serve` mounts Handler under /act/: GET shows the
// alert and one button and changes nothing (mail scanners open links), POST performs the action.
package action

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"time"

	"github.com/opsworker/opsworker/vocab"
)

// Claim is what a token says: who may do what to which alert, until when.
type Claim struct {
	AlertID     int64
	ResponderID int64
	Action      vocab.Action
	// Expires is the first second the token is no longer valid (whole seconds).
	Expires time.Time
}

// Errors of Verify. ErrInvalid covers everything but a valid, expired token: malformed, tampered,
// signed with a key no longer configured, or naming an unknown action.
var (
	ErrInvalid = errors.New("action link: invalid (tampered, malformed or signed with another key)")
	ErrExpired = errors.New("action link: expired")
)

// Token layout, before base64url without padding: a version byte, the alert id, the responder id
// (uvarints), an action byte, the expiry in Unix seconds (uvarint), then the 32-byte
// HMAC-SHA256 of everything before it (prefixed with macContext, so a key shared by mistake with
// another use cannot sign tokens). About 60 characters.
const (
	tokenVersion = 1
	macSize      = sha256.Size
	// maxToken bounds what Verify decodes: a longer string is invalid without work.
	maxToken   = 96
	macContext = "opsworker action link\x00"
)

// action codes in a token.
var actionCodes = map[vocab.Action]byte{vocab.ActionAcknowledge: 1, vocab.ActionResolve: 2}

func actionOf(code byte) (vocab.Action, bool) {
	for a, c := range actionCodes {
		if c == code {
			return a, true
		}
	}
	return "", false
}

var encoding = base64.RawURLEncoding

// sign returns the token of c under key.
func sign(key []byte, c Claim) string {
	b := make([]byte, 0, 1+3*binary.MaxVarintLen64+1+macSize)
	b = append(b, tokenVersion)
	b = binary.AppendUvarint(b, uint64(c.AlertID))
	b = binary.AppendUvarint(b, uint64(c.ResponderID))
	b = append(b, actionCodes[c.Action])
	b = binary.AppendUvarint(b, uint64(max(c.Expires.Unix(), 0)))
	b = append(b, mac(key, b)...)
	return encoding.EncodeToString(b)
}

func mac(key, payload []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(macContext))
	m.Write(payload)
	return m.Sum(nil)
}

// verify checks token against every key (each comparison in constant time, every key tried, so
// the time taken does not tell which key matched or how much of a tag was right), then its
// expiry at now.
func verify(keys [][]byte, token string, now time.Time) (Claim, error) {
	if len(token) > maxToken || len(token) < encoding.EncodedLen(macSize+5) {
		return Claim{}, ErrInvalid
	}
	raw, err := encoding.DecodeString(token)
	if err != nil {
		return Claim{}, ErrInvalid
	}
	payload, tag := raw[:len(raw)-macSize], raw[len(raw)-macSize:]
	ok := false
	for _, k := range keys {
		if hmac.Equal(mac(k, payload), tag) {
			ok = true
		}
	}
	if !ok {
		return Claim{}, ErrInvalid
	}
	c, ok := parse(payload)
	if !ok {
		return Claim{}, ErrInvalid
	}
	if !now.Before(c.Expires) {
		return c, ErrExpired
	}
	return c, nil
}

// parse reads an authenticated payload.
func parse(b []byte) (Claim, bool) {
	if len(b) == 0 || b[0] != tokenVersion {
		return Claim{}, false
	}
	b = b[1:]
	var vals [2]uint64
	for i := range vals {
		v, n := binary.Uvarint(b)
		if n <= 0 || v == 0 || v > 1<<62 {
			return Claim{}, false
		}
		vals[i], b = v, b[n:]
	}
	if len(b) == 0 {
		return Claim{}, false
	}
	act, ok := actionOf(b[0])
	if !ok {
		return Claim{}, false
	}
	exp, n := binary.Uvarint(b[1:])
	if n <= 0 || len(b[1:]) != n || exp > 1<<40 {
		return Claim{}, false
	}
	return Claim{AlertID: int64(vals[0]), ResponderID: int64(vals[1]), Action: act, Expires: time.Unix(int64(exp), 0).UTC()}, true
}
