package delivery

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/opsworker/opsworker/action"
)

// Slack posts the message to a Slack incoming webhook: a text line, which notifications and old
// clients show, and blocks for the message itself. A page's line names severity, summary,
// source and alert id, and its blocks carry its action links as link buttons; a follow-up's and
// a notice's are their sentences (Followup.Text, Notice.Text).
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

// slackText is a page's one-line text.
func slackText(p *Page) string {
	tail := fmt.Sprintf(" — source %s, alert %d", slackEscape(p.Alert.Source, 200), p.Alert.ID)
	head := "[" + slackEscape(p.Alert.Severity, 50) + "] "
	return head + slackEscape(p.Alert.Summary, slackTextMax-utf8.RuneCountInString(head+tail)) + tail
}

// slackMessage is a's message: a page's, a follow-up's or a notice's.
func slackMessage(a *Attempt) *slack.WebhookMessage {
	var m *slack.WebhookMessage
	switch {
	case a.Followup != nil:
		m = slackFollowup(a.Followup, a.Zone)
	case a.Notice != nil:
		m = slackNotice(a.Notice)
	default:
		m = slackPage(a.Page)
	}
	// "none": names and channels in the text are not turned into mentions.
	off := false
	m.Parse, m.UnfurlLinks, m.UnfurlMedia = "none", &off, &off
	return m
}

func slackPage(p *Page) *slack.WebhookMessage {
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
	blocks := []slack.Block{
		slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, slackEscape(p.Alert.Summary, slackHeaderMax), false, false)),
		slack.NewSectionBlock(nil, fields, nil),
		slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, truncate(context, slackContextMax), false, false)),
	}
	if b := slackButtons(p.Links); b != nil {
		blocks = append(blocks, b)
	}
	return &slack.WebhookMessage{Text: slackText(p), Blocks: &slack.Blocks{BlockSet: blocks}}
}

// slackButtons are a page's action links as link buttons (a button with a url opens it in the
// browser: no Slack app, no interactivity endpoint); nil when links are off.
func slackButtons(l action.Links) slack.Block {
	if l.Empty() {
		return nil
	}
	button := func(id, label, url string) slack.BlockElement {
		return slack.NewButtonBlockElement(id, "", slack.NewTextBlockObject(slack.PlainTextType, label, false, false)).WithURL(url)
	}
	return slack.NewActionBlock("", button("acknowledge", "Acknowledge", l.Acknowledge), button("resolve", "Resolve", l.Resolve))
}

// slackFollowup says what happened to an alert the channel was paged for: "Alert 12 [critical]
// disk full was acknowledged by Carol (via link) at 10:02 CEST", with a link to the alert's page
// in the console when it is on.
func slackFollowup(f *Followup, zone string) *slack.WebhookMessage {
	text := truncate(f.text(zone, func(s string) string { return slackEscape(s, 1000) }), slackTextMax)
	blocks := []slack.Block{slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil)}
	if f.Links != nil && f.Links.Console != "" {
		blocks = append(blocks, slack.NewActionBlock("", slack.NewButtonBlockElement("console", "",
			slack.NewTextBlockObject(slack.PlainTextType, "Open in the console", false, false)).WithURL(f.Links.Console)))
	}
	return &slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: blocks}}
}

// slackNotice tells who is on call: "Carol is now on call for Primary until Tue 09:00 CET, after
// Alice."
func slackNotice(n *Notice) *slack.WebhookMessage {
	text := truncate(n.text(func(s string) string { return slackEscape(s, 500) }), slackTextMax)
	return &slack.WebhookMessage{Text: text, Blocks: &slack.Blocks{BlockSet: []slack.Block{
		slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, text, false, false), nil, nil),
	}}}
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
func (s Slack) Destination(a *Attempt) string { return destinationOf(a.Address) }

// Send implements Sender.
func (s Slack) Send(ctx context.Context, a *Attempt, now time.Time) Result {
	client, u, refused := s.Destinations.Client(a.Address)
	if refused != nil {
		return *refused
	}
	err := slack.PostWebhookCustomHTTPContext(ctx, u.String(), client, slackMessage(a))
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
