package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
)

// Slack posts the page to a Slack incoming webhook: a text line (severity, summary, source,
// alert id), which notifications and old clients show, and blocks for the message itself.
//
// Every text that comes from data (summary, source, severity, names) is escaped per Slack's
// rules (slackEscape): Slack reads <…> as markup — <!channel> notifies a whole channel, <@U…>
// a person, <https://…|label> is a link whose label hides its target — so an alert summary
// could otherwise page a channel or disguise a link. The only markup in a message is
// opsworker's own (bold field labels); link previews are off.
type Slack struct {
	Destinations *Destinations
}

// Slack's limits on text (characters): a header's plain text, a section field, a context
// element; the top-level text is cut well below Slack's 40,000.
const (
	slackHeaderMax  = 150
	slackFieldMax   = 2000
	slackContextMax = 2000
	slackTextMax    = 3000
)

// slackText is the message's one-line text.
func slackText(p *Page) string {
	tail := fmt.Sprintf(" — source %s, alert %d", slackEscape(p.Alert.Source, 200), p.Alert.ID)
	head := "[" + slackEscape(p.Alert.Severity, 50) + "] "
	return head + slackEscape(p.Alert.Summary, slackTextMax-utf8.RuneCountInString(head+tail)) + tail
}

func slackMessage(p *Page) *slack.WebhookMessage {
	field := func(label, value string) *slack.TextBlockObject {
		label = "*" + label + "*\n"
		return slack.NewTextBlockObject(slack.MarkdownType, label+slackEscape(value, slackFieldMax-len(label)), false, false)
	}
	fields := []*slack.TextBlockObject{
		field("Severity", p.Alert.Severity),
		field("Source", p.Alert.Source),
		field("Alert", fmt.Sprint(p.Alert.ID)),
		field("Paged", p.Responder.Name),
	}
	context := fmt.Sprintf("Escalation step %d, pass %d · paged %s", p.Step, p.Loop, p.PagedAt.UTC().Format(time.RFC3339))
	if p.Schedule != nil {
		context += " · on call for " + slackEscape(p.Schedule.Name, 500)
	}
	off := false
	return &slack.WebhookMessage{
		Text: slackText(p),
		Blocks: &slack.Blocks{BlockSet: []slack.Block{
			slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, slackEscape(p.Alert.Summary, slackHeaderMax), false, false)),
			slack.NewSectionBlock(nil, fields, nil),
			slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, truncate(context, slackContextMax), false, false)),
		}},
		// "none": names and channels in the text are not turned into mentions.
		Parse:       "none",
		UnfurlLinks: &off,
		UnfurlMedia: &off,
	}
}

// slackEscape returns s for a Slack text field: invalid UTF-8 replaced, &, < and > written as
// &amp;, &lt; and &gt; (Slack's escaping: they then show as themselves and never start a
// mention, a link or a date), and cut to at most max characters of the text sent (escapes
// count), ending in "…" when cut.
func slackEscape(s string, max int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	escaped := slackEscaper.Replace(s)
	if utf8.RuneCountInString(escaped) <= max {
		return escaped
	}
	var b strings.Builder
	n := 0
	for _, r := range s {
		piece := slackEscaper.Replace(string(r))
		if n += utf8.RuneCountInString(piece); n > max-1 {
			break
		}
		b.WriteString(piece)
	}
	return b.String() + "…"
}

var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

// Destination implements Sender.
func (s Slack) Destination(p *Page) string { return destinationOf(p.Address) }

// Send implements Sender.
func (s Slack) Send(ctx context.Context, p *Page, now time.Time) Result {
	client, u, refused := s.Destinations.Client(p.Address)
	if refused != nil {
		return *refused
	}
	err := slack.PostWebhookCustomHTTPContext(ctx, u.String(), client, slackMessage(p))
	var rate *slack.RateLimitedError
	var status slack.StatusCodeError
	switch {
	case err == nil:
		return sent(200)
	case errors.As(err, &rate):
		r := transient(err)
		r.Code = 429
		if rate.RetryAfter <= maxRetryAfter {
			r.RetryAfter = rate.RetryAfter
		}
		return r
	case errors.As(err, &status):
		return fromStatus(status.Code, nil, now)
	}
	return fromError(err)
}

// truncate cuts s to at most n runes.
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
