package console

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/opsworker/opsworker/oncall"
	"github.com/opsworker/opsworker/scheduler"
)

// Options configure a Server.
type Options struct {
	// Pool is the database the console reads.
	Pool *pgxpool.Pool
	// Users may sign in; nil or none: the console is off and every path answers 404.
	Users *Users
	// Jobs are the configured tasks, in the order to show them.
	Jobs []Job
	// River serves River UI under /ui/river/ (see NewRiverUI), started; nil: not available.
	River http.Handler
	// Now is the clock every page and answer is computed at; default time.Now.
	Now func() time.Time
	// Logger receives the console's failures; default slog.Default().
	Logger *slog.Logger
}

// Job is a configured task: its name, the variable of its spec, and the spec (nil: off).
type Job struct {
	Name     string
	Variable string
	Spec     *scheduler.Spec
}

// Server is the console: an http.Handler for /ui/ and /api/v1/.
type Server struct {
	opts    Options
	st      store
	log     *slog.Logger
	now     func() time.Time
	pages   map[string]*template.Template
	handler http.Handler
}

//go:embed templates static
var assets embed.FS

// Content-Security-Policy of each kind of answer. The console's pages run no script at all and
// load nothing but their style sheet; River UI is a single-page application served from this
// origin (its scripts and style sheet are embedded in the binary), whose components set inline
// styles. Nothing is ever loaded from another host, and no page may be framed.
const (
	cspPages = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	cspRiver = "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; " +
		"connect-src 'self'; manifest-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
	cspAPI = "default-src 'none'; frame-ancestors 'none'"
)

// New returns the console.
func New(opts Options) (*Server, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &Server{opts: opts, st: store{pool: opts.Pool}, log: opts.Logger, now: opts.Now, pages: map[string]*template.Template{}}
	for _, page := range []string{"jobs", "runs", "alerts", "alert", "oncall", "reports", "report", "error"} {
		t, err := template.New(page).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+page+".html")
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", page, err)
		}
		s.pages[page] = t
	}
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP serves /ui/ and /api/v1/.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /ui/{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/jobs", http.StatusFound)
	})
	mux.HandleFunc("GET /ui/jobs", s.jobsPage)
	mux.HandleFunc("GET /ui/runs", s.runsPage)
	mux.HandleFunc("GET /ui/alerts", s.alertsPage)
	mux.HandleFunc("GET /ui/alerts/{id}", s.alertPage)
	mux.HandleFunc("GET /ui/oncall", s.oncallPage)
	mux.HandleFunc("GET /ui/reports", s.reportsPage)
	mux.HandleFunc("GET /ui/reports/{tenant}/{date}", s.reportPage)
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", http.FileServerFS(static)))
	if s.opts.River != nil {
		mux.Handle("/ui/river/", withBackLink(s.opts.River))
	} else {
		mux.HandleFunc("GET /ui/river/", func(w http.ResponseWriter, r *http.Request) {
			s.errorPage(w, r, http.StatusNotFound, "River UI is not available in this process.")
		})
	}
	mux.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		s.errorPage(w, r, http.StatusNotFound, "There is no such page.")
	})

	mux.HandleFunc("GET /api/v1/jobs", s.apiJobs)
	mux.HandleFunc("GET /api/v1/runs", s.apiRuns)
	mux.HandleFunc("GET /api/v1/alerts", s.apiAlerts)
	mux.HandleFunc("GET /api/v1/alerts/{id}/timeline", s.apiTimeline)
	mux.HandleFunc("GET /api/v1/schedules", s.apiSchedules)
	mux.HandleFunc("GET /api/v1/schedules/{id}/oncall", s.apiOncall)
	mux.HandleFunc("GET /api/v1/reports", s.apiReports)
	mux.HandleFunc("GET /api/v1/reports/{tenant}/{date}", s.apiReport)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeJSONError(w, http.StatusNotFound, "no such endpoint: see README.md, \"Console and API\"")
	})
	return s.guard(mux)
}

