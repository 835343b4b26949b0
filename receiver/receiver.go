// Package receiver is a webhook receiver for testing a setup (`opsworker receive`): it verifies
// each delivery's Standard Webhooks signature with the tenant's secret, prints it, answers 204 —
// or 500 for a chosen share, to watch retries — and marks repeats of a webhook-id, which a real
// receiver dedupes by.
package receiver

import (
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/opsworker/opsworker/delivery"
)

// Options configure a Receiver.
type Options struct {
	// Secret is the tenant's webhook secret, whsec_ and base64.
	Secret string
	// Out receives one line (or JSON object) per delivery.
	Out io.Writer
	// JSON prints each delivery as a JSON object with its headers and body.
	JSON bool
	// FailRate is the share of valid deliveries answered 500 (0 to 1).
	FailRate float64
}

// New returns a Receiver, or an error for a bad secret or fail rate.
func New(o Options) (*Receiver, error) {
	hook, err := standardwebhooks.NewWebhook(o.Secret)
	if err != nil || o.Secret == "" {
		return nil, fmt.Errorf("the secret must be the tenant's webhook secret, whsec_ and base64")
	}
	if o.FailRate < 0 || o.FailRate > 1 {
		return nil, fmt.Errorf("the fail rate must be from 0 to 1")
	}
	return &Receiver{hook: hook, out: o.Out, json: o.JSON, failRate: o.FailRate, seen: map[string]int{}}, nil
}

// Receiver verifies and prints webhook deliveries. It is an http.Handler.
type Receiver struct {
	hook     *standardwebhooks.Webhook
	out      io.Writer
	json     bool
	failRate float64

	mu   sync.Mutex
	seen map[string]int // webhook-id → deliveries received
}

func (r *Receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if req.Method != http.MethodPost {
		http.Error(w, "POST a webhook", http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, 1<<20))
	if err != nil {
		http.Error(w, "cannot read the body", http.StatusBadRequest)
		return
	}
	if err := r.hook.Verify(body, req.Header); err != nil {
		r.print(req, body, "rejected: "+err.Error(), 0)
		http.Error(w, "signature: "+err.Error(), http.StatusUnauthorized)
		return
	}
	id := req.Header.Get(standardwebhooks.HeaderWebhookID)
	r.mu.Lock()
	r.seen[id]++
	n := r.seen[id]
	r.mu.Unlock()
	if r.failRate > 0 && rand.Float64() < r.failRate {
		r.print(req, body, "failed on purpose (--fail-rate): answered 500", n)
		http.Error(w, "failing on purpose", http.StatusInternalServerError)
		return
	}
	r.print(req, body, "", n)
	w.WriteHeader(http.StatusNoContent)
}

// print writes one delivery: a line of text, or a JSON object.
func (r *Receiver) print(req *http.Request, body []byte, problem string, times int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var page delivery.WebhookBody
	_ = json.Unmarshal(body, &page)
	if r.json {
		out := map[string]any{
			"webhook_id":        req.Header.Get(standardwebhooks.HeaderWebhookID),
			"webhook_timestamp": req.Header.Get(standardwebhooks.HeaderWebhookTimestamp),
			"verified":          problem == "" || times > 0,
			"times_received":    times,
			"body":              json.RawMessage(body),
		}
		if problem != "" {
			out["problem"] = problem
		}
		if !json.Valid(body) {
			out["body"] = string(body)
		}
		b, _ := json.Marshal(out)
		fmt.Fprintln(r.out, string(b))
		return
	}
	line := fmt.Sprintf("%s page: alert %d [%s] %s (%s) → %s (responder %d), step %d pass %d, delivery %s",
		time.Now().UTC().Format(time.RFC3339), page.Alert.ID, page.Alert.Severity, page.Alert.Summary, page.Alert.Source,
		page.Responder.Name, page.Responder.ID, page.Page.EscalationStep, page.Page.EscalationLoop, req.Header.Get(standardwebhooks.HeaderWebhookID))
	if page.Schedule != nil {
		line += ", on call for " + page.Schedule.Name
	}
	if times > 1 {
		line += fmt.Sprintf(" (repeat %d)", times)
	}
	if problem != "" {
		line += " — " + problem
	}
	fmt.Fprintln(r.out, line)
}
