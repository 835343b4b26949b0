package delivery

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	"github.com/opsworker/opsworker/redact"
	"github.com/opsworker/opsworker/vocab"
)

// Result is the outcome of one attempt.
type Result struct {
	// Code is the receiver's HTTP status (0 when there was none: a network error, e-mail).
	Code int
	// Err is nil when the delivery was accepted (2xx, or the mail server took the message).
	Err error
	// Permanent: another attempt cannot succeed (Reason says why).
	Permanent bool
	Reason    vocab.Reason
	// RetryAfter is the receiver's Retry-After, when it gave one.
	RetryAfter time.Duration
}

// refusal reports whether r refused the delivery before any request left: a destination not
// allowed, a missing secret or SMTP_URL, a bad address or page. That is no attempt.
func (r Result) refusal() bool {
	switch r.Reason {
	case vocab.ReasonDestinationNotAllowed, vocab.ReasonNoWebhookSecret, vocab.ReasonNoSMTP, vocab.ReasonBadAddress,
		vocab.ReasonBadPage, vocab.ReasonUnknownChannel:
		return true
	}
	return false
}

func sent(code int) Result { return Result{Code: code} }

func permanent(reason vocab.Reason, err error) Result {
	return Result{Err: fmt.Errorf("%s: %w", reason, err), Permanent: true, Reason: reason}
}

func transient(err error) Result { return Result{Err: err} }

// fromStatus classifies an HTTP response: 2xx sent; 408, 425, 429 and 5xx retried (Retry-After
// honoured); a redirect (never followed) and other 4xx fail for good.
func fromStatus(code int, header http.Header, now time.Time) Result {
	switch {
	case code >= 200 && code < 300:
		return sent(code)
	case code == http.StatusRequestTimeout || code == http.StatusTooEarly || code == http.StatusTooManyRequests || code >= 500:
		r := transient(fmt.Errorf("receiver answered %d", code))
		r.Code, r.RetryAfter = code, retryAfter(header.Get("Retry-After"), now)
		return r
	case code >= 300 && code < 400:
		r := permanent(vocab.ReasonRedirect, fmt.Errorf("receiver answered %d (to %q)", code, redact.URL(header.Get("Location"))))
		r.Code = code
		return r
	}
	r := permanent(vocab.ReasonRejected, fmt.Errorf("receiver answered %d", code))
	r.Code = code
	return r
}

// maxRetryAfter caps a receiver's Retry-After: longer ones wait the normal schedule instead.
const maxRetryAfter = 5 * time.Minute

// retryAfter parses a Retry-After header: seconds or an HTTP date; zero when absent, unparsable or
// beyond maxRetryAfter.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if s, err := strconv.Atoi(v); err == nil {
		d = time.Duration(s) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 || d > maxRetryAfter {
		return 0
	}
	return d
}

// retrySchedule is DESIGN's: 5 s, 15 s, 45 s, 135 s, then every 5 minutes.
var retrySchedule = []time.Duration{5 * time.Second, 15 * time.Second, 45 * time.Second, 135 * time.Second}

// retryDelay is the wait after failed attempt n (1-based), with ±10 % jitter so deliveries that
// failed together do not all come back together.
func retryDelay(n int, rnd func() float64) time.Duration {
	d := 5 * time.Minute
	if n >= 1 && n <= len(retrySchedule) {
		d = retrySchedule[n-1]
	}
	return time.Duration(float64(d) * (0.9 + 0.2*rnd()))
}

var defaultRand = rand.Float64
