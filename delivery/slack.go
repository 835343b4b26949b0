package delivery

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/slack-go/slack"
)

// Slack posts the page to a Slack incoming webhook: a text line (severity, summary, source,
// alert id), which notifications and old clients show, and blocks for the message itself.
type Slack struct {
	Destinations *Destinations
}

// slackText is the message's one-line text.
func slackText(p *Page) string {
	return fmt.Sprintf("[%s] %s — source %s, alert %d", p.Alert.Severity, p.Alert.Summary, p.Alert.Source, p.Alert.ID)
}

func slackMessage(p *Page) *slack.WebhookMessage {
	fields := []*slack.TextBlockObject{
		slack.NewTextBlockObject(slack.MarkdownType, "*Severity*\n"+p.Alert.Severity, false, false),
		slack.NewTextBlockObject(slack.MarkdownType, "*Source*\n"+p.Alert.Source, false, false),
		slack.NewTextBlockObject(slack.MarkdownType, fmt.Sprintf("*Alert*\n%d", p.Alert.ID), false, false),
		slack.NewTextBlockObject(slack.MarkdownType, "*Paged*\n"+p.Responder.Name, false, false),
	}
	context := fmt.Sprintf("Escalation step %d, pass %d · paged %s", p.Step, p.Loop, p.PagedAt.UTC().Format(time.RFC3339))
	if p.Schedule != nil {
		context += " · on call for " + p.Schedule.Name
	}
	return &slack.WebhookMessage{
		Text: slackText(p),
		Blocks: &slack.Blocks{BlockSet: []slack.Block{
			slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, truncate(p.Alert.Summary, 150), false, false)),
			slack.NewSectionBlock(nil, fields, nil),
			slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, context, false, false)),
		}},
	}
}

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

// truncate cuts s to at most n runes (Slack limits a header's text).
func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
