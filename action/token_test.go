package action

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"pgregory.net/rapid"

	"github.com/opsworker/opsworker/setting"
	"github.com/opsworker/opsworker/vocab"
)

var (
	keyA = base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	keyB = base64.StdEncoding.EncodeToString([]byte("fedcba9876543210fedcba9876543210"))
	t0   = time.Date(2027, 5, 3, 10, 0, 0, 0, time.UTC)
)

func signer(t testing.TB, secret string) *Signer {
	t.Helper()
	s, err := NewSigner(Options{PublicURL: "https://ops.example.com/", Secret: secret, TTL: 24 * time.Hour})
	if err != nil || s == nil {
		t.Fatalf("NewSigner: %v", err)
	}
	return s
}

// Links are PUBLIC_URL/act/<token>: compact, URL-safe, naming alert, responder, action and an
// expiry of ACTION_LINK_TTL after the page; valid until then, expired from then on.
func TestLinksRoundTrip(t *testing.T) {
	s := signer(t, keyA)
	l := s.Links(42, 7, t0)
	for _, link := range []string{l.Acknowledge, l.Resolve} {
		token, ok := strings.CutPrefix(link, "https://ops.example.com/act/")
		if !ok || strings.Trim(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" || len(token) > 64 {
			t.Fatalf("link %q: want https://ops.example.com/act/ and a short URL-safe token", link)
		}
	}
	token := strings.TrimPrefix(l.Acknowledge, "https://ops.example.com/act/")
	c, err := s.Verify(token, t0.Add(24*time.Hour-time.Second))
	want := Claim{AlertID: 42, ResponderID: 7, Action: vocab.ActionAcknowledge, Expires: t0.Add(24 * time.Hour)}
	if err != nil || c != want {
		t.Fatalf("Verify = %+v, %v; want %+v", c, err, want)
	}
	if c, err := s.Verify(token, t0.Add(24*time.Hour)); !errors.Is(err, ErrExpired) || c.AlertID != 42 {
		t.Fatalf("at the expiry: %+v, %v; want ErrExpired with the claim", c, err)
	}
	if c, _ := s.Verify(strings.TrimPrefix(l.Resolve, "https://ops.example.com/act/"), t0); c.Action != vocab.ActionResolve {
		t.Fatalf("the resolve link says %q", c.Action)
	}
	var none *Signer
	if l := none.Links(42, 7, t0); !l.Empty() {
		t.Fatalf("a nil signer made links %+v", l)
	}
}

// Any change to a token — a flipped bit anywhere, a truncation, an extension — is invalid, never
// expired or valid; so is a token another key signed.
func TestTamperedTokensAreInvalid(t *testing.T) {
	s := signer(t, keyA)
	rapid.Check(t, func(t *rapid.T) {
		c := Claim{
			AlertID:     rapid.Int64Range(1, 1<<53).Draw(t, "alert"),
			ResponderID: rapid.Int64Range(1, 1<<53).Draw(t, "responder"),
			Action:      rapid.SampledFrom([]vocab.Action{vocab.ActionAcknowledge, vocab.ActionResolve}).Draw(t, "action"),
			Expires:     t0.Add(time.Duration(rapid.IntRange(1, 720).Draw(t, "hours")) * time.Hour),
		}
		token := s.Sign(c)
		if got, err := s.Verify(token, t0); err != nil || got != c {
			t.Fatalf("Verify(Sign(%+v)) = %+v, %v", c, got, err)
		}
		raw, _ := encoding.DecodeString(token)
		i := rapid.IntRange(0, len(raw)-1).Draw(t, "byte")
		bit := byte(1) << rapid.IntRange(0, 7).Draw(t, "bit")
		flipped := append([]byte(nil), raw...)
		flipped[i] ^= bit
		for name, bad := range map[string]string{
			"flipped":   encoding.EncodeToString(flipped),
			"truncated": token[:rapid.IntRange(0, len(token)-1).Draw(t, "cut")],
			"extended":  token + "A",
			"other key": sign([]byte("fedcba9876543210fedcba9876543210"), c),
		} {
			if _, err := s.Verify(bad, t0); !errors.Is(err, ErrInvalid) {
				t.Fatalf("%s token: %v, want ErrInvalid", name, err)
			}
		}
	})
}

