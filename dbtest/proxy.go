package dbtest

import (
	"net"
	"net/url"
	"sync"
	"testing"
	"time"
)

// Proxy is a TCP proxy between the code under test and PostgreSQL, for fault tests: it passes
// bytes through until told to refuse new connections, reset every open one, hold every byte (a
// blackhole: connections stay open and nothing answers), or delay them.
type Proxy struct {
	ln       net.Listener
	upstream string

	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	mode    proxyMode
	latency time.Duration
	changed chan struct{} // closed and replaced when the mode changes
}

type proxyMode int

const (
	pass proxyMode = iota
	refuse
	blackhole
)

// NewProxy starts a proxy to the test server (ServerURL) and stops it when t ends.
func NewProxy(t testing.TB) *Proxy {
	t.Helper()
	u, err := url.Parse(ServerURL())
	if err != nil || u.Host == "" {
		t.Fatalf("dbtest: a proxy needs a URL server, not %q", ServerURL())
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Proxy{ln: ln, upstream: u.Host, conns: map[net.Conn]struct{}{}, changed: make(chan struct{})}
	go p.accept()
	t.Cleanup(p.close)
	return p
}

// URL returns dbURL with its host replaced by the proxy's.
func (p *Proxy) URL(dbURL string) string {
	u, err := url.Parse(dbURL)
	if err != nil {
		panic(err)
	}
	u.Host = p.ln.Addr().String()
	return u.String()
}

// Pass lets bytes through again, undelayed.
func (p *Proxy) Pass() { p.set(pass, 0) }

// Refuse resets every open connection and every new one, like a database that is down.
func (p *Proxy) Refuse() {
	p.set(refuse, 0)
	p.Reset()
}

// Blackhole keeps every connection open and holds every byte, like a network that drops
// everything: nothing answers, nothing fails.
func (p *Proxy) Blackhole() { p.set(blackhole, 0) }

// Latency delays every chunk of bytes by d, both ways.
func (p *Proxy) Latency(d time.Duration) { p.set(pass, d) }

// Reset closes every open connection abruptly (RST), like a database restart.
func (p *Proxy) Reset() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for c := range p.conns {
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetLinger(0)
		}
		_ = c.Close()
		delete(p.conns, c)
	}
}

func (p *Proxy) set(m proxyMode, latency time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.mode, p.latency = m, latency
	close(p.changed)
	p.changed = make(chan struct{})
}

func (p *Proxy) state() (proxyMode, time.Duration, chan struct{}) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.mode, p.latency, p.changed
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if m, _, _ := p.state(); m == refuse {
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = c.Close()
			continue
		}
		go p.serve(c)
	}
}

func (p *Proxy) serve(client net.Conn) {
	server, err := net.DialTimeout("tcp", p.upstream, 5*time.Second)
	if err != nil {
		_ = client.Close()
		return
	}
	if !p.track(client) || !p.track(server) {
		_ = client.Close()
		_ = server.Close()
		return
	}
	done := make(chan struct{}, 2)
	go p.pipe(server, client, done)
	go p.pipe(client, server, done)
	<-done
	_ = client.Close()
	_ = server.Close()
}

// pipe copies src to dst chunk by chunk, as the mode says: through, delayed, or held while the
// proxy is a blackhole and delivered after it, as TCP's retransmissions would, unless the
// connection was closed meanwhile.
func (p *Proxy) pipe(dst, src net.Conn, done chan<- struct{}) {
	defer func() { done <- struct{}{} }()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			mode, latency, changed := p.state()
			for mode == blackhole {
				<-changed
				mode, latency, changed = p.state()
			}
			if latency > 0 {
				time.Sleep(latency)
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *Proxy) close() {
	_ = p.ln.Close()
	p.Reset()
	p.mu.Lock()
	p.conns = nil
	p.mode = pass // a pipe held by the blackhole lets go, and finds its connection closed
	close(p.changed)
	p.changed = make(chan struct{})
	p.mu.Unlock()
}
