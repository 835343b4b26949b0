package action

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/opsworker/opsworker/civil"
	"github.com/opsworker/opsworker/vocab"
)

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	// Pool is the database the actions change.
	Pool *pgxpool.Pool
	// Signer checks the links; nil: links are off and every /act/ path answers 404.
	Signer *Signer
	// Stylesheet is the console's style sheet (console.Stylesheet): the action pages look like
	// the console. The pages' own few rules are appended.
	Stylesheet []byte
	// Now is the clock of expiries, actions and the failed-check limit; default time.Now.
	Now func() time.Time
	// Logger receives one line per action performed (alert and action, never the token) and the
	// failures; default slog.Default().
	Logger *slog.Logger
	// Registerer receives opsworker_action_link_requests_total; nil: no metrics.
	Registerer prometheus.Registerer
	// FailBurst and FailEvery limit failed token checks per client address: FailBurst at once,
	// then one per FailEvery; defaults DefaultFailBurst and DefaultFailEvery.
	FailBurst int
	FailEvery time.Duration
	// MaxQueries is how many requests may use the database at once (the pool is the tasks' too);
	// default DefaultMaxQueries. QueryTimeout bounds one request's wait for its turn and its
	// statement; default DefaultQueryTimeout. Past it the answer is 503, nothing changed.
	MaxQueries   int
	QueryTimeout time.Duration
}

// Defaults of the database limits.
const (
	DefaultMaxQueries   = 4
	DefaultQueryTimeout = 5 * time.Second
)

// Handler serves /act/: GET /act/<token> shows the alert and one button and changes nothing;
// POST /act/<token> performs the action; GET /act/style.css is the pages' style sheet. It needs
// no sign-in: the token is the credential. Every answer is an HTML page, or JSON for a request
// that accepts application/json (receivers and scripts).
type Handler struct {
	o        HandlerOptions
	st       store
	fails    *failures
	queries  chan struct{} // a slot per request using the database
	css      []byte
	page     *template.Template
	requests *prometheus.CounterVec
	mux      *http.ServeMux
}

//go:embed templates static
var assets embed.FS

// csp is the console's Content-Security-Policy for its pages: no script at all, nothing loaded
// but the style sheet, forms only to this origin, never framed.
const csp = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Outcomes of a request, the outcome label of opsworker_action_link_requests_total.
const (
	outcomeShown    = "shown"    // GET: the page with its button (or the status, when there is nothing to do)
	outcomeDone     = "done"     // POST: the action was performed
	outcomeAlready  = "already"  // POST: nothing to do (already acknowledged or resolved)
	outcomeInvalid  = "invalid"  // tampered, malformed, another key's, or its responder is gone
	outcomeExpired  = "expired"  // authentic but expired
	outcomeNoAlert  = "no_alert" // the alert does not exist
	outcomeLimited  = "limited"  // too many failed checks from the address
	outcomeError    = "error"    // the database failed
	outcomeLinksOff = "off"      // links are not enabled on this process
)

// NewHandler returns the /act/ handler.
func NewHandler(o HandlerOptions) (*Handler, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.FailBurst <= 0 {
		o.FailBurst = DefaultFailBurst
	}
	if o.FailEvery <= 0 {
		o.FailEvery = DefaultFailEvery
	}
	if o.MaxQueries <= 0 {
		o.MaxQueries = DefaultMaxQueries
	}
	if o.QueryTimeout <= 0 {
		o.QueryTimeout = DefaultQueryTimeout
	}
	page, err := template.ParseFS(assets, "templates/page.html")
	if err != nil {
		return nil, fmt.Errorf("action: template: %w", err)
	}
	own, err := assets.ReadFile("static/action.css")
	if err != nil {
		return nil, fmt.Errorf("action: style sheet: %w", err)
	}
	h := &Handler{o: o, st: store{pool: o.Pool}, fails: newFailures(o.FailEvery, o.FailBurst), page: page,
		queries: make(chan struct{}, o.MaxQueries),
		css:     append(append([]byte(nil), o.Stylesheet...), own...),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "opsworker_action_link_requests_total",
			Help: "Requests of action links (/act/) by method and outcome (shown, done, already, invalid, expired, no_alert, limited, error, off).",
		}, []string{"method", "outcome"})}
	if o.Registerer != nil {
		if err := o.Registerer.Register(h.requests); err != nil {
			return nil, fmt.Errorf("action: metrics: %w", err)
		}
		for _, m := range []string{http.MethodGet, http.MethodPost} {
			for _, oc := range []string{outcomeShown, outcomeDone, outcomeAlready, outcomeInvalid, outcomeExpired, outcomeNoAlert, outcomeLimited, outcomeError, outcomeLinksOff} {
				h.requests.WithLabelValues(m, oc)
			}
		}
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /act/style.css", h.stylesheet)
	mux.HandleFunc("GET /act/{token}", h.show)
	mux.HandleFunc("POST /act/{token}", h.act)
	nothing := func(w http.ResponseWriter, r *http.Request) {
		h.problem(w, r, http.StatusNotFound, "", "No such page", "There is nothing here: an action link is /act/ followed by its token.")
	}
	mux.HandleFunc("GET /act/", nothing)
	mux.HandleFunc("POST /act/", nothing)
	h.mux = mux
	return h, nil
}

