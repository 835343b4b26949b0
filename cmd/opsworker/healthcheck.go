package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// healthcheckCmd asks the running service's /healthz, for the image's HEALTHCHECK: the final
// image has no curl or wget, so the binary checks itself.
func healthcheckCmd(ctx context.Context, s ioStreams, args []string) int {
	if code, ok := parseNoArgs(s, "healthcheck", args); !ok {
		return code
	}
	cfg, err := loadConfig(time.Now())
	if err != nil {
		fmt.Fprintf(s.stderr, "opsworker: %v\n", err)
		return exitUsage
	}
	host, port, _ := net.SplitHostPort(cfg.HTTPAddr) // validated by loadConfig
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	url := "http://" + net.JoinHostPort(host, port) + "/healthz"
	rctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(rctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		fmt.Fprintf(s.stderr, "opsworker healthcheck: %s: %v\n", url, err)
		return exitFailure
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(s.stderr, "opsworker healthcheck: %s: %s\n", url, resp.Status)
		return exitFailure
	}
	return exitOK
}
