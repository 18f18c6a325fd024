// Package dnstest runs a real DNS server on loopback (UDP and TCP on one
// port) that answers from a zone the test edits while it runs, so domain
// checks go through real DNS messages. Only tests import it.
package dnstest

import (
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/miekg/dns"
)

// Server is an authoritative-style server for whatever names the test
// sets. A name with no records is NXDOMAIN; a name with records of other
// types answers no data.
type Server struct {
	// Addr is 127.0.0.1:port, for domains.NewDNS.
	Addr string

	mu       sync.Mutex
	records  map[string][]dns.RR // lower-case FQDN → records
	drop     map[string]bool     // never answered
	fail     map[string]bool     // SERVFAIL
	truncate map[string]bool     // truncated over UDP, whole over TCP
	queries  int
}

// Start runs a server until the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s := &Server{records: map[string][]dns.RR{}, drop: map[string]bool{}, fail: map[string]bool{}, truncate: map[string]bool{}}
	var (
		pc  net.PacketConn
		ln  net.Listener
		err error
	)
	for range 20 { // the UDP port may be taken for TCP by another test: try another
		if pc, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		if ln, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			break
		}
		pc.Close()
	}
	if err != nil {
		t.Fatalf("dnstest: no UDP and TCP port pair: %v", err)
	}
	s.Addr = pc.LocalAddr().String()
	for _, srv := range []*dns.Server{{PacketConn: pc, Handler: s}, {Listener: ln, Handler: s}} {
		started := make(chan struct{})
		srv.NotifyStartedFunc = func() { close(started) }
		go srv.ActivateAndServe()
		<-started
		t.Cleanup(func() { srv.Shutdown() })
	}
	return s
}

func key(name string) string { return strings.ToLower(dns.Fqdn(name)) }

// SetTXT replaces name's TXT records; no values removes them.
func (s *Server) SetTXT(name string, values ...string) {
	var rrs []dns.RR
	for _, v := range values {
		rrs = append(rrs, &dns.TXT{Hdr: header(name, dns.TypeTXT), Txt: []string{v}})
	}
	s.set(name, dns.TypeTXT, rrs)
}

// SetCNAME points name at target; an empty target removes it.
func (s *Server) SetCNAME(name, target string) {
	var rrs []dns.RR
	if target != "" {
		rrs = []dns.RR{&dns.CNAME{Hdr: header(name, dns.TypeCNAME), Target: dns.Fqdn(target)}}
	}
	s.set(name, dns.TypeCNAME, rrs)
}

// SetA gives name an address (so that it exists without a CNAME).
func (s *Server) SetA(name, ip string) {
	s.set(name, dns.TypeA, []dns.RR{&dns.A{Hdr: header(name, dns.TypeA), A: net.ParseIP(ip)}})
}

// Drop makes the server ignore every question about name.
func (s *Server) Drop(name string) { s.mu.Lock(); s.drop[key(name)] = true; s.mu.Unlock() }

// Fail makes the server answer SERVFAIL for name.
func (s *Server) Fail(name string) { s.mu.Lock(); s.fail[key(name)] = true; s.mu.Unlock() }

// Truncate makes UDP answers for name truncated (empty, TC set), so
// clients must ask again over TCP.
func (s *Server) Truncate(name string) { s.mu.Lock(); s.truncate[key(name)] = true; s.mu.Unlock() }

// Queries counts the questions received.
func (s *Server) Queries() int { s.mu.Lock(); defer s.mu.Unlock(); return s.queries }

func header(name string, rrtype uint16) dns.RR_Header {
	return dns.RR_Header{Name: key(name), Rrtype: rrtype, Class: dns.ClassINET, Ttl: 60}
}

func (s *Server) set(name string, rrtype uint16, rrs []dns.RR) {
	s.mu.Lock()
	defer s.mu.Unlock()
	k := key(name)
	var keep []dns.RR
	for _, rr := range s.records[k] {
		if rr.Header().Rrtype != rrtype {
			keep = append(keep, rr)
		}
	}
	s.records[k] = append(keep, rrs...)
}

// ServeDNS answers one question from the zone.
func (s *Server) ServeDNS(w dns.ResponseWriter, req *dns.Msg) {
	if len(req.Question) != 1 {
		return
	}
	q := req.Question[0]
	name := key(q.Name)
	s.mu.Lock()
	s.queries++
	drop, fail, truncate := s.drop[name], s.fail[name], s.truncate[name]
	all := append([]dns.RR(nil), s.records[name]...)
	s.mu.Unlock()
	if drop {
		return
	}
	m := new(dns.Msg)
	m.SetReply(req)
	m.Authoritative = true
	_, udp := w.RemoteAddr().(*net.UDPAddr)
	switch {
	case fail:
		m.Rcode = dns.RcodeServerFailure
	case truncate && udp:
		m.Truncated = true
	case len(all) == 0:
		m.Rcode = dns.RcodeNameError
	default:
		m.Answer = s.answer(all, q.Qtype)
	}
	_ = w.WriteMsg(m)
}

// answer picks the records of qtype; for other types it follows a CNAME
// through the zone, as an authoritative server does.
func (s *Server) answer(rrs []dns.RR, qtype uint16) []dns.RR {
	var out []dns.RR
	for range 8 {
		var next string
		for _, rr := range rrs {
			switch {
			case rr.Header().Rrtype == qtype:
				out = append(out, rr)
			case rr.Header().Rrtype == dns.TypeCNAME:
				out = append(out, rr)
				next = rr.(*dns.CNAME).Target
			}
		}
		if next == "" {
			return out
		}
		s.mu.Lock()
		rrs = append([]dns.RR(nil), s.records[key(next)]...)
		s.mu.Unlock()
	}
	return out
}
