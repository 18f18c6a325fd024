package app

import (
	"context"
	"io"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"portico/app/actor"
	"portico/store"
)

// BenchmarkAPIAuthorize is POST /calls/authorize over loopback HTTP into
// a durable store (fsync on), every request a new call that reserves
// credit, from 64 concurrent requesters; the in-process counterpart of
// `go run ./bench calls`, for profiling the whole request:
//
//	go test ./app -run '^$' -bench APIAuthorize -benchtime 5s -cpuprofile /tmp/cpu.out
func BenchmarkAPIAuthorize(b *testing.B) {
	ts := newDurableTestServer(b)
	ts.app.api.perKeyCalls = newKeyLimiter(math.MaxInt32, time.Minute, ts.clock.Now) // measure the server, not the limit
	r := ts.reseller("acme")
	if _, err := ts.app.calls.ImportRates(r, []byte("prefix,description,rate_per_minute,increment\n1,US,0.0100,60/60\n"), actor.Actor{Name: "bench"}); err != nil {
		b.Fatal(err)
	}
	cleo := ts.cleo()
	if err := ts.store.Update(func(tx *store.Tx) error {
		_, _, err := tx.GrantCredit(r.ID, cleo.ID, 1e15, "", "", "bench", "")
		return err
	}); err != nil {
		b.Fatal(err)
	}
	key, err := ts.app.clients.CreateKey(r.ID, cleo.ID, "bench", actor.Actor{Name: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	var seq atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64, DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, network, ts.addr)
	}}}
	url := ts.url(acmeHost, "/api/v1/calls/authorize")
	b.SetParallelism(32) // 64 requesters on 2 CPUs, like wrk -c64
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			body := `{"call_id":"b-` + strconv.FormatInt(seq.Add(1), 10) + `","direction":"outbound","from":"+14155550100","to":"+12125550100"}`
			req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+key.Secret)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			data, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || !strings.Contains(string(data), `"allow":true`) {
				b.Errorf("status %d: %s", resp.StatusCode, data)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "authorisations/s")
}
