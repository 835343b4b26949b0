// Package receiver is a webhook receiver for testing a setup (`opsworker receive`): it verifies
// each delivery's Standard Webhooks signature with the tenant's secret, prints it — a page with
// its action links, a bundle with the pages it carries, a follow-up with who changed the alert
// and how, a handoff notice as its sentence — answers 204 — or 500 for a chosen share, to watch
// retries — and marks repeats of a webhook-id, which a real receiver dedupes by. With AckFirst
// it follows the acknowledge link of the first page it receives, as a responder would: the whole
// loop of page, acknowledgement and follow-up, on one machine.
//
// It reads the bodies as any receiver would, from the JSON contract (README, "Delivery",
// "Action links and follow-ups" and "Handoff notices"); a notice's sentence is delivery's own
// (delivery.Notice.Text), so the receiver says it as Slack and e-mail do.
package receiver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
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
	// AckFirst: POST the acknowledge link of the first page received (once), and print what
	// opsworker answered.
	AckFirst bool
	// Client follows the link; default: a client with a 10-second timeout.
	Client *http.Client
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
	if o.Client == nil {
		o.Client = &http.Client{Timeout: 10 * time.Second}
	}
	return &Receiver{hook: hook, out: o.Out, json: o.JSON, failRate: o.FailRate, seen: map[string]int{},
		ackFirst: o.AckFirst, client: o.Client, acked: make(chan struct{})}, nil
}

// Receiver verifies and prints webhook deliveries. It is an http.Handler.
type Receiver struct {
	hook     *standardwebhooks.Webhook
	out      io.Writer
	json     bool
	failRate float64
	ackFirst bool
	client   *http.Client

	mu     sync.Mutex
	seen   map[string]int // webhook-id → deliveries received
	acking bool           // the first page's acknowledge link is being, or was, followed
	acked  chan struct{}  // closed once it was followed
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
	if r.ackFirst {
		r.followFirst(body)
	}
}

// print writes one delivery: a line of text (and a line per action link), or a JSON object.
func (r *Receiver) print(req *http.Request, body []byte, problem string, times int) {
	r.mu.Lock()
	defer r.mu.Unlock()
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
	var m message
	_ = json.Unmarshal(body, &m)
	suffix := ", delivery " + req.Header.Get(standardwebhooks.HeaderWebhookID)
	if times > 1 {
		suffix += fmt.Sprintf(" (repeat %d)", times)
	}
	if problem != "" {
		suffix += " — " + problem
	}
	stamp := time.Now().UTC().Format(time.RFC3339)
	switch {
	case strings.HasPrefix(m.Type, "alert.paged.bundle"):
		fmt.Fprintf(r.out, "%s bundle: %d pages → %s (responder %d)%s\n", stamp, len(m.Pages), m.Responder.Name, m.Responder.ID, suffix)
		for _, p := range m.Pages {
			fmt.Fprintf(r.out, "  alert %d [%s] %s (%s)\n", p.Alert.ID, p.Alert.Severity, p.Alert.Summary, p.Alert.Source)
			p.Actions.print(r.out, "    ")
		}
	case m.Type == "" || m.Type == "alert.paged":
		line := fmt.Sprintf("%s page: alert %d [%s] %s (%s) → %s (responder %d), step %d pass %d%s",
			stamp, m.Alert.ID, m.Alert.Severity, m.Alert.Summary, m.Alert.Source,
			m.Responder.Name, m.Responder.ID, m.Page.EscalationStep, m.Page.EscalationLoop, suffix)
		if m.Schedule != nil {
			line += ", on call for " + m.Schedule.Name
		}
		fmt.Fprintln(r.out, line)
		m.Actions.print(r.out, "  ")
	case strings.HasPrefix(m.Type, "oncall."):
		// A handoff notice: oncall.changed, oncall.upcoming.
		var n delivery.Notice
		_ = json.Unmarshal(body, &n)
		fmt.Fprintf(r.out, "%s %s: %s%s\n", stamp, m.Type, strings.TrimSuffix(n.Text(), "."), suffix)
	case strings.HasPrefix(m.Type, "alert."):
		// A follow-up: alert.acknowledged, alert.resolved, alert.retriggered.
		what := strings.TrimPrefix(m.Type, "alert.")
		if m.By != nil && *m.By != "" {
			what += " by " + *m.By
		}
		fmt.Fprintf(r.out, "%s follow-up: alert %d [%s] %s %s via %s at %s%s\n", stamp, m.Alert.ID, m.Alert.Severity, m.Alert.Summary,
			what, m.Via, m.At.UTC().Format(time.RFC3339), suffix)
	default:
		fmt.Fprintf(r.out, "%s %s%s\n", stamp, m.Type, suffix)
	}
}

