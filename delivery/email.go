package delivery

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"net"
	"net/url"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
	"unicode"
	"unicode/utf8"

	mail "github.com/wneessen/go-mail"

	"github.com/opsworker/opsworker/vocab"
)

// SMTP is where page e-mails go: SMTP_URL, parsed.
type SMTP struct {
	host     string
	port     int
	implicit bool // smtps://: TLS from the first byte
	policy   mail.TLSPolicy
	user     string
	password string
}

// ParseSMTPURL parses SMTP_URL: smtp://[user:pass@]host:port (STARTTLS required) or smtps://…
// (implicit TLS), with ?tls=opportunistic or ?tls=none for a relay on a trusted network. An
// empty value is no SMTP at all (nil, nil): e-mail deliveries then fail with no_smtp.
func ParseSMTPURL(raw string) (*SMTP, error) {
	if raw == "" {
		return nil, nil
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, errors.New("not a URL such as smtp://user:password@mail.example.com:587")
	}
	s := &SMTP{host: u.Hostname(), policy: mail.TLSMandatory}
	switch u.Scheme {
	case "smtp":
		s.port = 587
	case "smtps":
		s.port, s.implicit = 465, true
	default:
		return nil, fmt.Errorf("scheme %q: want smtp:// (STARTTLS) or smtps:// (implicit TLS)", u.Scheme)
	}
	if s.host == "" {
		return nil, errors.New("no host: want smtp://host:port")
	}
	if p := u.Port(); p != "" {
		if s.port, err = strconv.Atoi(p); err != nil || s.port < 1 || s.port > 65535 {
			return nil, fmt.Errorf("port %q: want 1 to 65535", p)
		}
	}
	switch tls := u.Query().Get("tls"); tls {
	case "", "required":
	case "opportunistic":
		s.policy = mail.TLSOpportunistic
	case "none":
		if s.implicit {
			return nil, errors.New("smtps:// is TLS: tls=none contradicts it")
		}
		s.policy = mail.NoTLS
	default:
		return nil, fmt.Errorf("tls=%q: want required, opportunistic or none", tls)
	}
	if u.User != nil {
		s.user = u.User.Username()
		s.password, _ = u.User.Password()
	}
	return s, nil
}

// Email sends the message as an e-mail through SMTP: text and HTML parts, a Message-ID stable
// per delivery (a retry is the same message), and Auto-Submitted: auto-generated so that
// vacation responders stay quiet. A page's subject is "[severity] summary (alert id)" and its
// body carries its action links; a follow-up replies in the thread of the page it follows up
// (In-Reply-To and References, subject "Re: …"); a notice's subject is its sentence.
type Email struct {
	SMTP    *SMTP // nil: no SMTP_URL
	From    string
	Timeout time.Duration
}

// Destination implements Sender: every e-mail goes to the SMTP server.
func (e Email) Destination(*Attempt) string {
	if e.SMTP == nil {
		return ""
	}
	return net.JoinHostPort(strings.ToLower(e.SMTP.host), strconv.Itoa(e.SMTP.port))
}

// Send implements Sender.
func (e Email) Send(ctx context.Context, a *Attempt, now time.Time) Result {
	if e.SMTP == nil {
		return permanent(vocab.ReasonNoSMTP, errors.New("SMTP_URL is not set"))
	}
	m, err := e.message(a, now)
	if err != nil {
		return permanent(vocab.ReasonBadAddress, err)
	}
	opts := []mail.Option{mail.WithPort(e.SMTP.port), mail.WithTLSPolicy(e.SMTP.policy), mail.WithTimeout(e.Timeout)}
	if e.SMTP.implicit {
		opts = append(opts, mail.WithSSL())
	}
	if e.SMTP.user != "" {
		auth := mail.SMTPAuthAutoDiscover // the strongest mechanism both sides know, over TLS
		if e.SMTP.policy == mail.NoTLS {
			auth = mail.SMTPAuthPlainNoEnc // a relay on a trusted network, as tls=none says
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(e.SMTP.user), mail.WithPassword(e.SMTP.password))
	}
	c, err := mail.NewClient(e.SMTP.host, opts...)
	if err != nil {
		return permanent(vocab.ReasonNoSMTP, err)
	}
	if err := c.DialAndSendWithContext(ctx, m); err != nil {
		var se *mail.SendError
		if errors.As(err, &se) && !se.IsTemp() && se.ErrorCode() >= 500 {
			r := permanent(vocab.ReasonRejected, err)
			r.Code = se.ErrorCode()
			return r
		}
		if certificateError(err) {
			return permanent(vocab.ReasonBadCertificate, err)
		}
		return transient(err)
	}
	return sent(0)
}

