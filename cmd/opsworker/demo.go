package main

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/scheduler"
	"github.com/opsworker/opsworker/schema"
	"github.com/opsworker/opsworker/worker"
)

func newDemoCmd(s ioStreams) *cobra.Command {
	var webhook string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "load the demo tenant (once) and a new triggered alert, then exit",
		Long: withEnv("Migrates the database and loads the demo data (sql/demo.sql): the demo tenant the first time, and\n"+
			"on every call one new triggered alert that the next escalation run pages. The first load also writes a\n"+
			"week of history (alerts paged, acknowledged and resolved), and each load runs the report task once so\n"+
			"the history's daily reports exist at once. The demo responders' webhooks go to --webhook, signed with\n"+
			"the demo tenant's published secret whsec_b3Bzd29ya2VyIGRlbW8gc2VjcmV0IDI0 (for `opsworker receive`).",
			"DATABASE_URL", "DATABASE_WAIT", "LOG_FORMAT", "LOG_LEVEL"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if u, err := url.Parse(webhook); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return usageErrorf("--webhook %q is not an absolute http:// or https:// URL such as http://127.0.0.1:8090/", webhook)
			}
			pool, log, err := connect(cmd.Context(), s, true, "cannot load the demo data")
			if err != nil {
				return err
			}
			err = schema.LoadDemo(cmd.Context(), pool, webhook)
			worker.CloseWithin(pool, time.Second)
			if err != nil {
				log.Error("cannot load the demo data", "error", err)
				return failed
			}
			fmt.Fprintln(s.stdout, "demo data loaded: tenant demo, and a new triggered alert that escalates on the next run")
			// The history's days get their reports now, not at REPORT_SCHEDULE's next firing.
			w, log, err := newWorker(s)
			if err != nil {
				return err
			}
			defer w.Shutdown(context.Background())
			run, err := w.RunOnce(cmd.Context(), "report", time.Now())
			if err != nil && !errors.Is(err, scheduler.ErrLocked) { // locked: a serving replica writes them now
				log.Error("cannot write the demo's reports", "error", err)
				return failed
			}
			if n, ok := run.Summary["reports_written"]; ok {
				fmt.Fprintf(s.stdout, "reports written: %v\n", n)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&webhook, "webhook", schema.DemoWebhook, "where the demo responders' webhooks go (the first load only)")
	return cmd
}