// message is what the receiver reads of a webhook body: a page (alert.paged), a bundle of pages
// (alert.paged.bundle) or a follow-up (alert.acknowledged, alert.resolved, alert.retriggered).
type message struct {
	Type  string `json:"type"`
	Alert alert  `json:"alert"`
	Page  struct {
		EscalationLoop int `json:"escalation_loop"`
		EscalationStep int `json:"escalation_step"`
	} `json:"page"`
	Responder named    `json:"responder"`
	Schedule  *named   `json:"schedule"`
	Actions   *actions `json:"actions"`
	Pages     []struct {
		Alert   alert    `json:"alert"`
		Actions *actions `json:"actions"`
	} `json:"pages"`
	By  *string   `json:"by"`
	Via string    `json:"via"`
	At  time.Time `json:"at"`
}

type alert struct {
	ID       int64  `json:"id"`
	Summary  string `json:"summary"`
	Source   string `json:"source"`
	Severity string `json:"severity"`
}

type named struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
}

// actions are a page's action links.
type actions struct {
	Acknowledge string `json:"acknowledge"`
	Resolve     string `json:"resolve"`
}

func (a *actions) print(w io.Writer, indent string) {
	if a == nil {
		return
	}
	if a.Acknowledge != "" {
		fmt.Fprintf(w, "%sacknowledge: %s\n", indent, a.Acknowledge)
	}
	if a.Resolve != "" {
		fmt.Fprintf(w, "%sresolve:     %s\n", indent, a.Resolve)
	}
}

// followFirst POSTs the acknowledge link of the first page with one (a bundle's first listed
// alert), once, in the background — the delivery has been answered already — and prints what
// opsworker said.
func (r *Receiver) followFirst(body []byte) {
	var m message
	if json.Unmarshal(body, &m) != nil {
		return
	}
	link, id := "", int64(0)
	switch {
	case m.Actions != nil && m.Actions.Acknowledge != "":
		link, id = m.Actions.Acknowledge, m.Alert.ID
	case len(m.Pages) > 0 && m.Pages[0].Actions != nil && m.Pages[0].Actions.Acknowledge != "":
		link, id = m.Pages[0].Actions.Acknowledge, m.Pages[0].Alert.ID
	default:
		return
	}
	r.mu.Lock()
	first := !r.acking
	r.acking = true
	r.mu.Unlock()
	if !first {
		return
	}
	go func() {
		defer close(r.acked)
		text := r.follow(link)
		r.mu.Lock()
		defer r.mu.Unlock()
		fmt.Fprintf(r.out, "%s ack-first: alert %d: %s\n", time.Now().UTC().Format(time.RFC3339), id, text)
	}()
}

// follow POSTs link and says what came back (never the link itself: it is a credential).
func (r *Receiver) follow(link string) string {
	req, err := http.NewRequest(http.MethodPost, link, nil)
	if err != nil {
		return "not a link: " + err.Error()
	}
	req.Header.Set("Accept", "application/json")
	resp, err := r.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the error without the URL
		}
		return "the acknowledge link failed: " + err.Error()
	}
	defer resp.Body.Close()
	var answer struct {
		Outcome string `json:"outcome"`
		Message string `json:"message"`
		Error   string `json:"error"`
	}
	_ = json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&answer)
	if resp.StatusCode != http.StatusOK {
		return fmt.Sprintf("the acknowledge link answered %d: %s %s", resp.StatusCode, answer.Error, answer.Message)
	}
	return fmt.Sprintf("acknowledged from its link (%s): %s", answer.Outcome, answer.Message)
}

// AckedFirst is closed once the first page's acknowledge link was followed (AckFirst).
func (r *Receiver) AckedFirst() <-chan struct{} { return r.acked }
