package domains

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"time"
)

// TXTPrefix is the label under which a domain's TXT token lives:
// _portico.<domain>.
const TXTPrefix = "_portico."

// DefaultCheckTimeout bounds one check of one domain (both lookups).
const DefaultCheckTimeout = 10 * time.Second

// maxCNAMEHops is how far a CNAME chain is followed.
const maxCNAMEHops = 8

// Verifier proves through DNS that whoever controls a domain's records
// pointed it at a reseller: a TXT record _portico.<domain> holding the
// domain's token, or a CNAME (possibly through other aliases) to
// <slug>.<base_domain>.
type Verifier struct {
	resolver   Resolver
	baseDomain string
	timeout    time.Duration
}

// NewVerifier checks with resolver; timeout bounds one check
// (DefaultCheckTimeout when zero).
func NewVerifier(resolver Resolver, baseDomain string, timeout time.Duration) *Verifier {
	if timeout <= 0 {
		timeout = DefaultCheckTimeout
	}
	return &Verifier{resolver: resolver, baseDomain: baseDomain, timeout: timeout}
}

// Result is the outcome of one check.
type Result struct {
	Verified bool
	// Message says in words what DNS showed: "verified by TXT record",
	// "TXT record not found; CNAME points to x.example".
	Message string
}

// CNAMETarget is where a reseller's custom domains may point.
func CNAMETarget(slug, baseDomain string) string { return slug + "." + baseDomain }

// outcome is what one of the two methods found.
type outcome struct {
	ok, timedOut bool
	message      string
}

// Check looks for the token at _portico.<host> and for a CNAME from host
// to the reseller's own address, both at once; either one verifies.
func (v *Verifier) Check(ctx context.Context, host, token, slug string) Result {
	ctx, cancel := context.WithTimeout(ctx, v.timeout)
	defer cancel()
	var txt, cname outcome
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); txt = v.checkTXT(ctx, host, token) }()
	go func() { defer wg.Done(); cname = v.checkCNAME(ctx, host, CNAMETarget(slug, v.baseDomain)) }()
	wg.Wait()
	switch {
	case txt.ok:
		return Result{Verified: true, Message: txt.message}
	case cname.ok:
		return Result{Verified: true, Message: cname.message}
	case txt.timedOut && cname.timedOut:
		return Result{Message: "DNS did not answer in time"}
	}
	return Result{Message: txt.message + "; " + cname.message}
}

func (v *Verifier) checkTXT(ctx context.Context, host, token string) outcome {
	records, err := v.resolver.LookupTXT(ctx, TXTPrefix+host)
	if err != nil {
		return failed("TXT", "TXT record not found", err)
	}
	for _, r := range records {
		if strings.TrimSpace(strings.Trim(strings.TrimSpace(r), `"`)) == token {
			return outcome{ok: true, message: "verified by TXT record"}
		}
	}
	return outcome{message: "TXT record holds a different value"}
}

func (v *Verifier) checkCNAME(ctx context.Context, host, want string) outcome {
	current, first := host, ""
	for range maxCNAMEHops {
		target, err := v.resolver.LookupCNAME(ctx, current)
		if err != nil && first == "" {
			return failed("CNAME", "no CNAME record", err)
		}
		target = normalize(target)
		if err != nil || target == "" || target == current {
			break // the end of the chain (a *net.Resolver answers the name itself)
		}
		if target == want {
			return outcome{ok: true, message: "verified by CNAME to " + want}
		}
		if first == "" {
			first = target
		}
		current = target
	}
	if first == "" {
		return outcome{message: "no CNAME record"}
	}
	return outcome{message: "CNAME points to " + first}
}

// failed words a lookup error: not found, timed out, or failed.
func failed(kind, notFound string, err error) outcome {
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &dnsErr) && dnsErr.IsNotFound:
		return outcome{message: notFound}
	case errors.As(err, &dnsErr) && dnsErr.IsTimeout, errors.Is(err, context.DeadlineExceeded):
		return outcome{timedOut: true, message: kind + " lookup timed out"}
	}
	return outcome{message: kind + " lookup failed (DNS server error)"}
}

func normalize(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }
