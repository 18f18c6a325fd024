package main

import (
	"context"
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// wrkResult is what one wrk run reports.
type wrkResult struct {
	rps          float64
	p50          time.Duration
	p99          time.Duration
	requests     int64
	non2xx       int64
	socketErrors int64
	output       string
}

var (
	wrkRPS      = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP50      = regexp.MustCompile(`(?m)^\s*50%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	wrkP99      = regexp.MustCompile(`(?m)^\s*99%\s+([0-9.]+)(us|ms|s|m)\s*$`)
	wrkRequests = regexp.MustCompile(`(\d+) requests in`)
	wrkNon2xx   = regexp.MustCompile(`Non-2xx or 3xx responses:\s+(\d+)`)
	wrkSocket   = regexp.MustCompile(`Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)`)
)

// runWrk loads url for d with wrk --latency; host and cookie, when set,
// are sent as headers on every request.
func runWrk(bin, url, host, cookie string, d time.Duration, threads, conns int) (wrkResult, error) {
	var extra []string
	if host != "" {
		extra = append(extra, "-H", "Host: "+host)
	}
	if cookie != "" {
		extra = append(extra, "-H", "Cookie: "+cookie)
	}
	return runWrkArgs(bin, url, extra, d, threads, conns)
}

// runWrkArgs runs wrk --latency with extra arguments (headers, -s script).
func runWrkArgs(bin, url string, extra []string, d time.Duration, threads, conns int) (wrkResult, error) {
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conns),
		"-d" + strconv.Itoa(int(d.Round(time.Second).Seconds())) + "s", "--timeout", "5s", "--latency"}
	args = append(args, extra...)
	args = append(args, url)
	ctx, cancel := context.WithTimeout(context.Background(), d+30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.SysProcAttr = childAttr()
	out, err := cmd.CombinedOutput()
	res := wrkResult{output: string(out)}
	if err != nil {
		return res, fmt.Errorf("wrk %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	m := wrkRPS.FindStringSubmatch(res.output)
	p := wrkP99.FindStringSubmatch(res.output)
	n := wrkRequests.FindStringSubmatch(res.output)
	if m == nil || p == nil || n == nil {
		return res, fmt.Errorf("wrk output not understood:\n%s", out)
	}
	res.rps, _ = strconv.ParseFloat(m[1], 64)
	v, _ := strconv.ParseFloat(p[1], 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}[p[2]]
	res.p99 = time.Duration(v * float64(unit))
	if p := wrkP50.FindStringSubmatch(res.output); p != nil {
		v, _ := strconv.ParseFloat(p[1], 64)
		unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}[p[2]]
		res.p50 = time.Duration(v * float64(unit))
	}
	res.requests, _ = strconv.ParseInt(n[1], 10, 64)
	if x := wrkNon2xx.FindStringSubmatch(res.output); x != nil {
		res.non2xx, _ = strconv.ParseInt(x[1], 10, 64)
	}
	if x := wrkSocket.FindStringSubmatch(res.output); x != nil {
		for _, s := range x[1:] {
			v, _ := strconv.ParseInt(s, 10, 64)
			res.socketErrors += v
		}
	}
	return res, nil
}