// ServeHTTP serves /act/ with the console's security headers. The page's address is a
// credential: it is never sent on as a referrer, cached or indexed.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("Cross-Origin-Opener-Policy", "same-origin")
	hd.Set("Cache-Control", "no-store")
	hd.Set("X-Robots-Tag", "noindex, nofollow")
	h.mux.ServeHTTP(w, r)
}

func (h *Handler) stylesheet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	_, _ = w.Write(h.css)
}

// claim checks the request's token: the failed-check limit first (an address over it gets 429
// without its token being looked at), then the signature and expiry. It answers the failures
// itself; ok is false then.
func (h *Handler) claim(w http.ResponseWriter, r *http.Request, now time.Time) (c Claim, ok bool) {
	if h.o.Signer == nil {
		h.problem(w, r, http.StatusNotFound, outcomeLinksOff, "Action links are off",
			"This server does not accept action links (PUBLIC_URL and ACTION_SECRET are not set).")
		return c, false
	}
	key := clientKey(r.RemoteAddr)
	if blocked, wait := h.fails.blocked(key, now); blocked {
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		h.problem(w, r, http.StatusTooManyRequests, outcomeLimited, "Too many invalid links",
			"Too many invalid links came from your address. Wait a minute and try again.")
		return c, false
	}
	c, err := h.o.Signer.Verify(r.PathValue("token"), now)
	switch {
	case errors.Is(err, ErrExpired):
		h.o.Logger.Debug("expired action link", "alert_id", c.AlertID, "responder_id", c.ResponderID, "action", c.Action,
			"expired_at", c.Expires)
		h.problem(w, r, http.StatusGone, outcomeExpired, "This link has expired",
			fmt.Sprintf("Action links are valid for a while after the page that carried them; this one expired at %s. "+
				"Use the alerting platform itself, or a newer page's link.", c.Expires.UTC().Format("2006-01-02 15:04 MST")))
		return c, false
	case err != nil:
		h.fails.fail(key, now)
		h.o.Logger.Debug("invalid action link", "client", key.String())
		h.problem(w, r, http.StatusForbidden, outcomeInvalid, "This link is not valid",
			"This action link is not one opsworker made, or it was changed on the way. Nothing was changed.")
		return c, false
	}
	return c, true
}

// show answers GET: the alert, its status, who is acting, and the one button — and changes
// nothing, so a mail scanner that opens the link does no harm.
func (h *Handler) show(w http.ResponseWriter, r *http.Request) {
	now := h.o.Now()
	c, ok := h.claim(w, r, now)
	if !ok {
		return
	}
	var a alertState
	err := h.query(r.Context(), func(ctx context.Context) (err error) {
		a, err = h.st.show(ctx, c)
		return err
	})
	if !h.found(w, r, c, a, err) {
		return
	}
	v := h.view(a, c)
	tr := transitions[c.Action]
	p := pageData{Alert: &v}
	if slices.Contains(tr.from, string(a.Status)) {
		p.Title = fmt.Sprintf("%s alert #%d?", verb(c.Action), a.ID)
		p.Button = verb(c.Action)
	} else {
		p.Title = fmt.Sprintf("Alert #%d is already %s", a.ID, a.Status)
		p.Outcome, p.OutcomeClass = v.already(a), outcomeAlready
	}
	h.answer(w, r, http.StatusOK, outcomeShown, p, c, a)
}

