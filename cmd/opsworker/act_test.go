package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opsworker/opsworker/dbtest"
)

// Bad action link settings stop start-up with exit code 2 and one line naming the variable; the
// secret's value is never printed, not even in part.
func TestBadActionSettingsStopStartUp(t *testing.T) {
	short := base64.StdEncoding.EncodeToString([]byte("twenty-one bytes only"))
	good := base64.StdEncoding.EncodeToString([]byte("a key of thirty-two bytes, ok ok"))
	for _, tc := range []struct {
		env              map[string]string
		variable, reason string
		secret           string
	}{
		{map[string]string{"PUBLIC_URL": "https://ops.example.com", "ACTION_SECRET": short}, "ACTION_SECRET", "at least 32", short},
		{map[string]string{"PUBLIC_URL": "https://ops.example.com", "ACTION_SECRET": "hunter2hunter2 not base64!"}, "ACTION_SECRET", "not base64", "hunter2"},
		{map[string]string{"PUBLIC_URL": "https://ops.example.com", "ACTION_SECRET": good + "," + short}, "ACTION_SECRET", "key 2", short},
		{map[string]string{"ACTION_SECRET": good}, "PUBLIC_URL", "must be set when ACTION_SECRET is", good},
		{map[string]string{"PUBLIC_URL": "http://ops.example.com"}, "PUBLIC_URL", "https://", ""},
		{map[string]string{"PUBLIC_URL": "ops.example.com"}, "PUBLIC_URL", "absolute URL", ""},
		{map[string]string{"ACTION_LINK_TTL": "0s"}, "ACTION_LINK_TTL", "positive duration up to 30 days", ""},
		{map[string]string{"ACTION_LINK_TTL": "721h"}, "ACTION_LINK_TTL", "positive duration up to 30 days", ""},
		{map[string]string{"ACTION_LINK_TTL": "a day"}, "ACTION_LINK_TTL", "not a duration", ""},
	} {
		t.Run(tc.variable+"/"+tc.reason, func(t *testing.T) {
			t.Setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none?sslmode=disable&connect_timeout=1")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errb bytes.Buffer
			code := dispatch(context.Background(), ioStreams{&out, &errb}, []string{"serve"})
			line := strings.TrimSpace(errb.String())
			if code != exitUsage || strings.Count(line, "\n") != 0 || !strings.Contains(line, tc.variable+"=") || !strings.Contains(line, tc.reason) {
				t.Fatalf("exit %d, stderr %q", code, line)
			}
			if tc.secret != "" && (strings.Contains(line, tc.secret) || strings.Contains(line, tc.secret[:min(8, len(tc.secret))])) {
				t.Fatalf("the secret is printed: %q", line)
			}
		})
	}
}

// The loop the README walks through, with the built binary: `receive --ack-first`, `demo`, and
// `serve` with PUBLIC_URL and ACTION_SECRET. The demo alert pages Carol; her page carries its
// action links; the receiver follows the acknowledge link; the follow-up reaches everyone paged
// (Carol: "acknowledged by Carol via link"); escalation stops (Bob, the second step, is never
// paged).
func TestDemoLoopWithActionLinks(t *testing.T) {
	dbURL := dbtest.NewURL(t)
	pool := dbtest.NewPool(t, dbURL)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	serveAddr := ln.Addr().String()
	ln.Close() // serve listens here

	recvAddr, lines := startReceive(t, "--ack-first")
	var printed strings.Builder
	next := func(within time.Duration, want string) (string, bool) {
		t.Helper()
		timeout := time.After(within)
		for {
			select {
			case l := <-lines:
				printed.WriteString(l + "\n")
				if strings.Contains(l, want) {
					return l, true
				}
			case <-timeout:
				return "", false
			}
		}
	}

	if _, errs, code := runBinary(t, dbURL, "demo", "--webhook", "http://"+recvAddr+"/"); code != 0 {
		t.Fatalf("demo: exit %d: %s", code, errs)
	}
	alert := dbtest.Int64(t, pool, `select max(id) from alerts`) // the demo's new alert (the week's history is resolved)
	secret := base64.StdEncoding.EncodeToString([]byte("demo loop test key of 32 bytes!!"))
	p := startServe(t, "DATABASE_URL="+dbURL, "HTTP_ADDR="+serveAddr, "PUBLIC_URL=http://"+serveAddr, "ACTION_SECRET="+secret,
		"ESCALATION_SCHEDULE=@every 1s", "DELIVERY_ALLOW_NETWORKS=127.0.0.1/32")
	if _, ok := next(60*time.Second, fmt.Sprintf("page: alert %d [critical] db-1: disk 95%% full", alert)); !ok {
		t.Fatalf("no page reached the receiver in 60 s; it printed:\n%s\nworker log:\n%s", printed.String(), p.logs.text())
	}
	if _, ok := next(2*time.Second, "  acknowledge: http://"+serveAddr+"/act/"); !ok {
		t.Fatalf("the page carries no acknowledge link; the receiver printed:\n%s", printed.String())
	}
	if l, ok := next(30*time.Second, fmt.Sprintf("ack-first: alert %d: ", alert)); !ok || !strings.Contains(l, "acknowledged from its link (done)") {
		t.Fatalf("the receiver did not acknowledge from the link; it printed:\n%s", printed.String())
	}
	if l, ok := next(30*time.Second, fmt.Sprintf("follow-up: alert %d ", alert)); !ok || !strings.Contains(l, "acknowledged by Carol via link") {
		t.Fatalf("no follow-up reached the receiver; it printed:\n%s\nworker log:\n%s", printed.String(), p.logs.text())
	}
	// Escalation stops: runs go on every second, the second step (Bob, a minute after the first)
	// is never paged. Another service's "escalate now" does not wake an acknowledged alert either.
	dbtest.Exec(t, pool, `update alerts set next_escalation_at = now() where id = $1`, alert)
	for range 3 {
		p.logs.waitFor(t, "run finished", func(m map[string]any) bool { return m["job"] == "escalation" })
	}
	if n := dbtest.Int64(t, pool, `select count(*) from notifications where alert_id = $1`, alert); n != 1 {
		t.Fatalf("%d pages of the acknowledged alert, want Carol's only", n)
	}
	if _, code := p.stop(t); code != 0 {
		t.Fatalf("serve exit %d", code)
	}
	if strings.Contains(p.logs.text(), secret) || regexp.MustCompile(`/act/[A-Za-z0-9_-]{20}`).MatchString(p.logs.text()) {
		t.Errorf("the worker's log shows the action secret or a link:\n%s", p.logs.text())
	}
}

// startReceive starts the built binary's `receive` on a free loopback port with the demo
// tenant's secret and args, stopped when t ends, and returns its address and the lines it prints.
func startReceive(t *testing.T, args ...string) (string, <-chan string) {
	t.Helper()
	recv := exec.Command(opsworkerBinary(t), append([]string{"receive", "--addr", "127.0.0.1:0"}, args...)...)
	recv.Env = append(os.Environ(), "RECEIVE_SECRET="+demoSecret)
	out, err := recv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := recv.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := recv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = recv.Process.Signal(syscall.SIGTERM)
		_ = recv.Wait()
	})
	first, _ := bufio.NewReader(stderr).ReadString('\n')
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
	}()
	return strings.TrimSpace(strings.TrimPrefix(first, "opsworker receive: listening on ")), lines
}
