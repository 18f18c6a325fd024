package certs_test

import (
	"crypto/tls"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"portico/app/certs"
)

// BenchmarkHandshake compares full TLS handshakes per second with an
// already-issued certificate served through the on-demand path (the
// Manager's tls.Config: certmagic's cache lookup and handshake
// maintenance) against a plain tls.Config holding the same certificate.
// The two alternate handshake by handshake in one run, so that the noise
// of a shared machine falls on both alike. Rates are from the median
// handshake time (one client, sequential, full handshakes without
// resumption, client and server on the same two cores); "ratio" is
// on-demand / plain (target ≥ 0.8).
func BenchmarkHandshake(b *testing.B) {
	const name = "bench.example"
	e := newEnv(b, allowOnly(name), func(o *certs.Options) {
		// Production logs at info: the per-handshake debug lines of the
		// cache path are not written.
		o.Log = slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	e.serveHTTPS(http.NotFoundHandler())
	if _, err := e.handshake(name); err != nil { // issues the certificate
		b.Fatal(err)
	}
	cert, err := e.mgr.TLSConfig().GetCertificate(&tls.ClientHelloInfo{ServerName: name})
	if err != nil {
		b.Fatal(err)
	}
	plainLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	plain := &http.Server{Handler: http.NotFoundHandler(), ErrorLog: log.New(io.Discard, "", 0)}
	go plain.Serve(tls.NewListener(plainLn, &tls.Config{
		Certificates: []tls.Certificate{*cert},
		NextProtos:   []string{"http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}))
	b.Cleanup(func() { plain.Close() })

	client := &tls.Config{ServerName: name, RootCAs: e.pebble.roots, NextProtos: []string{"h2", "http/1.1"}}
	handshake := func(addr string) time.Duration {
		start := time.Now()
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: handshakeTimeout}, "tcp", addr, client)
		if err != nil {
			b.Fatal(err)
		}
		took := time.Since(start)
		conn.Close()
		return took
	}
	// Warm both paths (connections, caches) before measuring.
	for range 20 {
		handshake(e.httpsAddr)
		handshake(plainLn.Addr().String())
	}

	var onDemand, plainTook []time.Duration
	for i := 0; b.Loop(); i++ {
		// Alternate which goes first, so neither always follows the other.
		if i%2 == 0 {
			onDemand = append(onDemand, handshake(e.httpsAddr))
			plainTook = append(plainTook, handshake(plainLn.Addr().String()))
		} else {
			plainTook = append(plainTook, handshake(plainLn.Addr().String()))
			onDemand = append(onDemand, handshake(e.httpsAddr))
		}
	}
	// Medians: a burst of another process's work on this shared machine
	// moves a mean, hardly a median.
	onDemandRate, plainRate := 1/median(onDemand).Seconds(), 1/median(plainTook).Seconds()
	b.ReportMetric(onDemandRate, "on-demand-handshakes/s")
	b.ReportMetric(plainRate, "plain-handshakes/s")
	b.ReportMetric(onDemandRate/plainRate, "ratio")
}

func median(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}
