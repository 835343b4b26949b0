package action_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/chromedp"
)

// The action pages' screenshots go where the console's do: CONSOLE_SCREENSHOT_DIR, or a new
// directory under the system's temporary directory (its path is logged), as act-*.png.
const screenshotDirVariable = "CONSOLE_SCREENSHOT_DIR"

// TestActionPageInChromium opens an acknowledge link in Debian's chromium, as a responder does
// from a page: the page renders with the console's style sheet under its strict
// Content-Security-Policy, shows the alert and one button, and opening it changed nothing;
// pressing the button acknowledges the alert and the answer says so. The pages of a tampered and
// an expired link render too. Each page is kept as a screenshot.
func TestActionPageInChromium(t *testing.T) {
	browserPath := chromiumPath(t)
	f := newFixture(t)
	dir := os.Getenv(screenshotDirVariable)
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "opsworker-console-screenshots-"); err != nil {
			t.Fatal(err)
		}
	} else if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots in %s", dir)

	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(browserPath), chromedp.WindowSize(900, 700),
		chromedp.Flag("disable-gpu", true), chromedp.Flag("lang", "en-GB"))
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	tab, cancelTab := chromedp.NewContext(actx)
	defer cancelTab()
	// The first Run starts the browser; it gets no deadline (one would stop the browser).
	if _, err := chromedp.Call(tab, cdplog.Enable, cdp.Empty{}); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	var mu sync.Mutex
	var violations []string
	go func() {
		for e, err := range chromedp.Events(tab, cdplog.EntryAdded) {
			if err != nil {
				return
			}
			if e.Entry != nil && strings.Contains(e.Entry.Text, "Content Security Policy") {
				mu.Lock()
				violations = append(violations, e.Entry.Text)
				mu.Unlock()
			}
		}
	}()
	eval := func(expr string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 10*time.Second)
		defer cancel()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			t.Fatalf("%s: %v", expr, err)
		}
		return v
	}
	shoot := func(name string) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 20*time.Second)
		defer cancel()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	open := func(name, url string, status int64) {
		t.Helper()
		ctx, cancel := context.WithTimeout(tab, 20*time.Second)
		defer cancel()
		resp, err := chromedp.Run(ctx, chromedp.NavigateResponse(url))
		if err != nil {
			t.Fatalf("%s: %v", url, err)
		}
		if resp.Status != status {
			t.Fatalf("%s: status %d, want %d", name, resp.Status, status)
		}
		// The style sheet loaded under the page's policy: the console's rules and the page's own.
		if n := eval(`String(document.styleSheets.length ? document.styleSheets[0].cssRules.length : 0)`); len(n) < 2 {
			t.Errorf("%s: the style sheet has %s rules", name, n)
		}
		if bg := eval(`getComputedStyle(document.querySelector('header.top')).backgroundColor`); bg != "rgb(31, 42, 60)" {
			t.Errorf("%s: the console's header colour is %q", name, bg)
		}
		shoot(name)
	}

	links := f.signer.Links(f.alert, f.carol, time.Now())
	f.setNow(time.Now())
	before := f.state(f.alert)
	open("act-01-acknowledge", f.srv.URL+path(links.Acknowledge), 200)
	if text := eval(`document.body.innerText`); !strings.Contains(text, "db-1: disk 95% full") || !strings.Contains(text, "Carol") ||
		!strings.Contains(text, "triggered") {
		t.Errorf("the page shows:\n%s", text)
	}
	if n := eval(`String(document.querySelectorAll('button').length)`); n != "1" {
		t.Errorf("%s buttons, want one", n)
	}
	if n := eval(`String(document.scripts.length)`); n != "0" {
		t.Errorf("%s scripts on the page", n)
	}
	if after := f.state(f.alert); after != before {
		t.Fatalf("opening the link in a browser changed %+v to %+v", before, after)
	}

	ctx, cancel := context.WithTimeout(tab, 20*time.Second)
	err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS("button.act-button")), chromedp.WaitVisible(chromedp.CSS("p.outcome.done")))
	cancel()
	if err != nil {
		t.Fatalf("press the button: %v", err)
	}
	shoot("act-02-acknowledged")
	if text := eval(`document.body.innerText`); !strings.Contains(text, "Acknowledged by you (Carol)") {
		t.Errorf("the answer shows:\n%s", text)
	}
	if s := f.state(f.alert); s.Status != "acknowledged" || s.AckedBy != "Carol" {
		t.Fatalf("after the button: %+v", s)
	}

	token := strings.TrimPrefix(path(links.Resolve), "/act/")
	open("act-03-invalid", f.srv.URL+"/act/"+token[:10]+flip(token[10])+token[11:], 403)
	f.setNow(time.Now().Add(48 * time.Hour))
	open("act-04-expired", f.srv.URL+path(links.Resolve), 410)

	mu.Lock()
	defer mu.Unlock()
	for _, v := range violations {
		t.Errorf("Content-Security-Policy violation: %s", v)
	}
}

// chromiumPath finds Debian's chromium; in CI (CI set) its absence fails the test, elsewhere it
// is skipped.
func chromiumPath(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("no chromium: .ci/run installs Debian's chromium package")
	}
	t.Skip("no chromium on this machine (apt-get install chromium)")
	return ""
}
