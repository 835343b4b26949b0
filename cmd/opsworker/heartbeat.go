package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/oncall"
	"github.com/opsworker/opsworker/tasks/heartbeats"
	"github.com/opsworker/opsworker/worker"
)

func newHeartbeatCmd(s ioStreams) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "heartbeat ping TOKEN | list",
		Short: "ping a heartbeat monitor (for scripts and cron jobs), or list the monitors",
		Long: "A heartbeat monitor expects a ping on /heartbeat/<token> at least every interval; the heartbeats\n" +
			"task opens an alert for one that falls silent and resolves it when pings return. `heartbeat ping`\n" +
			"sends one, `heartbeat list` shows each monitor's state.",
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q: ping or list", args[0])
			}
			return cmd.Help()
		},
	}
	cmd.AddCommand(newHeartbeatPingCmd(s), newHeartbeatListCmd(s))
	return cmd
}

func newHeartbeatPingCmd(s ioStreams) *cobra.Command {
	var base string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "ping TOKEN [--url URL] [--timeout 10s]",
		Short: "send one ping to a heartbeat monitor; exit non-zero when it is not recorded",
		Long: withEnv("Sends one ping (POST /heartbeat/TOKEN) to the opsworker service at --url (default: the one listening\n"+
			"on HTTP_ADDR, on loopback when it listens on every address) and exits 0 when it is recorded (204),\n"+
			"1 otherwise (unknown token, service unreachable, --timeout passed). TOKEN - reads the token from the\n"+
			"first line of standard input, which keeps it out of the process list. The token is never printed.\n"+
			"For a cron job: `backup && opsworker heartbeat ping --url https://ops.example.com \"$TOKEN\"`.",
			"HTTP_ADDR"),
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) != 1 {
				return usageErrorf("name one TOKEN (or - to read it from standard input)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error {
			token := args[0]
			if token == "-" {
				line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
				if token = strings.TrimSpace(line); token == "" {
					return usageErrorf("no token on standard input (%v)", err)
				}
			}
			if base == "" {
				cfg, err := worker.LoadConfig(time.Now())
				if err != nil {
					return err
				}
				base = loopbackURL(cfg.HTTPAddr)
			}
			u, err := url.Parse(base)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return usageErrorf("--url %q is not an http:// or https:// URL", base)
			}
			return ping(cmd.Context(), s, u, token, timeout)
		},
	}
	cmd.Flags().StringVar(&base, "url", "", "base URL of the opsworker service (default: http://127.0.0.1:<port of HTTP_ADDR>)")
	cmd.Flags().DurationVar(&timeout, "timeout", 10*time.Second, "how long to wait for the answer")
	return cmd
}

// loopbackURL is the base URL of the service listening on addr, on loopback when it listens on
// every address.
func loopbackURL(addr string) string {
	host, port, _ := net.SplitHostPort(addr) // validated by LoadConfig
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// ping posts one ping of token to the service at base. Messages name the service, never the
// token (nor, so, the full URL).
func ping(ctx context.Context, s ioStreams, base *url.URL, token string, timeout time.Duration) error {
	target := base.JoinPath(heartbeats.Prefix, url.PathEscape(token))
	where := base.Redacted()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), nil)
	if err != nil {
		return &exitError{code: exitFailure, msg: "ping not sent: " + err.Error()}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		// The error quotes the URL, token and all: name the service only.
		reason := "no answer"
		if ctx.Err() != nil {
			reason = "no answer within " + timeout.String()
		} else if ue, ok := err.(*url.Error); ok {
			reason = ue.Err.Error()
		}
		return &exitError{code: exitFailure, msg: fmt.Sprintf("ping not recorded: %s: %s", where, reason)}
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound:
		return &exitError{code: exitFailure, msg: fmt.Sprintf("ping not recorded: %s knows no monitor with this token (404)", where)}
	case resp.StatusCode/100 != 2:
		return &exitError{code: exitFailure, msg: fmt.Sprintf("ping not recorded: %s answered %s", where, resp.Status)}
	}
	fmt.Fprintf(s.stdout, "ping recorded by %s\n", where)
	return nil
}

func newHeartbeatListCmd(s ioStreams) *cobra.Command {
	var tenant string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--tenant T] [--json]",
		Short: "list the heartbeat monitors with their last ping, state and open alert",
		Long: withEnv("Lists every heartbeat monitor (of --tenant, or every tenant): its interval, state now (up: pinged\n"+
			"within its interval; new: never pinged, created less than an interval ago; down: silent longer than\n"+
			"its interval; disabled), last ping and open alert. Never its token.",
			"DATABASE_URL", "DATABASE_WAIT", "LOG_FORMAT", "LOG_LEVEL"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			pool, _, err := connect(ctx, s, false, "cannot read the monitors")
			if err != nil {
				return err
			}
			defer worker.CloseWithin(pool, time.Second)
			ms, err := heartbeats.List(ctx, pool, tenant, time.Now())
			if err != nil {
				return &exitError{code: exitFailure, msg: err.Error()}
			}
			if asJSON {
				return printJSON(s.stdout, map[string]any{"monitors": ms})
			}
			if len(ms) == 0 {
				fmt.Fprintln(s.stdout, "no heartbeat monitors")
				return nil
			}
			tw := tabwriter.NewWriter(s.stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tTENANT\tNAME\tEVERY\tSTATE\tLAST PING\tALERT")
			for _, m := range ms {
				last, alert := "never", "-"
				if m.LastPingAt != nil {
					last = m.LastPingAt.UTC().Format(time.RFC3339)
				}
				if m.Alert != nil {
					alert = fmt.Sprintf("%d (%s)", m.Alert.ID, m.Alert.Status)
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\n", m.ID, m.TenantID, m.Name,
					oncall.Length(time.Duration(m.IntervalSeconds)*time.Second), m.State, last, alert)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&tenant, "tenant", "", "only this tenant's monitors")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of text")
	return cmd
}
