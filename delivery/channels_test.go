package delivery_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
	"github.com/riverqueue/river/rivertype"

	"github.com/opsworker/opsworker/dbtest"
	"github.com/opsworker/opsworker/delivery"
	"github.com/opsworker/opsworker/vocab"
)

// A Slack delivery posts an incoming-webhook message: a text line naming severity, summary,
// source and alert, and blocks; a 429 with Retry-After snoozes it.
func TestSlack(t *testing.T) {
	f := newFixture(t)
	var got []map[string]any
	var mu sync.Mutex
	answer := http.StatusOK
	slackish := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg map[string]any
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil || r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, msg)
		code := answer
		mu.Unlock()
		if code == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", "30")
		}
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "ok")
	}))
	defer slackish.Close()
	page := f.page("acme", f.responder("acme", "Ann", "slack", slackish.URL+"/services/T000/B000/XXX"))
	_, ids := f.enqueue(page)
	w := f.worker(time.Second, nil, fixedClock, loopback...)

	answer = http.StatusTooManyRequests
	var snooze *rivertype.JobSnoozeError
	if err := f.work(w, ids[0], 1); !errors.As(err, &snooze) || snooze.Duration != 30*time.Second {
		t.Fatalf("429: Work returned %v, want a 30 s snooze", err)
	}
	answer = http.StatusOK
	if err := f.work(w, ids[0], 1); err != nil {
		t.Fatal(err)
	}
	if r := f.delivery(ids[0]); r.Status != "sent" || r.Attempts != 2 {
		t.Fatalf("delivery %+v", r)
	}
	msg := got[1]
	text, _ := msg["text"].(string)
	blocks, _ := msg["blocks"].([]any)
	if !strings.Contains(text, "[critical] disk 95% full") || !strings.Contains(text, "db-1") || !strings.Contains(text, "alert ") || len(blocks) != 3 {
		t.Fatalf("message: %v", msg)
	}
	if h := blocks[0].(map[string]any); h["type"] != "header" {
		t.Errorf("first block %v, want the header", h)
	}
}

// smtpServer is an in-process SMTP server (go-smtp) that keeps what it receives.
type smtpServer struct {
	addr string
	mu   sync.Mutex
	msgs []*mail.Message
	raw  [][]byte // each message as received
	auth []string
	got  chan struct{}
}

type smtpBackend struct{ s *smtpServer }

func (b smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{s: b.s}, nil }

type smtpSession struct{ s *smtpServer }

func (s *smtpSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Reset()                               {}
func (s *smtpSession) Logout() error                        { return nil }
func (s *smtpSession) AuthMechanisms() []string             { return []string{"PLAIN"} }
func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, user, pass string) error {
		s.s.mu.Lock()
		s.s.auth = append(s.s.auth, user+":"+pass)
		s.s.mu.Unlock()
		return nil
	}), nil
}
func (s *smtpSession) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m, err := mail.ReadMessage(bufio.NewReader(bytes.NewReader(raw)))
	if err != nil {
		return err
	}
	body, _ := io.ReadAll(m.Body)
	m.Body = strings.NewReader(string(body))
	s.s.mu.Lock()
	s.s.msgs = append(s.s.msgs, m)
	s.s.raw = append(s.s.raw, raw)
	s.s.mu.Unlock()
	s.s.got <- struct{}{}
	return nil
}

func newSMTPServer(t *testing.T) *smtpServer { return newSMTPServerTLS(t, nil) }

// newSMTPServerTLS is an SMTP server offering STARTTLS with tlsConfig (nil: none).
func newSMTPServerTLS(t *testing.T, tlsConfig *tls.Config) *smtpServer {
	s := &smtpServer{got: make(chan struct{}, 10)}
	srv := smtp.NewServer(smtpBackend{s})
	srv.TLSConfig = tlsConfig
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.addr = ln.Addr().String()
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	return s
}

