package delivery

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"code.dny.dev/ssrf"

	"github.com/opsworker/opsworker/redact"
	"github.com/opsworker/opsworker/vocab"
)

// maxResponse bounds how much of a receiver's response is read.
const maxResponse = 64 << 10

// Destinations holds the HTTP clients webhook and Slack deliveries go through, with DESIGN's
// destination rules enforced when connecting (after DNS resolution, so a name that rebinds to a
// private address is caught): an https address must resolve to a public address or one inside
// the allowed networks (DELIVERY_ALLOW_NETWORKS); a plain http address only to one inside them.
// Loopback, private, link-local (cloud metadata), CGNAT, multicast and unspecified addresses
// are refused otherwise; code.dny.dev/ssrf holds the special-purpose address tables. Ports: an
// allowed network with a port list is reachable on those ports only; everything else on any
// port but DeniedPorts (databases, mail, control planes). Redirects are not followed, TLS is
// verified, and at most 64 KiB of a response is read.
type Destinations struct {
	secure, plain *http.Client
	allowed       bool // whether any network is allowed (plain http is refused outright without)
}

// NewDestinations returns the clients for the allowed networks (DELIVERY_ALLOW_NETWORKS,
// parsed by ParseNetworks), each request bounded by timeout (DELIVERY_TIMEOUT).
func NewDestinations(networks []Network, timeout time.Duration) *Destinations {
	public := ssrf.New(ssrf.WithAnyPort())
	secure := guard{networks: networks, public: public}
	plain := guard{networks: networks, onlyNetworks: true, public: public}
	return &Destinations{secure: client(secure, timeout), plain: client(plain, timeout), allowed: len(networks) > 0}
}

func client(g guard, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: g.control}
	transport := &http.Transport{
		DialContext:           dialer.DialContext,
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   16,
		IdleConnTimeout:       90 * time.Second,
		ForceAttemptHTTP2:     true,
		// No Proxy: a proxy would connect on our behalf, out of the guard's sight.
	}
	return &http.Client{
		Transport: limitedBody{transport},
		Timeout:   timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse // the redirect response is the answer
		},
	}
}

// Client returns the client for address, or a permanent failure when no client may reach it.
func (d *Destinations) Client(address string) (*http.Client, *url.URL, *Result) {
	u, err := url.Parse(address)
	if err != nil || u.Host == "" {
		r := permanent(vocab.ReasonBadAddress, fmt.Errorf("not an absolute URL: %q", redact.URL(address)))
		return nil, nil, &r
	}
	switch u.Scheme {
	case "https":
		return d.secure, u, nil
	case "http":
		if !d.allowed {
			r := permanent(vocab.ReasonDestinationNotAllowed, errors.New("plain http is allowed only inside DELIVERY_ALLOW_NETWORKS, and none is set"))
			return nil, nil, &r
		}
		return d.plain, u, nil
	}
	r := permanent(vocab.ReasonBadAddress, fmt.Errorf("scheme %q: want https", u.Scheme))
	return nil, nil, &r
}

// destinationOf is an http(s) address's host and port (the scheme's when none is given), in
// lower case: the key of its lane. "" when it is not such an address.
func destinationOf(address string) string {
	u, err := url.Parse(address)
	if err != nil || u.Host == "" {
		return ""
	}
	port := u.Port()
	switch {
	case port != "":
	case u.Scheme == "https":
		port = "443"
	case u.Scheme == "http":
		port = "80"
	default:
		return ""
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port)
}

// fromError classifies a request's error: a refused destination and a certificate that does not
// verify fail for good, anything else (a timeout, a reset, DNS) is retried.
func fromError(err error) Result {
	switch {
	case errors.Is(err, ssrf.ErrProhibitedIP) || errors.Is(err, ssrf.ErrProhibitedPort) || errors.Is(err, ssrf.ErrProhibitedNetwork):
		return permanent(vocab.ReasonDestinationNotAllowed, err)
	case certificateError(err):
		return permanent(vocab.ReasonBadCertificate, err)
	}
	return transient(err)
}

// certificateError reports whether err is a TLS certificate that does not verify (unknown
// authority, wrong host name, expired or otherwise invalid): a receiver's configuration that no
// retry within the next half hour will change, so the delivery fails at once and says why.
func certificateError(err error) bool {
	var verify *tls.CertificateVerificationError
	var authority x509.UnknownAuthorityError
	var host x509.HostnameError
	var invalid x509.CertificateInvalidError
	return errors.As(err, &verify) || errors.As(err, &authority) || errors.As(err, &host) || errors.As(err, &invalid)
}

// limitedBody caps every response body at maxResponse, whoever reads it (slack-go reads the
// body of an error response).
type limitedBody struct{ rt http.RoundTripper }

func (l limitedBody) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := l.rt.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	resp.Body = struct {
		io.Reader
		io.Closer
	}{io.LimitReader(resp.Body, maxResponse), resp.Body}
	return resp, nil
}