// act answers POST: performs the action in one transaction with its state check, and says what
// happened. A repeated POST changes nothing and says so.
func (h *Handler) act(w http.ResponseWriter, r *http.Request) {
	now := h.o.Now()
	c, ok := h.claim(w, r, now)
	if !ok {
		return
	}
	var a alertState
	err := h.query(r.Context(), func(ctx context.Context) (err error) {
		a, err = h.st.act(ctx, c, now)
		return err
	})
	if !h.found(w, r, c, a, err) {
		return
	}
	v := h.view(a, c)
	p := pageData{Alert: &v}
	outcome := outcomeAlready
	if a.Done {
		outcome = outcomeDone
		p.Title = fmt.Sprintf("Alert #%d %s", a.ID, a.Status)
		p.Outcome, p.OutcomeClass = v.done(a, c.Action), outcomeDone
		h.o.Logger.Info("alert "+string(a.Status)+" from an action link", "tenant_id", a.TenantID, "alert_id", a.ID,
			"responder_id", c.ResponderID, "action", c.Action)
	} else {
		p.Title = fmt.Sprintf("Alert #%d was already %s", a.ID, a.Status)
		p.Outcome, p.OutcomeClass = v.already(a)+" Nothing was changed.", outcomeAlready
		h.o.Logger.Debug("action link: nothing to do", "tenant_id", a.TenantID, "alert_id", a.ID, "responder_id", c.ResponderID,
			"action", c.Action, "status", a.Status)
	}
	h.answer(w, r, http.StatusOK, outcome, p, c, a)
}

// errBusy: the request did not get its turn at the database within QueryTimeout.
var errBusy = errors.New("too many action requests at once")

// query runs fn with one of the MaxQueries slots, the wait and fn together bounded by
// QueryTimeout.
func (h *Handler) query(ctx context.Context, fn func(context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, h.o.QueryTimeout)
	defer cancel()
	select {
	case h.queries <- struct{}{}:
	case <-ctx.Done():
		return errBusy
	}
	defer func() { <-h.queries }()
	return fn(ctx)
}

// found answers the lookup's failures: a database error (500), an unknown alert (404), a
// responder who is no longer one of the alert's tenant (403: the link no longer authorises
// anyone). It reports whether a is there to show.
func (h *Handler) found(w http.ResponseWriter, r *http.Request, c Claim, a alertState, err error) bool {
	switch {
	case errors.Is(err, errNoAlert):
		h.problem(w, r, http.StatusNotFound, outcomeNoAlert, "No such alert",
			fmt.Sprintf("Alert #%d does not exist (any more). Nothing was changed.", c.AlertID))
		return false
	case errors.Is(err, errBusy):
		h.o.Logger.Warn("action link: no turn at the database in time", "alert_id", c.AlertID, "action", c.Action)
		w.Header().Set("Retry-After", "5")
		h.problem(w, r, http.StatusServiceUnavailable, outcomeError, "Busy",
			"The action could not be done now: try again in a moment, or use the alerting platform. Nothing was changed.")
		return false
	case errors.Is(err, context.DeadlineExceeded):
		h.o.Logger.Warn("action link: the database did not answer in time", "alert_id", c.AlertID, "action", c.Action, "error", err)
		w.Header().Set("Retry-After", "5")
		h.problem(w, r, http.StatusServiceUnavailable, outcomeError, "No answer in time",
			"The database did not answer in time, so this may or may not have been done: open the link again to see the alert's status.")
		return false
	case err != nil:
		h.o.Logger.Error("action link failed", "alert_id", c.AlertID, "action", c.Action, "error", err)
		h.problem(w, r, http.StatusInternalServerError, outcomeError, "Something went wrong",
			"The action could not be done now: try again in a moment, or use the alerting platform.")
		return false
	case a.Responder == nil:
		h.problem(w, r, http.StatusForbidden, outcomeInvalid, "This link is no longer valid",
			"The responder this link was made for is no longer one of this alert's team. Nothing was changed.")
		return false
	}
	return true
}

// pageData is what the page template shows.
type pageData struct {
	Title, Problem, Outcome, OutcomeClass, Button string
	Alert                                         *alertView
}

// alertView is an alert as the page shows it: times in the tenant's zone.
type alertView struct {
	ID                                       int64
	Summary, Severity, Source, Status        string
	StatusNote, Created, Responder           string
	zone                                     *time.Location
	ackedBy, resolvedBy, ackedAt, resolvedAt string
}

