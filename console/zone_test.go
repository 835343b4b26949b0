package console

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A page's data is shown in one zone: toZone converts every time it holds — fields, pointers,
// slices, embedded structs of unexported types, values behind interfaces — in a copy of the
// value (what its slices and pointers refer to is converted in place).
func TestToZone(t *testing.T) {
	at := time.Date(2027, 5, 4, 0, 10, 0, 0, time.UTC)
	type inner struct {
		At  time.Time
		Ptr *time.Time
	}
	type view struct {
		storedReport // unexported, embedded: its reportRow's times too
		List         []inner
		Any          any
		Zero         time.Time
		private      time.Time
	}
	p := at
	v := view{storedReport: storedReport{reportRow: reportRow{PeriodStart: at}}, List: []inner{{At: at, Ptr: &p}}, Any: inner{At: at}, private: at}
	got := toZone(v, berlin).(view)
	for name, tm := range map[string]time.Time{"embedded": got.PeriodStart, "slice": got.List[0].At, "pointer": *got.List[0].Ptr, "interface": got.Any.(inner).At} {
		if tm.Location() != berlin || !tm.Equal(at) {
			t.Errorf("%s: %v, want %v in Berlin", name, tm, at)
		}
	}
	if !got.Zero.IsZero() || got.private.Location() != time.UTC {
		t.Errorf("zero %v, unexported %v", got.Zero, got.private)
	}
	if v.PeriodStart.Location() != time.UTC || v.Any.(inner).At.Location() != time.UTC {
		t.Errorf("the original changed: %+v", v)
	}
	for _, c := range []struct {
		preferred string
		shown     []string
		want      string
	}{
		{"Europe/Berlin", []string{"UTC"}, "Europe/Berlin"}, {"", []string{"Asia/Tokyo", "Asia/Tokyo"}, "Asia/Tokyo"},
		{"", []string{"Asia/Tokyo", "UTC"}, "UTC"}, {"", nil, "UTC"}, {"Mars/Base", nil, "UTC"},
	} {
		if got := pageZone(c.preferred, c.shown).String(); got != c.want {
			t.Errorf("pageZone(%q, %v) = %s, want %s", c.preferred, c.shown, got, c.want)
		}
	}
}

// River UI's page gets the link back to the console after its <body> tag and the link's style
// sheet in its head; its API's JSON and other answers pass through as they are.
func TestRiverBackLink(t *testing.T) {
	page := `<!doctype html><html><head><title>River</title></head><body class="h-full"><div id="root"></div></body></html>`
	river := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/ui/river/jobs":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Content-Length", "999")
			_, _ = w.Write([]byte(page))
		case "/ui/river/api/jobs":
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"data":[]}`))
		default:
			http.NotFound(w, r)
		}
	})
	h := withBackLink(river)
	get := func(path string) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		return rec
	}
	rec := get("/ui/river/jobs")
	body := rec.Body.String()
	if rec.Code != 200 || rec.Header().Get("Content-Length") != "" ||
		!strings.Contains(body, `<body class="h-full">`+riverBackLink+`<div id="root">`) ||
		!strings.Contains(body, riverBackStyle+`</head>`) {
		t.Errorf("page: %d %v\n%s", rec.Code, rec.Header(), body)
	}
	if rec := get("/ui/river/api/jobs"); rec.Body.String() != `{"data":[]}` || rec.Header().Get("Content-Type") != "application/json" {
		t.Errorf("API: %s", rec.Body)
	}
	if rec := get("/ui/river/nothing"); rec.Code != 404 || strings.Contains(rec.Body.String(), "opsworker") {
		t.Errorf("404: %d %s", rec.Code, rec.Body)
	}
	if got := string(addBackLink([]byte("no tags here"))); got != "no tags here" {
		t.Errorf("a page without tags: %q", got)
	}
}
