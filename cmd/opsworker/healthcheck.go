package main

import (
	"context"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"

	"github.com/opsworker/opsworker/worker"
)

func newHealthcheckCmd(s ioStreams) *cobra.Command {
	return &cobra.Command{
		Use:   "healthcheck",
		Short: "exit 0 when the running service's /healthz answers 200 (for the image's HEALTHCHECK)",
		Long: withEnv("Asks /healthz of the service listening on HTTP_ADDR (on loopback when it listens on every address)\n"+
			"and exits 0 when it answers 200, 1 otherwise. The image has no curl or wget, so the binary checks itself.",
			"HTTP_ADDR"),
		Args: noArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := worker.LoadConfig(time.Now())
			if err != nil {
				return err
			}
			host, port, _ := net.SplitHostPort(cfg.HTTPAddr) // validated by loadConfig
			if host == "" || host == "0.0.0.0" || host == "::" {
				host = "127.0.0.1"
			}
			url := "http://" + net.JoinHostPort(host, port) + "/healthz"
			rctx, cancel := context.WithTimeout(cmd.Context(), 3*time.Second)
			defer cancel()
			req, _ := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return &exitError{code: exitFailure, msg: url + ": " + err.Error()}
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return &exitError{code: exitFailure, msg: url + ": " + resp.Status}
			}
			return nil
		},
	}
}