// message builds the e-mail of a.
func (e Email) message(a *Attempt, now time.Time) (*mail.Msg, error) {
	m := mail.NewMsg()
	if err := m.From(e.From); err != nil {
		return nil, fmt.Errorf("SMTP_FROM %q: %w", e.From, err)
	}
	if err := m.To(a.Address); err != nil {
		return nil, fmt.Errorf("address %q: %w", a.Address, err)
	}
	m.SetMessageIDWithValue(e.messageID(fmt.Sprintf("delivery-%d", a.DeliveryID)))
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetDateWithValue(now)
	var subject string
	var text, html strings.Builder
	var err error
	switch {
	case a.Followup != nil:
		f := *a.Followup
		f.Alert.Summary = truncate(strings.ToValidUTF8(f.Alert.Summary, "\uFFFD"), bodySummaryMax)
		subject = "Re: " + pageSubject(a.Followup.Alert)
		if a.Thread != "" {
			ref := "<" + e.messageID(a.Thread) + ">"
			m.SetGenHeader(mail.HeaderInReplyTo, ref)
			m.SetGenHeader(mail.HeaderReferences, ref)
		}
		data := struct {
			Text    string
			Console string
		}{Text: f.Text(a.Zone)}
		if f.Links != nil {
			data.Console = f.Links.Console
		}
		err = errors.Join(followupText.Execute(&text, data), followupHTML.Execute(&html, data))
	case a.Notice != nil:
		subject = headerText(a.Notice.Text(), subjectSummaryMax)
		data := struct {
			Text            string
			OnCall, OffCall []Named
		}{Text: a.Notice.Text(), OnCall: a.Notice.OnCall, OffCall: a.Notice.OffCall}
		err = errors.Join(noticeText.Execute(&text, data), noticeHTML.Execute(&html, data))
	default:
		subject = pageSubject(a.Page.Alert)
		valid := *a.Page // the bodies are UTF-8: a summary's invalid bytes become U+FFFD there too
		valid.Alert.Summary = truncate(strings.ToValidUTF8(valid.Alert.Summary, "\uFFFD"), bodySummaryMax)
		valid.Alert.Source = strings.ToValidUTF8(valid.Alert.Source, "\uFFFD")
		err = errors.Join(emailText.Execute(&text, &valid), emailHTML.Execute(&html, &valid))
	}
	if err != nil {
		return nil, err
	}
	setSubject(m, subject)
	m.SetBodyString(mail.TypeTextPlain, text.String())
	m.AddAlternativeString(mail.TypeTextHTML, html.String())
	return m, nil
}

// pageSubject is the subject of a page of alert: "[severity] summary (alert id)".
func pageSubject(alert AlertInfo) string {
	return fmt.Sprintf("[%s] %s (alert %d)", headerText(alert.Severity, 50), headerText(alert.Summary, subjectSummaryMax), alert.ID)
}

// messageID is the Message-ID (without its angle brackets) of the message local names
// ("delivery-12"): the same on every attempt, and known to the follow-ups that reply to it.
func (e Email) messageID(local string) string { return local + "." + domainOf(e.From) }

// subjectSummaryMax is the most characters of a summary in a subject: mail clients show far
// fewer, and a summary may be a megabyte.
const subjectSummaryMax = 200

// bodySummaryMax is the most characters of a summary in an e-mail's body: a page is not a
// document (the webhook carries the whole summary).
const bodySummaryMax = 10000

// headerText returns s fit for a header: invalid UTF-8 replaced by U+FFFD, control characters
// (line breaks: no header injection) by spaces, cut to max characters.
func headerText(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, strings.ToValidUTF8(s, "\uFFFD"))
	return truncate(s, max)
}

