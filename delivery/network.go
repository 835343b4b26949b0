package delivery

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"syscall"

	"code.dny.dev/ssrf"

	"github.com/opsworker/opsworker/setting"
)

// Network is an entry of DELIVERY_ALLOW_NETWORKS: addresses that webhook and Slack deliveries
// may reach besides public ones (plain http only there), on the given ports — or, without a port
// list, on any port but the well-known database, mail and cluster-control ports (DeniedPorts).
type Network struct {
	Prefix netip.Prefix
	Ports  []PortRange // empty: any port but DeniedPorts
}

// PortRange is a range of ports, both ends included (a single port: From = To).
type PortRange struct{ From, To uint16 }

// DeniedPorts are ports where a POST would reach a database, a mail server or a cluster's
// control plane rather than a webhook receiver: no destination gets them, public or in
// DELIVERY_ALLOW_NETWORKS, unless an allowed network lists them explicitly
// (10.0.0.5/32:9200).
var DeniedPorts = []uint16{
	25, 110, 143, 465, 587, 993, 995, // SMTP, submission, POP3, IMAP
	1433, 1521, 3306, 5432, 5984, 6379, 6432, 7687, 9042, 9200, 9300, 11211, 26257, 27017, // databases
	2375, 2376, 2379, 2380, 10250, // Docker, etcd, kubelet
}

// allows reports whether n lets a connection to port through.
func (n Network) allows(port uint16) bool {
	if len(n.Ports) == 0 {
		return !slices.Contains(DeniedPorts, port)
	}
	for _, r := range n.Ports {
		if port >= r.From && port <= r.To {
			return true
		}
	}
	return false
}

func (n Network) String() string {
	s := n.Prefix.String()
	for i, r := range n.Ports {
		sep := "+"
		if i == 0 {
			sep = ":"
		}
		s += sep + strconv.Itoa(int(r.From))
		if r.To != r.From {
			s += "-" + strconv.Itoa(int(r.To))
		}
	}
	return s
}

// ParseNetworks parses DELIVERY_ALLOW_NETWORKS: entries separated by commas or spaces, each a
// CIDR or a single address, with an optional port list after a colon — ports and ranges joined
// by +: 10.0.0.0/8, 127.0.0.1/32:8090, 192.168.1.7:8080+8443, 10.1.0.0/16:8000-8099,
// fd00::/8:443, [::1]:8090 (an IPv6 address with ports is bracketed, or written as a /128). Its
// error is a *setting.Error naming the variable and the entry.
func ParseNetworks(s string) ([]Network, error) {
	var out []Network
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		n, err := parseNetwork(f)
		if err != nil {
			return nil, setting.Errorf("DELIVERY_ALLOW_NETWORKS", s,
				"%q: %v; want CIDRs or addresses, with ports if need be, such as 10.0.0.0/8 or 127.0.0.1/32:8090+9000-9099", f, err)
		}
		out = append(out, n)
	}
	return out, nil
}

func parseNetwork(f string) (Network, error) {
	addr, bits, ports, hasPorts := f, "", "", false
	switch slash := strings.IndexByte(f, '/'); {
	case slash >= 0:
		addr = strings.TrimSuffix(strings.TrimPrefix(f[:slash], "["), "]")
		bits, ports, hasPorts = strings.Cut(f[slash+1:], ":")
	case strings.HasPrefix(f, "["):
		end := strings.IndexByte(f, ']')
		if end < 0 {
			return Network{}, errors.New("no closing ]")
		}
		addr = f[1:end]
		if rest := f[end+1:]; rest != "" {
			if ports, hasPorts = strings.CutPrefix(rest, ":"); !hasPorts {
				return Network{}, errors.New("ports follow a colon")
			}
		}
	case strings.Count(f, ":") == 1: // IPv4 with ports
		addr, ports, hasPorts = strings.Cut(f, ":")
	}
	a, err := netip.ParseAddr(addr)
	if err != nil {
		return Network{}, errors.New("not an IP address")
	}
	p := netip.PrefixFrom(a, a.BitLen())
	if strings.Contains(f, "/") {
		if p, err = netip.ParsePrefix(a.String() + "/" + bits); err != nil {
			return Network{}, errors.New("not a prefix length")
		}
	}
	n := Network{Prefix: p.Masked()}
	if !hasPorts {
		return n, nil
	}
	for _, r := range strings.Split(ports, "+") {
		from, to, isRange := strings.Cut(r, "-")
		lo, err1 := strconv.ParseUint(from, 10, 16)
		hi, err2 := lo, error(nil)
		if isRange {
			hi, err2 = strconv.ParseUint(to, 10, 16)
		}
		if err1 != nil || err2 != nil || lo == 0 || hi < lo {
			return Network{}, fmt.Errorf("port %q: want 1 to 65535, or a range such as 8000-8099", r)
		}
		n.Ports = append(n.Ports, PortRange{uint16(lo), uint16(hi)})
	}
	return n, nil
}

// guard decides, at connect time (after DNS resolution), whether an address may be reached.
type guard struct {
	networks     []Network
	onlyNetworks bool           // plain http: nothing but the networks
	public       *ssrf.Guardian // the special-purpose address tables, any port
}

// control is a net.Dialer's Control: it refuses what the rules refuse, with an error that
// errors.Is ssrf's (so it classifies as destination_not_allowed).
func (g guard) control(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ssrf.ErrInvalidHostPort, address)
	}
	inside := false
	for _, n := range g.networks {
		if n.Prefix.Contains(ap.Addr()) {
			if n.allows(ap.Port()) {
				return nil
			}
			inside = true
		}
	}
	switch {
	case inside:
		return fmt.Errorf("%w: %s is inside DELIVERY_ALLOW_NETWORKS but not on port %d", ssrf.ErrProhibitedPort, ap.Addr(), ap.Port())
	case g.onlyNetworks:
		return fmt.Errorf("%w: %s is outside DELIVERY_ALLOW_NETWORKS, the only networks plain http may reach", ssrf.ErrProhibitedIP, ap.Addr())
	case slices.Contains(DeniedPorts, ap.Port()):
		return fmt.Errorf("%w: %d is a database, mail or control-plane port", ssrf.ErrProhibitedPort, ap.Port())
	}
	return g.public.Safe(network, address, nil)
}