// An e-mail delivery goes through SMTP_URL: subject "[severity] summary (alert id)", text and
// HTML parts, a Message-ID that stays the same on a retry, Auto-Submitted: auto-generated; the
// SMTP password is used and never logged.
func TestEmail(t *testing.T) {
	f := newFixture(t)
	srv := newSMTPServer(t)
	smtpURL, err := delivery.ParseSMTPURL("smtp://pager:s3cret-Pa55@" + srv.addr + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	page := f.page("acme", f.responder("acme", "Ann", "email", "ann@acme.example"))
	_, ids := f.enqueue(page)
	w := f.worker(2*time.Second, smtpURL, fixedClock)
	for attempt := 1; attempt <= 2; attempt++ { // the second is what a rescued job would send again
		sqlReset(t, f, ids[0])
		if err := f.work(w, ids[0], attempt); err != nil {
			t.Fatal(err)
		}
		<-srv.got
	}
	if r := f.delivery(ids[0]); r.Status != "sent" {
		t.Fatalf("delivery %+v", r)
	}
	m := srv.msgs[0]
	h := m.Header
	if h.Get("Subject") != "[critical] disk 95% full (alert "+itoa(alertOf(t, f, page))+")" || h.Get("Auto-Submitted") != "auto-generated" ||
		h.Get("Message-Id") != "<delivery-"+itoa(ids[0])+".acme.example>" || h.Get("Message-Id") != srv.msgs[1].Header.Get("Message-Id") ||
		!strings.Contains(h.Get("From"), "pager@acme.example") || !strings.Contains(h.Get("To"), "ann@acme.example") {
		t.Fatalf("headers: %v", h)
	}
	mt, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("content type %q: %v", h.Get("Content-Type"), err)
	}
	parts := map[string]string{}
	mr := multipart.NewReader(m.Body, params["boundary"])
	for {
		p, err := mr.NextPart()
		if err != nil {
			break
		}
		b, _ := io.ReadAll(p)
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		parts[ct] = string(b)
	}
	if !strings.Contains(parts["text/plain"], "disk 95% full") || !strings.Contains(parts["text/html"], "<h2>disk 95% full</h2>") {
		t.Fatalf("parts: %v", parts)
	}
	if len(srv.auth) == 0 || srv.auth[0] != "pager:s3cret-Pa55" {
		t.Errorf("auth %v", srv.auth)
	}
	if strings.Contains(f.logs.String(), "s3cret-Pa55") {
		t.Error("the SMTP password is in the log")
	}
}

// sqlReset makes a sent delivery pending again, as if its first attempt's outcome were lost.
func sqlReset(t *testing.T, f *fixture, id int64) {
	if _, err := f.pool.Exec(f.ctx, `update deliveries set status = 'pending', sent_at = null, finished_at = null where id = $1`, id); err != nil {
		t.Fatal(err)
	}
}

func alertOf(t *testing.T, f *fixture, page int64) int64 {
	var id int64
	if err := f.pool.QueryRow(f.ctx, `select alert_id from notifications where id = $1`, page).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// SMTP_URL's forms, and its mistakes.
func TestParseSMTPURL(t *testing.T) {
	for raw, ok := range map[string]bool{
		"": true, "smtp://mail.example.com": true, "smtp://u:p@mail.example.com:2525": true, "smtps://mail.example.com": true,
		"smtp://mail.example.com?tls=opportunistic": true, "smtp://relay:25?tls=none": true,
		"http://mail.example.com": false, "smtp://": false, "smtp://mail:99999": false, "smtps://mail?tls=none": false, "smtp://m?tls=maybe": false,
	} {
		if _, err := delivery.ParseSMTPURL(raw); (err == nil) != ok {
			t.Errorf("%q: err %v, want ok=%v", raw, err, ok)
		}
	}
}

// Slack text from data is escaped per Slack's rules: an alert summary, source or name full of
// mentions and disguised links reaches Slack with &, < and > as entities in every text field
// (no mention, no link: nothing in the message is markup but opsworker's own bold labels), link
// previews off; a huge summary is cut to Slack's limits.
func TestSlackEscapes(t *testing.T) {
	f := newFixture(t)
	var got []map[string]any
	var mu sync.Mutex
	slackish := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var msg map[string]any
		if err := json.NewDecoder(r.Body).Decode(&msg); err != nil {
			http.Error(w, "invalid_payload", http.StatusBadRequest)
			return
		}
		mu.Lock()
		got = append(got, msg)
		mu.Unlock()
		_, _ = io.WriteString(w, "ok")
	}))
	defer slackish.Close()
	const evil = "<!channel> <@U123> <!here> <https://evil.example|click>"
	huge := strings.Repeat("disk & <full> ", 80000) // about 1 MB
	w := f.worker(time.Second, nil, fixedClock, loopback...)
	for _, summary := range []string{evil, huge} {
		page := f.page("acme", f.responder("acme", "<@U999|boss> & co", "slack", slackish.URL+"/services/T000/B000/XXX"))
		dbtest.Exec(t, f.pool, `update alerts set summary = $2, source = '<!everyone> & <#C1>' where id = $1`, alertOf(t, f, page), summary)
		_, ids := f.enqueue(page)
		if err := f.work(w, ids[0], 1); err != nil {
			t.Fatal(err)
		}
	}
	if len(got) != 2 {
		t.Fatalf("%d messages", len(got))
	}
	limits := map[string]int{"text": 3000, "header": 150, "mrkdwn": 2000}
	for i, msg := range got {
		if msg["unfurl_links"] != false || msg["unfurl_media"] != false {
			t.Errorf("message %d: link previews on: %v", i, msg)
		}
		var texts []string
		var walk func(path string, v any)
		walk = func(path string, v any) {
			switch x := v.(type) {
			case string:
				if path == "text" || strings.HasSuffix(path, ".text") {
					texts = append(texts, x)
				}
				for _, limit := range []string{"text", "header", "mrkdwn"} {
					if (limit == "text" && path == "text") || strings.Contains(path, limit) {
						if n := len([]rune(x)); n > limits[limit] {
							t.Errorf("message %d: %s has %d characters, Slack takes %d", i, path, n, limits[limit])
						}
					}
				}
			case map[string]any:
				kind, _ := x["type"].(string)
				for k, e := range x {
					walk(strings.Trim(path+"."+kind+"."+k, "."), e)
				}
			case []any:
				for _, e := range x {
					walk(path, e)
				}
			}
		}
		walk("", msg)
		if len(texts) < 7 {
			t.Fatalf("message %d: %d texts: %v", i, len(texts), msg)
		}
		for _, s := range texts {
			unescaped := strings.NewReplacer("&amp;", "", "&lt;", "", "&gt;", "").Replace(s)
			if strings.ContainsAny(unescaped, "<>&") {
				t.Errorf("message %d: unescaped markup in %q", i, s)
			}
		}
		if i == 0 && !strings.Contains(msg["text"].(string), "&lt;!channel&gt; &lt;@U123&gt; &lt;!here&gt; &lt;https://evil.example|click&gt;") {
			t.Errorf("text %q", msg["text"])
		}
	}
}

