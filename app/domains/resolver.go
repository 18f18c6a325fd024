package domains

import (
	"context"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// Resolver answers the two DNS questions a check asks. *net.Resolver
// satisfies it; DNS asks given servers directly and is what Portico uses.
// Errors are *net.DNSError: IsNotFound when the name or the record does not
// exist, IsTimeout when no answer came in time.
type Resolver interface {
	// LookupTXT returns the TXT records of name, each record's strings
	// joined.
	LookupTXT(ctx context.Context, name string) ([]string, error)
	// LookupCNAME returns the target of host's CNAME record. (A
	// *net.Resolver returns the end of the chain, or host itself when it
	// has no CNAME; checks accept both.)
	LookupCNAME(ctx context.Context, host string) (string, error)
}

// DNS asks its servers directly, over UDP and then TCP when an answer is
// truncated. Unlike the system resolver's LookupCNAME, it returns one hop
// of a CNAME chain, so a check can tell where a name points even when
// <slug>.<base_domain> itself is an alias.
type DNS struct {
	servers []string
	timeout time.Duration
}

// DefaultQueryTimeout bounds one query to one server.
const DefaultQueryTimeout = 3 * time.Second

// NewDNS asks the servers ("127.0.0.1:53", "[::1]:53") in order, each
// query bounded by timeout (DefaultQueryTimeout when zero).
func NewDNS(timeout time.Duration, servers ...string) *DNS {
	if timeout <= 0 {
		timeout = DefaultQueryTimeout
	}
	return &DNS{servers: servers, timeout: timeout}
}

// SystemResolver asks the name servers of /etc/resolv.conf, or the Go
// resolver where that file is missing.
func SystemResolver() Resolver {
	conf, err := dns.ClientConfigFromFile("/etc/resolv.conf")
	if err != nil || len(conf.Servers) == 0 {
		return net.DefaultResolver
	}
	servers := make([]string, len(conf.Servers))
	for i, s := range conf.Servers {
		servers[i] = net.JoinHostPort(s, conf.Port)
	}
	return NewDNS(DefaultQueryTimeout, servers...)
}

// LookupTXT implements Resolver.
func (d *DNS) LookupTXT(ctx context.Context, name string) ([]string, error) {
	r, err := d.query(ctx, name, dns.TypeTXT)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, rr := range r.Answer {
		if txt, ok := rr.(*dns.TXT); ok { // a recursive server may have followed a CNAME to it
			out = append(out, strings.Join(txt.Txt, ""))
		}
	}
	if len(out) == 0 {
		return nil, notFound(name)
	}
	return out, nil
}

// LookupCNAME implements Resolver: the target of host's own CNAME record.
func (d *DNS) LookupCNAME(ctx context.Context, host string) (string, error) {
	r, err := d.query(ctx, host, dns.TypeCNAME)
	if err != nil {
		return "", err
	}
	for _, rr := range r.Answer {
		if c, ok := rr.(*dns.CNAME); ok && strings.EqualFold(c.Hdr.Name, dns.Fqdn(host)) {
			return c.Target, nil
		}
	}
	return "", notFound(host)
}

// query asks each server in turn until one gives a definite answer (the
// records, or that there are none).
func (d *DNS) query(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m := new(dns.Msg)
	m.SetQuestion(dns.Fqdn(name), qtype)
	m.SetEdns0(1232, false)
	var last error = &net.DNSError{Err: "no name servers", Name: name}
	for _, server := range d.servers {
		r, err := d.exchange(ctx, m, server)
		switch {
		case err != nil:
			last = asDNSError(err, name, server)
			if ctx.Err() != nil {
				return nil, last
			}
		case r.Rcode == dns.RcodeNameError:
			return nil, notFound(name)
		case r.Rcode == dns.RcodeSuccess:
			return r, nil
		default:
			last = &net.DNSError{Err: "server answered " + dns.RcodeToString[r.Rcode], Name: name, Server: server,
				IsTemporary: r.Rcode == dns.RcodeServerFailure}
		}
	}
	return nil, last
}

func (d *DNS) exchange(ctx context.Context, m *dns.Msg, server string) (*dns.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	r, _, err := (&dns.Client{Net: "udp", Timeout: d.timeout}).ExchangeContext(ctx, m, server)
	if err == nil && r.Truncated {
		r, _, err = (&dns.Client{Net: "tcp", Timeout: d.timeout}).ExchangeContext(ctx, m, server)
	}
	return r, err
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such record", Name: name, IsNotFound: true}
}

func asDNSError(err error, name, server string) error {
	var netErr net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &netErr) && netErr.Timeout() {
		return &net.DNSError{Err: "no answer in time", Name: name, Server: server, IsTimeout: true}
	}
	return &net.DNSError{Err: err.Error(), Name: name, Server: server, IsTemporary: true}
}