// guard sets the security headers on every answer, hides everything (404) while the console is
// off, asks for credentials (401), and refuses anything but GET and HEAD (405): the console
// only reads, River UI included (its retry, cancel and delete actions are refused).
func (s *Server) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		api := strings.HasPrefix(r.URL.Path, "/api/")
		h := w.Header()
		switch {
		case api:
			h.Set("Content-Security-Policy", cspAPI)
		case strings.HasPrefix(r.URL.Path, "/ui/river/"):
			h.Set("Content-Security-Policy", cspRiver)
		default:
			h.Set("Content-Security-Policy", cspPages)
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Cache-Control", "no-store")
		if !s.opts.Users.Enabled() {
			http.NotFound(w, r)
			return
		}
		name, password, ok := r.BasicAuth()
		if !ok || !s.opts.Users.Check(name, password, s.now()) {
			h.Set("WWW-Authenticate", `Basic realm="opsworker console", charset="UTF-8"`)
			if api {
				writeJSONError(w, http.StatusUnauthorized, "sign in: HTTP basic authentication with a user of CONSOLE_USERS")
			} else {
				http.Error(w, "401 unauthorized: sign in with a user of CONSOLE_USERS", http.StatusUnauthorized)
			}
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			if api {
				writeJSONError(w, http.StatusMethodNotAllowed, "read-only: only GET is allowed")
			} else {
				http.Error(w, "405 method not allowed: the console is read-only", http.StatusMethodNotAllowed)
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

// view is what every page template receives.
type view struct {
	Page  string // the navigation entry to highlight
	Title string
	Now   time.Time      // in Zone
	Zone  *time.Location // every time of the page is in it (see pageZone)
	Data  any
}

// render executes page's template into a buffer first, so a failure halfway yields a clean error
// page rather than half a page. Every time in data is shown in loc.
func (s *Server) render(w http.ResponseWriter, r *http.Request, page, title string, loc *time.Location, data any) {
	var buf bytes.Buffer
	nav := page
	switch page {
	case "alert":
		nav = "alerts"
	case "report":
		nav = "reports"
	case "runs":
		nav = "jobs"
	}
	if loc == nil {
		loc = time.UTC
	}
	v := view{Page: nav, Title: title, Now: s.now().In(loc), Zone: loc, Data: toZone(data, loc)}
	if err := s.pages[page].ExecuteTemplate(&buf, "layout", v); err != nil {
		s.fail(w, r, fmt.Errorf("render %s: %w", page, err))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = buf.WriteTo(w)
}

// errorPage answers a page request with status and a message for people.
func (s *Server) errorPage(w http.ResponseWriter, r *http.Request, status int, msg string) {
	var buf bytes.Buffer
	if err := s.pages["error"].ExecuteTemplate(&buf, "layout", view{Title: http.StatusText(status), Now: s.now().UTC(), Zone: time.UTC, Data: msg}); err != nil {
		http.Error(w, msg, status)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

// fail answers a page request whose reading failed: logged here, once.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return // the browser went away
	}
	s.log.Error("console page failed", "path", r.URL.Path, "error", err)
	s.errorPage(w, r, http.StatusInternalServerError, "The page could not be read from the database; the log says why.")
}

// apiFail answers an API request whose reading failed.
func (s *Server) apiFail(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, errNotFound) {
		writeJSONError(w, http.StatusNotFound, err.Error())
		return
	}
	if errors.Is(err, context.Canceled) {
		return
	}
	s.log.Error("console API request failed", "path", r.URL.Path, "error", err)
	writeJSONError(w, http.StatusInternalServerError, "the database could not be read; the log says why")
}

// apiTenant checks an API request's tenant filter: none, or a tenant that exists; an unknown one
// is answered 400, like any bad parameter. It reports whether the request goes on.
func (s *Server) apiTenant(w http.ResponseWriter, r *http.Request, id string) bool {
	if id == "" {
		return true
	}
	_, err := s.st.tenantByID(r.Context(), id)
	switch {
	case errors.Is(err, errNotFound):
		writeJSONError(w, http.StatusBadRequest, unknownTenant(id))
		return false
	case err != nil:
		s.apiFail(w, r, err)
		return false
	}
	return true
}

// pageTenants reads the tenants for a page's filter and checks its tenant, id: none, or one of
// them; an unknown one is answered 400. It reports whether the request goes on.
func (s *Server) pageTenants(w http.ResponseWriter, r *http.Request, id string) ([]tenant, bool) {
	tenants, err := s.st.tenants(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return nil, false
	}
	if id != "" && !slices.ContainsFunc(tenants, func(t tenant) bool { return t.ID == id }) {
		s.errorPage(w, r, http.StatusBadRequest, unknownTenant(id))
		return nil, false
	}
	return tenants, true
}

// writeJSON answers with v as JSON.
func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeJSONError(w, http.StatusInternalServerError, "encode: "+err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(b, '\n'))
}

// writeJSONError answers with {"error": msg}.
func writeJSONError(w http.ResponseWriter, status int, msg string) {
	b, _ := json.Marshal(map[string]string{"error": msg})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

// writeList writes {"key": rows}, the list empty rather than null when there are none.
func writeList[T any](w http.ResponseWriter, key string, rows []T) {
	if rows == nil {
		rows = []T{}
	}
	writeJSON(w, map[string][]T{key: rows})
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Format("2006-01-02 15:04:05 MST")
	},
	"whenp": func(t *time.Time) string {
		if t == nil || t.IsZero() {
			return "—"
		}
		return t.Format("2006-01-02 15:04:05 MST")
	},
	"span": oncall.Length,
	"dur": func(d time.Duration) string {
		switch {
		case d <= 0:
			return "0s"
		case d < time.Second:
			return d.Round(time.Millisecond).String()
		}
		return d.Round(10 * time.Millisecond).String()
	},
	"f1":  func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"add": func(a, b float64) float64 { return a + b },
	// ago says how long before now t was, roughly: 42s ago, 5m ago, 3h10m ago, 2d ago.
	"ago": func(now, t time.Time) string {
		d := now.Sub(t)
		switch {
		case d < 0:
			return "in the future"
		case d < time.Minute:
			return d.Round(time.Second).String() + " ago"
		case d < time.Hour:
			return fmt.Sprintf("%dm ago", int(d.Minutes()))
		case d < 48*time.Hour:
			h := d.Truncate(time.Minute)
			return fmt.Sprintf("%dh%dm ago", int(h.Hours()), int(h.Minutes())%60)
		}
		return fmt.Sprintf("%dd ago", int(d.Hours()/24))
	},
	"secs": func(p *float64) string {
		if p == nil {
			return "—"
		}
		return (time.Duration(*p * float64(time.Second))).Round(time.Second).String()
	},
	"summary": runSummary,
	// count says n things: "1 alert", "2 alerts".
	"count": func(n int64, noun string) string {
		return plural(counter{one: "1 " + noun, many: "%d " + noun + "s"}, n)
	},
	// step says an escalation position as people count: position 0 is step 1.
	"step": func(v any) string {
		switch p := v.(type) {
		case int32:
			return strconv.Itoa(int(p) + 1)
		case *int32:
			if p != nil {
				return strconv.Itoa(int(*p) + 1)
			}
		}
		return "—"
	},
	"mins": func(v any) string {
		switch p := v.(type) {
		case int32:
			return minutes(strconv.Itoa(int(p)))
		case *int32:
			if p != nil {
				return minutes(strconv.Itoa(int(*p)))
			}
		}
		return "—"
	},
	"schedhref": scheduleHref,
	// clock is the header's time: the page's instant in its zone.
	"clock": func(t time.Time) string { return t.Format("Mon 2006-01-02 15:04 MST") },
	"deref32": func(p *int32) string {
		if p == nil {
			return "—"
		}
		return fmt.Sprint(*p)
	},
	"deref64": func(p *int64) int64 {
		if p == nil {
			return 0
		}
		return *p
	},
	"str": func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	},
}

func isNotFound(err error) bool { return errors.Is(err, errNotFound) }
