package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/opsworker/opsworker/delivery"
)

func newReceiveCmd(s ioStreams) *cobra.Command {
	var addr, secret string
	var asJSON bool
	var failRate float64
	cmd := &cobra.Command{
		Use:   "receive [--addr :8090] [--secret whsec_...] [--json] [--fail-rate 0.3]",
		Short: "a webhook receiver that verifies signatures and prints the pages it gets, for testing a setup",
		Long: "Listens on --addr for opsworker's webhook deliveries, verifies each one's Standard Webhooks signature\n" +
			"with the tenant's secret (--secret, or RECEIVE_SECRET), and prints it (text, or --json: one object per\n" +
			"line with the headers and the body). A bad, missing or stale signature (older or newer than 5 minutes)\n" +
			"gets 401; a valid delivery 204, or 500 for a --fail-rate share of them, to watch opsworker retry.\n" +
			"A receiver dedupes by webhook-id: the same on every attempt of a delivery; this one marks repeats.",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if secret == "" {
				secret = os.Getenv("RECEIVE_SECRET")
			}
			hook, err := standardwebhooks.NewWebhook(secret)
			if err != nil || secret == "" {
				return usageErrorf("--secret (or RECEIVE_SECRET) must be the tenant's webhook secret, whsec_ and base64")
			}
			if failRate < 0 || failRate > 1 {
				return usageErrorf("--fail-rate must be from 0 to 1")
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return &exitError{code: exitFailure, msg: err.Error()}
			}
			r := &receiver{hook: hook, out: s.stdout, json: asJSON, failRate: failRate, seen: map[string]int{}}
			srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
			fmt.Fprintf(s.stderr, "opsworker receive: listening on %s\n", ln.Addr())
			go func() {
				<-cmd.Context().Done()
				ctx, cancel := context.WithTimeout(context.Background(), time.Second)
				defer cancel()
				_ = srv.Shutdown(ctx)
			}()
			if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
				return &exitError{code: exitFailure, msg: err.Error()}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&addr, "addr", ":8090", "address to listen on")
	cmd.Flags().StringVar(&secret, "secret", "", "the tenant's webhook secret, whsec_... (default: RECEIVE_SECRET)")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each delivery as a JSON object")
	cmd.Flags().Float64Var(&failRate, "fail-rate", 0, "answer 500 to this share of valid deliveries (0 to 1)")
	return cmd
}

// receiver verifies and prints webhook deliveries.
type receiver struct {
	hook     *standardwebhooks.Webhook
	out      io.Writer
	json     bool
	failRate float64

	mu   sync.Mutex
	seen map[string]int // webhook-id → deliveries received
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
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
func (r *receiver) print(req *http.Request, body []byte, problem string, times int) {
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
