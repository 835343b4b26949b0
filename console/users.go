package console

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Users are the accounts the console lets in (CONSOLE_USERS): names with bcrypt hashes of their
// passwords. The zero value and nil let nobody in.
type Users struct {
	entries []account
	// key keys the digests of verified credentials (see Check); it is random per process.
	key [32]byte

	mu       sync.Mutex
	verified map[[sha256.Size]byte]time.Time // digest of name and password → when verified
}

type account struct {
	name, hash []byte
}

// Verified credentials are remembered this long, and at most this many: a browser sends them
// with every request (River UI's several a second), and bcrypt costs tens of milliseconds by
// design.
const (
	verifiedFor = 5 * time.Minute
	maxVerified = 1024
)

// ParseUsers parses CONSOLE_USERS: comma-separated user:bcrypt-hash pairs (spaces around entries
// are ignored). Empty gives nil: the console is off. Its errors name the entry by position and
// user, never a hash or a password (a password pasted where the hash belongs must not end up in
// a log).
func ParseUsers(s string) (*Users, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	u := &Users{verified: map[[sha256.Size]byte]time.Time{}}
	if _, err := rand.Read(u.key[:]); err != nil {
		return nil, fmt.Errorf("random key: %w", err)
	}
	seen := map[string]bool{}
	for i, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		name, hash, ok := strings.Cut(entry, ":")
		switch {
		case entry == "":
			return nil, fmt.Errorf("entry %d is empty: give user:bcrypt-hash pairs separated by commas", i+1)
		case !ok || name == "":
			return nil, fmt.Errorf("entry %d is not user:bcrypt-hash", i+1)
		case seen[name]:
			return nil, fmt.Errorf("entry %d: user %q is named twice", i+1, name)
		}
		if _, err := bcrypt.Cost([]byte(hash)); err != nil {
			return nil, fmt.Errorf("entry %d (user %q): the part after the colon is not a bcrypt hash "+
				"(make one with: htpasswd -nbBC 12 USER PASSWORD | cut -d: -f2)", i+1, name)
		}
		seen[name] = true
		u.entries = append(u.entries, account{name: []byte(name), hash: []byte(hash)})
	}
	return u, nil
}

// Names lists the users, in the order given.
func (u *Users) Names() []string {
	if u == nil {
		return nil
	}
	out := make([]string, len(u.entries))
	for i, e := range u.entries {
		out[i] = string(e.name)
	}
	return out
}

// Enabled reports whether anyone may sign in.
func (u *Users) Enabled() bool { return u != nil && len(u.entries) > 0 }

// Check reports whether name and password are those of a user. Every name is compared in
// constant time, and an unknown name costs a bcrypt comparison like a known one, so the time
// taken tells nothing about which names exist. Credentials verified less than verifiedFor
// before now are recognised by a keyed digest without bcrypt.
func (u *Users) Check(name, password string, now time.Time) bool {
	if !u.Enabled() {
		return false
	}
	mac := hmac.New(sha256.New, u.key[:])
	mac.Write([]byte(name))
	mac.Write([]byte{0})
	mac.Write([]byte(password))
	var digest [sha256.Size]byte
	mac.Sum(digest[:0])
	if u.recall(digest, now) {
		return true
	}
	hash := u.entries[0].hash // compared against when the name is unknown, for the time it takes
	found := 0
	for _, e := range u.entries {
		if subtle.ConstantTimeCompare([]byte(name), e.name) == 1 {
			hash, found = e.hash, 1
		}
	}
	err := bcrypt.CompareHashAndPassword(hash, []byte(password))
	if err != nil && !errors.Is(err, bcrypt.ErrMismatchedHashAndPassword) {
		return false
	}
	if err != nil || found == 0 {
		return false
	}
	u.remember(digest, now)
	return true
}

func (u *Users) recall(digest [sha256.Size]byte, now time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	at, ok := u.verified[digest]
	return ok && !now.Before(at) && now.Sub(at) < verifiedFor
}

func (u *Users) remember(digest [sha256.Size]byte, now time.Time) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.verified) >= maxVerified {
		for d, at := range u.verified {
			if now.Sub(at) >= verifiedFor || now.Before(at) {
				delete(u.verified, d)
			}
		}
		if len(u.verified) >= maxVerified {
			clear(u.verified)
		}
	}
	u.verified[digest] = now
}