// During a rotation (ACTION_SECRET=new,old) links signed with either key verify and new links
// use the new key; once the old key is dropped, its links are invalid.
func TestKeyRotation(t *testing.T) {
	old := signer(t, keyA)
	rotating := signer(t, keyB+","+keyA)
	after := signer(t, keyB)
	c := Claim{AlertID: 1, ResponderID: 2, Action: vocab.ActionResolve, Expires: t0.Add(time.Hour)}
	oldToken, newToken := old.Sign(c), rotating.Sign(c)
	if _, err := rotating.Verify(oldToken, t0); err != nil {
		t.Errorf("an old key's link during the rotation: %v", err)
	}
	if _, err := after.Verify(newToken, t0); err != nil {
		t.Errorf("a link made during the rotation, after it: %v", err)
	}
	if _, err := after.Verify(oldToken, t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("an old key's link after the rotation: %v, want ErrInvalid", err)
	}
	if _, err := old.Verify(newToken, t0); !errors.Is(err, ErrInvalid) {
		t.Errorf("a new key's link on a replica without it: %v, want ErrInvalid", err)
	}
}

// Bad settings are start-up errors naming the variable; ACTION_SECRET's value is never quoted.
func TestOptionsValidate(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("only-twenty-bytes-xx"))
	for _, tc := range []struct {
		o    Options
		name string // the variable the error names; empty: valid
	}{
		{Options{TTL: DefaultTTL}, ""},
		{Options{PublicURL: "https://ops.example.com", TTL: DefaultTTL}, ""},
		{Options{PublicURL: "https://ops.example.com/opsworker/", Secret: keyA, TTL: DefaultTTL}, ""},
		{Options{PublicURL: "http://127.0.0.1:8080", Secret: keyA, TTL: MaxTTL}, ""},
		{Options{PublicURL: "http://localhost:8080", Secret: keyB + "," + keyA, TTL: time.Second}, ""},
		{Options{PublicURL: "http://[::1]:8080", Secret: strings.TrimRight(keyA, "="), TTL: DefaultTTL}, ""},
		{Options{PublicURL: "http://ops.example.com", Secret: keyA, TTL: DefaultTTL}, "PUBLIC_URL"},
		{Options{PublicURL: "ops.example.com", TTL: DefaultTTL}, "PUBLIC_URL"},
		{Options{PublicURL: "/act", TTL: DefaultTTL}, "PUBLIC_URL"},
		{Options{PublicURL: "ftp://ops.example.com", TTL: DefaultTTL}, "PUBLIC_URL"},
		{Options{PublicURL: "https://user:pw@ops.example.com", TTL: DefaultTTL}, "PUBLIC_URL"},
		{Options{PublicURL: "https://ops.example.com/?x=1", TTL: DefaultTTL}, "PUBLIC_URL"},
		{Options{PublicURL: "https://ops.example.com", Secret: short, TTL: DefaultTTL}, "ACTION_SECRET"},
		{Options{PublicURL: "https://ops.example.com", Secret: "not base64 at all!", TTL: DefaultTTL}, "ACTION_SECRET"},
		{Options{PublicURL: "https://ops.example.com", Secret: keyA + "," + short, TTL: DefaultTTL}, "ACTION_SECRET"},
		{Options{PublicURL: "https://ops.example.com", Secret: keyA + "," + keyB + "," + keyA, TTL: DefaultTTL}, "ACTION_SECRET"},
		{Options{Secret: keyA, TTL: DefaultTTL}, "PUBLIC_URL"},
		{Options{TTL: 0}, "ACTION_LINK_TTL"},
		{Options{TTL: -time.Hour}, "ACTION_LINK_TTL"},
		{Options{TTL: MaxTTL + time.Second}, "ACTION_LINK_TTL"},
	} {
		err := tc.o.Validate()
		var se *setting.Error
		switch {
		case tc.name == "" && err != nil:
			t.Errorf("%+v: %v", tc.o, err)
		case tc.name != "" && (!errors.As(err, &se) || se.Name != tc.name):
			t.Errorf("%+v: %v, want an error naming %s", tc.o, err, tc.name)
		}
		if err != nil && tc.o.Secret != "" && (strings.Contains(err.Error(), tc.o.Secret) || strings.Contains(err.Error(), keyA) || strings.Contains(err.Error(), short)) {
			t.Errorf("the error quotes the secret: %v", err)
		}
	}
	o := Options{PublicURL: "https://ops.example.com", Secret: keyA + "," + keyB, TTL: DefaultTTL}
	for _, text := range []string{fmt.Sprint(o), fmt.Sprintf("%+v", struct{ O Options }{o}), fmt.Sprintf("%v", &o)} {
		if strings.Contains(text, keyA[:10]) || strings.Contains(text, keyB[:10]) || !strings.Contains(text, "set (2 keys)") {
			t.Errorf("printed: %s", text)
		}
	}
	if s, err := NewSigner(Options{PublicURL: "https://ops.example.com", TTL: DefaultTTL}); s != nil || err != nil {
		t.Errorf("without ACTION_SECRET: %v, %v; want no signer and no error", s, err)
	}
}
