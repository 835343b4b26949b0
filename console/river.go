package console

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"
)

// RiverPrefix is where River UI is served; the console's guard (authentication, read-only,
// headers) is in front of it.
const RiverPrefix = "/ui/river"

// NewRiverUI returns River UI for client's database, started: its background services run until
// ctx ends. client need not be started (an insert-only client will do).
func NewRiverUI(ctx context.Context, client *river.Client[pgx.Tx], logger *slog.Logger) (http.Handler, error) {
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(client, nil),
		Logger:    logger.With("component", "riverui"),
		Prefix:    RiverPrefix,
		// Job arguments are a delivery id, nothing secret; River UI may show them.
	})
	if err != nil {
		return nil, fmt.Errorf("river UI: %w", err)
	}
	if err := h.Start(ctx); err != nil {
		return nil, fmt.Errorf("river UI: start: %w", err)
	}
	return h, nil
}

// riverBackLink is what River UI's page gets, after its <body> tag, so a person can get back to
// the console: River UI's own navigation knows nothing of it. Its style sheet is the console's
// (River UI's policy allows style sheets of this origin).
const (
	riverBackLink  = `<a id="opsworker-console" href="/ui/jobs" title="back to the opsworker console">← opsworker console</a>`
	riverBackStyle = `<link rel="stylesheet" href="/ui/static/river.css">`
)

// withBackLink serves River UI with riverBackLink on its page: an HTML answer (status 200,
// text/html) gets the link after its <body> tag and the style sheet before </head>; every other
// answer (its API's JSON, its assets, a 304) passes through untouched.
func withBackLink(river http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bw := &pageBuffer{ResponseWriter: w}
		river.ServeHTTP(bw, r)
		bw.finish()
	})
}

// pageBuffer holds back an HTML answer to add the link; it passes anything else through.
type pageBuffer struct {
	http.ResponseWriter
	decided, html bool
	status        int
	buf           bytes.Buffer
}

func (b *pageBuffer) WriteHeader(code int) {
	if b.decided {
		return
	}
	b.decided, b.status = true, code
	b.html = code == http.StatusOK && strings.HasPrefix(b.Header().Get("Content-Type"), "text/html")
	if !b.html {
		b.ResponseWriter.WriteHeader(code)
	}
}

func (b *pageBuffer) Write(p []byte) (int, error) {
	if !b.decided {
		b.WriteHeader(http.StatusOK)
	}
	if b.html {
		return b.buf.Write(p)
	}
	return b.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the connection's writer (flushes, deadlines).
func (b *pageBuffer) Unwrap() http.ResponseWriter { return b.ResponseWriter }

func (b *pageBuffer) finish() {
	if !b.html {
		return
	}
	page := addBackLink(b.buf.Bytes())
	b.Header().Del("Content-Length")
	b.ResponseWriter.WriteHeader(b.status)
	_, _ = b.ResponseWriter.Write(page)
}

// addBackLink puts the link after page's <body …> tag and its style sheet before </head>; a
// page without them is left as it is.
func addBackLink(page []byte) []byte {
	lower := bytes.ToLower(page)
	body := bytes.Index(lower, []byte("<body"))
	head := bytes.Index(lower, []byte("</head>"))
	if body < 0 || head < 0 || head > body {
		return page
	}
	end := bytes.IndexByte(page[body:], '>')
	if end < 0 {
		return page
	}
	end += body + 1
	var out bytes.Buffer
	out.Grow(len(page) + len(riverBackLink) + len(riverBackStyle))
	out.Write(page[:head])
	out.WriteString(riverBackStyle)
	out.Write(page[head:end])
	out.WriteString(riverBackLink)
	out.Write(page[end:])
	return out.Bytes()
}
