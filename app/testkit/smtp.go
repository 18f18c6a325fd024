package testkit

import (
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// ServeSMTP serves be as a real SMTP server (no TLS) on a loopback port
// until the test ends, and returns the host and port to send to.
func ServeSMTP(t testing.TB, be smtp.Backend) (host string, port int) {
	t.Helper()
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	host, p, _ := net.SplitHostPort(ln.Addr().String())
	port, err = strconv.Atoi(p)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}