func (h *Handler) view(a alertState, c Claim) alertView {
	zone, err := civil.LoadLocation(a.TimeZone)
	if err != nil {
		zone = time.UTC
	}
	v := alertView{ID: a.ID, Summary: a.Summary, Severity: a.Severity, Source: a.Source, Status: string(a.Status),
		Created: when(a.CreatedAt, zone), Responder: deref(a.Responder), zone: zone}
	if a.AckedAt != nil {
		v.ackedAt = when(*a.AckedAt, zone)
	}
	if a.ResolvedAt != nil {
		v.resolvedAt = when(*a.ResolvedAt, zone)
	}
	v.ackedBy, v.resolvedBy = who(a.AckedBy, v.Responder), who(a.ResolvedBy, v.Responder)
	switch a.Status {
	case vocab.AlertAcknowledged:
		v.StatusNote = strings.TrimSpace(by(v.ackedBy) + " " + at(v.ackedAt))
	case vocab.AlertResolved:
		v.StatusNote = strings.TrimSpace(by(v.resolvedBy) + " " + at(v.resolvedAt))
	}
	return v
}

// already says the status an action found: "Already acknowledged by Bo at 2027-05-03 09:58 CEST."
func (v alertView) already(a alertState) string {
	return "Already " + string(a.Status) + " " + v.StatusNote + "."
}

// done says what the action did: "Acknowledged by you (Carol) at 2027-05-03 10:02 CEST."
func (v alertView) done(a alertState, act vocab.Action) string {
	s := "Acknowledged"
	if act == vocab.ActionResolve {
		s = "Resolved"
	}
	s += " " + v.StatusNote + "."
	if act == vocab.ActionAcknowledge {
		s += " Escalation stops; everyone paged for it is told."
	}
	return s
}

func when(t time.Time, zone *time.Location) string { return t.In(zone).Format("2006-01-02 15:04 MST") }

// who names the one who made a change, "you (Carol)" when it was the link's responder.
func who(name *string, responder string) string {
	switch {
	case name == nil || *name == "":
		return ""
	case *name == responder:
		return "you (" + responder + ")"
	}
	return *name
}

func by(s string) string {
	if s == "" {
		return ""
	}
	return "by " + s
}

func at(s string) string {
	if s == "" {
		return ""
	}
	return "at " + s
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func verb(a vocab.Action) string {
	if a == vocab.ActionResolve {
		return "Resolve"
	}
	return "Acknowledge"
}

// answer writes a page (or its JSON) and counts it.
func (h *Handler) answer(w http.ResponseWriter, r *http.Request, status int, outcome string, p pageData, c Claim, a alertState) {
	h.requests.WithLabelValues(r.Method, outcome).Inc()
	if wantsJSON(r) {
		writeJSON(w, status, answerJSON{AlertID: a.ID, Action: c.Action, Outcome: outcome, Status: a.Status,
			AcknowledgedBy: a.AckedBy, AcknowledgedAt: a.AckedAt, ResolvedBy: a.ResolvedBy, ResolvedAt: a.ResolvedAt,
			Message: strings.TrimSpace(p.Title + ". " + p.Outcome)})
		return
	}
	h.render(w, status, p)
}

// problem writes an error page (or JSON) and counts it under outcome (none: not counted).
func (h *Handler) problem(w http.ResponseWriter, r *http.Request, status int, outcome, title, text string) {
	if outcome != "" {
		h.requests.WithLabelValues(r.Method, outcome).Inc()
	}
	if wantsJSON(r) {
		writeJSON(w, status, map[string]any{"error": title, "message": text, "http_status": status})
		return
	}
	h.render(w, status, pageData{Title: title, Problem: text})
}

func (h *Handler) render(w http.ResponseWriter, status int, p pageData) {
	var b bytes.Buffer
	if err := h.page.ExecuteTemplate(&b, "page", p); err != nil {
		h.o.Logger.Error("action page", "error", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b.Bytes())
}

// answerJSON is the JSON answer of GET and POST.
type answerJSON struct {
	AlertID        int64             `json:"alert_id"`
	Action         vocab.Action      `json:"action"`
	Outcome        string            `json:"outcome"` // shown, done, already
	Status         vocab.AlertStatus `json:"status"`
	AcknowledgedBy *string           `json:"acknowledged_by"`
	AcknowledgedAt *time.Time        `json:"acknowledged_at"`
	ResolvedBy     *string           `json:"resolved_by"`
	ResolvedAt     *time.Time        `json:"resolved_at"`
	Message        string            `json:"message"`
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
