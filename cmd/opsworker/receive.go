package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/opsworker/opsworker/receiver"
	"github.com/spf13/cobra"
)

func newReceiveCmd(s ioStreams) *cobra.Command {
	var addr, secret string
	var asJSON, ackFirst bool
	var failRate float64
	cmd := &cobra.Command{
		Use:   "receive [--addr :8090] [--secret whsec_...] [--json] [--fail-rate 0.3] [--ack-first]",
		Short: "a webhook receiver that verifies signatures and prints the pages it gets, for testing a setup",
		Long: "Listens on --addr for opsworker's webhook deliveries, verifies each one's Standard Webhooks signature\n" +
			"with the tenant's secret (--secret, or RECEIVE_SECRET), and prints it (text, or --json: one object per\n" +
			"line with the headers and the body). A bad, missing or stale signature (older or newer than 5 minutes)\n" +
			"gets 401; a valid delivery 204, or 500 for a --fail-rate share of them, to watch opsworker retry.\n" +
			"A receiver dedupes by webhook-id: the same on every attempt of a delivery; this one marks repeats.\n" +
			"Each page is printed with its action links (when opsworker has PUBLIC_URL and ACTION_SECRET), each bundle as\n" +
			"one entry listing what it carries, each follow-up with who changed the alert and how, each handoff notice as\n" +
			"its sentence (oncall.changed: Bob is now on call for Demo on-call until ...). --ack-first POSTs the acknowledge link of the first page received, once,\n" +
			"as a responder would, and prints opsworker's answer: page, acknowledgement and follow-up on one machine.\n\n" +
			"Environment:\n" +
			"  RECEIVE_SECRET         the tenant's webhook secret when --secret is not given (whsec_ and base64)",
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if secret == "" {
				secret = os.Getenv("RECEIVE_SECRET")
			}
			if failRate < 0 || failRate > 1 {
				return usageErrorf("--fail-rate must be from 0 to 1")
			}
			r, err := receiver.New(receiver.Options{Secret: secret, Out: s.stdout, JSON: asJSON, FailRate: failRate, AckFirst: ackFirst})
			if err != nil {
				return usageErrorf("--secret (or RECEIVE_SECRET) must be the tenant's webhook secret, whsec_ and base64")
			}
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return &exitError{code: exitFailure, msg: err.Error()}
			}
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
	cmd.Flags().BoolVar(&ackFirst, "ack-first", false, "POST the acknowledge link of the first page received (once) and print the answer")
	return cmd
}