// An e-mail's subject keeps to RFC 5322's line limits whatever the summary: a megabyte without
// a space, invalid UTF-8 (PostgreSQL stores none in a UTF-8 database, but a SQL_ASCII one
// does: the sender is given the page directly), line breaks (no header injection), non-ASCII
// text; it decodes to the summary's beginning with U+FFFD for the invalid bytes.
func TestEmailSubject(t *testing.T) {
	srv := newSMTPServer(t)
	smtpURL, err := delivery.ParseSMTPURL("smtp://" + srv.addr + "?tls=none")
	if err != nil {
		t.Fatal(err)
	}
	sender := delivery.Email{SMTP: smtpURL, From: "pager@acme.example", Timeout: 2 * time.Second}
	for i, summary := range []string{
		strings.Repeat("x", 1<<20) + "\xff\xfe",
		"disk \xff\xfe full\r\nBcc: victim@example.com",
		strings.Repeat("Festplatte voll — ディスクがいっぱいです ", 40),
		"disk 95% full",
	} {
		p := &delivery.Attempt{DeliveryID: int64(i + 1), TenantID: "acme", Kind: "email", Message: vocab.MessagePage, Address: "ann@acme.example",
			Page: &delivery.Page{Alert: delivery.AlertInfo{ID: 7, Summary: summary, Source: "db-1", Severity: "critical", Status: "triggered", CreatedAt: t0},
				Responder: delivery.Named{ID: 1, Name: "Ann"}, PagedAt: t0}}
		if res := sender.Send(context.Background(), p, t0); res.Err != nil {
			t.Fatalf("summary %d: %v", i, res.Err)
		}
		<-srv.got
		raw := string(srv.raw[i])
		head, body, _ := strings.Cut(raw, "\r\n\r\n")
		for _, line := range strings.Split(head, "\r\n") {
			if len(line) > 78 {
				t.Errorf("summary %d: a header line of %d characters: %.100q", i, len(line), line)
			}
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(srv.msgs[i].Header.Get("Subject"))
		if err != nil {
			t.Fatalf("summary %d: subject %q: %v", i, srv.msgs[i].Header.Get("Subject"), err)
		}
		want := "[critical] " + strings.ToValidUTF8(strings.NewReplacer("\r", " ", "\n", " ").Replace(summary), "\uFFFD")
		if n := len([]rune(subject)); n > 230 || !strings.HasPrefix(want, strings.TrimSuffix(strings.Split(subject, " (alert ")[0], "…")) ||
			!utf8.ValidString(subject) || !strings.HasSuffix(subject, " (alert 7)") {
			t.Errorf("summary %d: subject %q (%d characters)", i, subject, n)
		}
		if srv.msgs[i].Header.Get("Bcc") != "" || strings.Contains(body, "\xff") {
			t.Errorf("summary %d: a Bcc header was injected, or invalid UTF-8 is in the body", i)
		}
	}
}

// A mail server whose certificate does not verify: the e-mail fails at once (bad_certificate),
// it is not retried for half an hour.
func TestEmailBadCertificate(t *testing.T) {
	f := newFixture(t)
	untrusted := httptest.NewTLSServer(http.NotFoundHandler()) // for its certificate, which nobody trusts
	untrusted.Close()
	srv := newSMTPServerTLS(t, untrusted.TLS)
	smtpURL, err := delivery.ParseSMTPURL("smtp://" + srv.addr) // STARTTLS required
	if err != nil {
		t.Fatal(err)
	}
	page := f.page("acme", f.responder("acme", "Ann", "email", "ann@acme.example"))
	_, ids := f.enqueue(page)
	if err := f.work(f.worker(2*time.Second, smtpURL, fixedClock), ids[0], 1); !isCancel(err) {
		t.Fatalf("Work returned %v, want the job cancelled", err)
	}
	if r := f.delivery(ids[0]); r.Status != "failed" || r.LastError == nil || !strings.HasPrefix(*r.LastError, "bad_certificate: ") || len(srv.msgs) != 0 {
		t.Fatalf("delivery %+v, error %v, %d messages", r, deref(r.LastError), len(srv.msgs))
	}
}