// setSubject sets the subject within RFC 5322's line limits (998, and the 78 it recommends):
// printable ASCII whose words fold at spaces goes as it is (go-mail folds it); anything else —
// non-ASCII, or a word too long to fold — as RFC 2047 encoded words (UTF-8, base64) of whole
// characters, one per folded line of at most 70 characters.
func setSubject(m *mail.Msg, subject string) {
	plain := true
	for _, w := range strings.Split(subject, " ") {
		plain = plain && len(w) <= 60
	}
	for _, r := range subject {
		plain = plain && r >= ' ' && r <= '~'
	}
	if plain {
		m.Subject(subject)
		return
	}
	const chunk = 36 // bytes: 48 in base64, 60 with =?UTF-8?B?…?=
	var words []string
	for len(subject) > 0 {
		n := min(chunk, len(subject))
		for n < len(subject) && !utf8.RuneStart(subject[n]) {
			n--
		}
		words = append(words, "=?UTF-8?B?"+base64.StdEncoding.EncodeToString([]byte(subject[:n]))+"?=")
		subject = subject[n:]
	}
	m.SetGenHeaderPreformatted(mail.HeaderSubject, strings.Join(words, "\r\n "))
}

// domainOf is the domain of an address, for Message-IDs.
func domainOf(addr string) string {
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.Trim(addr[i+1:], "> ")
	}
	return "opsworker"
}

var emailText = texttemplate.Must(texttemplate.New("text").Parse(`{{.Alert.Summary}}

Severity:  {{.Alert.Severity}}
Source:    {{.Alert.Source}}
Alert:     {{.Alert.ID}} ({{.Alert.Status}}, created {{.Alert.CreatedAt.UTC.Format "2006-01-02 15:04:05 MST"}})
Paged:     {{.Responder.Name}}, escalation step {{.Step}}, pass {{.Loop}}{{with .Schedule}}, on call for {{.Name}}{{end}}
{{with .Links.Acknowledge}}
Acknowledge: {{.}}{{end}}{{with .Links.Resolve}}
Resolve:     {{.}}{{end}}
`))

var emailHTML = template.Must(template.New("html").Parse(`<!doctype html>
<html><body>
<h2>{{.Alert.Summary}}</h2>
<table>
<tr><th align="left">Severity</th><td>{{.Alert.Severity}}</td></tr>
<tr><th align="left">Source</th><td>{{.Alert.Source}}</td></tr>
<tr><th align="left">Alert</th><td>{{.Alert.ID}} ({{.Alert.Status}}, created {{.Alert.CreatedAt.UTC.Format "2006-01-02 15:04:05 MST"}})</td></tr>
<tr><th align="left">Paged</th><td>{{.Responder.Name}}, escalation step {{.Step}}, pass {{.Loop}}{{with .Schedule}}, on call for {{.Name}}{{end}}</td></tr>
</table>
{{if not .Links.Empty}}<p><a href="{{.Links.Acknowledge}}">Acknowledge</a> · <a href="{{.Links.Resolve}}">Resolve</a></p>
{{end}}</body></html>
`))

var followupText = texttemplate.Must(texttemplate.New("text").Parse(`{{.Text}}
{{with .Console}}
Console: {{.}}
{{end}}`))

var followupHTML = template.Must(template.New("html").Parse(`<!doctype html>
<html><body>
<p>{{.Text}}</p>
{{with .Console}}<p><a href="{{.}}">Open in the console</a></p>
{{end}}</body></html>
`))

var noticeText = texttemplate.Must(texttemplate.New("text").Parse(`{{.Text}}

On call:  {{range $i, $r := .OnCall}}{{if $i}}, {{end}}{{$r.Name}}{{else}}nobody{{end}}
Off call: {{range $i, $r := .OffCall}}{{if $i}}, {{end}}{{$r.Name}}{{else}}nobody{{end}}
`))

var noticeHTML = template.Must(template.New("html").Parse(`<!doctype html>
<html><body>
<p>{{.Text}}</p>
<table>
<tr><th align="left">On call</th><td>{{range $i, $r := .OnCall}}{{if $i}}, {{end}}{{$r.Name}}{{else}}nobody{{end}}</td></tr>
<tr><th align="left">Off call</th><td>{{range $i, $r := .OffCall}}{{if $i}}, {{end}}{{$r.Name}}{{else}}nobody{{end}}</td></tr>
</table>
</body></html>
`))
