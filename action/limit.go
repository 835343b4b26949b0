package action

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of the failed-check limit: an address may fail 10 token checks at once, and one more
// every 6 seconds after that. A person mistyping or opening an old link never meets it; a
// guesser gets 10 tries a minute, against a 256-bit tag.
const (
	DefaultFailBurst = 10
	DefaultFailEvery = 6 * time.Second
	// maxTracked bounds the addresses tracked at once; beyond it, the addresses not tracked share
	// one limit (so spreading a guess over many addresses buys nothing past it).
	maxTracked = 10000
)

// failures limits failed token checks per client address. An address over its limit gets 429
// for every link, valid or not, without its token being checked, until its budget refills. Only
// failures spend the budget.
type failures struct {
	every rate.Limit
	burst int

	mu       sync.Mutex
	byAddr   map[netip.Prefix]*rate.Limiter
	overflow *rate.Limiter
}

func newFailures(every time.Duration, burst int) *failures {
	f := &failures{every: rate.Every(every), burst: burst, byAddr: map[netip.Prefix]*rate.Limiter{}}
	f.overflow = rate.NewLimiter(f.every, f.burst)
	return f
}

// clientKey is the limit's key of a request's remote address: the address, or its /64 for IPv6
// (one subscriber's whole prefix). Behind a reverse proxy every client is the proxy: limit there.
func clientKey(remoteAddr string) netip.Prefix {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Prefix{}
	}
	a = a.Unmap()
	if a.Is4() {
		return netip.PrefixFrom(a, 32)
	}
	p, _ := a.Prefix(64)
	return p
}

// limiter returns key's limiter; create adds one when key has none (else nil is returned).
func (f *failures) limiter(key netip.Prefix, now time.Time, create bool) *rate.Limiter {
	if l, ok := f.byAddr[key]; ok {
		return l
	}
	if !create {
		return nil
	}
	if len(f.byAddr) >= maxTracked {
		// Forget the addresses whose budget is full again: they carry no state.
		for k, l := range f.byAddr {
			if l.TokensAt(now) >= float64(f.burst) {
				delete(f.byAddr, k)
			}
		}
		if len(f.byAddr) >= maxTracked {
			return f.overflow
		}
	}
	l := rate.NewLimiter(f.every, f.burst)
	f.byAddr[key] = l
	return l
}

// blocked reports whether key has no failed check left at now, and if so, how long until it has.
func (f *failures) blocked(key netip.Prefix, now time.Time) (bool, time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	l := f.limiter(key, now, false)
	if l == nil && len(f.byAddr) >= maxTracked {
		l = f.overflow
	}
	if l == nil || l.TokensAt(now) >= 1 {
		return false, 0
	}
	need := 1 - l.TokensAt(now)
	return true, time.Duration(need * float64(time.Second) / float64(f.every))
}

// fail spends one of key's failed checks at now.
func (f *failures) fail(key netip.Prefix, now time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.limiter(key, now, true).AllowN(now, 1)
}
