package redact

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"testing"
)

// Every credential an address can carry is masked; where it leads is kept.
func TestURL(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://hooks.slack.com/services/T024BE7LD/B01ABCDEF/aBcDeFgHiJkLmNoPqRsTuVwX", "https://hooks.slack.com/services/T024BE7LD/B01ABCDEF/***"},
		{"http://127.0.0.1:8080/services/T000/B000/XXX", "http://127.0.0.1:8080/services/T000/B000/***"},
		{"https://hooks.slack.com/workflows/T1/A2/345/tok3n", "https://hooks.slack.com/workflows/T1/A2/345/***"},
		{"https://hooks.slack.com/triggers/T1/345/tok3n", "https://hooks.slack.com/triggers/T1/345/***"},
		{"https://discord.com/api/webhooks/123/tok-3n", "https://discord.com/api/webhooks/123/***"},
		{"https://hooks.example.com/in?token=s3cret&channel=ops", "https://hooks.example.com/in?token=***&channel=***"},
		{"https://hooks.example.com/in?s3cret", "https://hooks.example.com/in?***"},
		{"https://hooks.example.com/in#s3cret", "https://hooks.example.com/in#***"},
		{"https://user:s3cret@hooks.example.com/in", "https://user:***@hooks.example.com/in"},
		{"https://s3cret@hooks.example.com/in", "https://***@hooks.example.com/in"},
		{"https://chat.example.com/hooks/xj4b1qz8ktrb7m3pqwe9g5hn2a", "https://chat.example.com/hooks/***"},
		{"https://webhook.site/0b7e6f6e-3c1a-4f5e-9d2b-8a6c4e2f1d3b", "https://webhook.site/***"},
		{"https://ops.example.com/api/v1/alerts/hook", "https://ops.example.com/api/v1/alerts/hook"},
		{"https://ops.example.com/a%20b/c", "https://ops.example.com/a%20b/c"},
		{"http://h/%zz?token=s3cret", "http://h/***"},
		{"ann@acme.example", "ann@acme.example"},
		{"hooks.slack.com/services/T0/B0/tok3n", "hooks.slack.com/services/T0/B0/***"},
	} {
		if got := URL(tc.in); got != tc.want {
			t.Errorf("URL(%q) = %q, want %q", tc.in, got, tc.want)
		}
		if _, err := url.Parse(tc.want); err != nil {
			t.Errorf("%q: the redacted address does not parse: %v", tc.in, err)
		}
	}
}

// Text masks the URLs inside an error message, as Go's *url.Error quotes them.
func TestText(t *testing.T) {
	_, err := url.Parse("https://h/x?token=s3cret\x7f")
	for _, s := range []string{
		`Post "https://hooks.slack.com/services/T0/B0/tok3n": dial tcp 127.0.0.1:1: connect: connection refused`,
		`failed to post webhook: Post "http://127.0.0.1:9/in?key=s3cret&x=1": context deadline exceeded`,
		`receiver answered 302 (to "https://user:s3cret@elsewhere.example/")`,
		`no scheme: hooks.slack.com/services/T0/B0/s3cret`,
		err.Error(),
	} {
		got := Text(s)
		if strings.Contains(got, "s3cret") || strings.Contains(got, "tok3n") || !strings.Contains(got, Mask) {
			t.Errorf("Text(%q) = %q", s, got)
		}
	}
	if s := "delivery 17: receiver answered 503"; Text(s) != s {
		t.Errorf("Text changed %q", s)
	}
}

// Error keeps the chain for errors.Is and As and masks the message.
func TestError(t *testing.T) {
	inner := &url.Error{Op: "Post", URL: "https://h/x?token=s3cret", Err: errors.New("refused")}
	err := Error(fmt.Errorf("send: %w", inner))
	var ue *url.Error
	if !errors.As(err, &ue) || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("Error: %v (As: %v)", err, errors.As(err, &ue))
	}
	if Error(nil) != nil || Error(err) != err {
		t.Error("Error(nil) or Error twice")
	}
}

type stringer string

func (s stringer) String() string { return string(s) }

// Handler masks the message, attributes (strings, errors, Stringers, groups, other values) and
// the attributes given to With.
func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(Handler(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	u := "https://hooks.slack.com/services/T0/B0/s3cret"
	log.With("address", u).WithGroup("g").Debug("posting to "+u, "error", errors.New("Post \""+u+"\": refused"),
		"stringer", stringer(u), "group", slog.GroupValue(slog.String("inner", u)), "list", []string{u}, "n", 3)
	if out := buf.String(); strings.Contains(out, "s3cret") || strings.Count(out, Mask) != 6 || !strings.Contains(out, `"n":3`) {
		t.Fatalf("log line: %s", out)
	}
}

// JSON masks the strings of a document and keeps it valid, numbers exact.
func TestJSON(t *testing.T) {
	doc := `{"delivery_id":9007199254740993,"error":"Post \"https://h/x?token=s3cret\": refused","list":["https://h/services/T/B/s3cret"]}`
	got := JSON([]byte(doc))
	if strings.Contains(string(got), "s3cret") || !json.Valid(got) || !strings.Contains(string(got), "9007199254740993") {
		t.Fatalf("JSON: %s", got)
	}
	if plain := `{"a":1}`; string(JSON([]byte(plain))) != plain {
		t.Error("JSON changed a document without addresses")
	}
}
