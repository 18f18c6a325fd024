package main

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"
)

// `go run ./bench memory`: the server's resident memory (RSS) under the
// loads that once grew it without bound — parallel image uploads, parallel
// oversized bodies, parallel client creates (argon2id hashes) — and what
// it keeps once the load has stopped. It reports; it asserts nothing.

type memoryOptions struct {
	bin      string
	settle   time.Duration
	uploads  int
	bodies   int
	creates  int
	requests int
	keep     bool
}

// memoryTarget is the peak RSS each load should stay under.
const memoryTarget = 300 << 10 // kB

func mainMemory(args []string) error {
	var o memoryOptions
	fs := flag.NewFlagSet("bench memory", flag.ContinueOnError)
	fs.StringVar(&o.bin, "bin", "", "measure this portico binary instead of building the working tree (e.g. one built from main)")
	fs.DurationVar(&o.settle, "settle", time.Minute, "how long after the load stops the settled RSS is read")
	fs.IntVar(&o.uploads, "uploads", 20, "parallel avatar uploads")
	fs.IntVar(&o.bodies, "bodies", 20, "parallel 16 MiB bodies")
	fs.IntVar(&o.creates, "creates", 32, "parallel client creates")
	fs.IntVar(&o.requests, "requests", 3, "requests each parallel worker makes, one after another")
	fs.BoolVar(&o.keep, "keep", false, "keep the temp dir")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if o.settle < 0 || o.settle > 10*time.Minute || o.requests < 1 || o.requests > 20 {
		return errors.New("-settle must be within 0–10m and -requests within 1–20")
	}
	cleanUpOnInterrupt()
	root, tmp, err := workspace("", o.keep, "portico-bench-memory-")
	if err != nil {
		return err
	}
	defer removeTemp()
	load := loadAvg()
	fmt.Printf("portico bench memory: %d CPUs, %s, load average %s\n", runtime.NumCPU(), runtime.Version(), load)
	if busy(load) {
		fmt.Println("WARNING: the machine is busy: loads take longer, peaks may differ")
	}
	bin := o.bin
	if bin == "" {
		if bin, err = buildPortico(root, tmp); err != nil {
			return err
		}
	}

	// A reseller key, made before the server holds the store's lock; the
	// same command's first start prints the owner's credentials.
	dataDir := filepath.Join(tmp, "srv")
	if err := os.MkdirAll(filepath.Join(dataDir, "data"), 0o700); err != nil {
		return err
	}
	mk := exec.Command(bin, "--store", filepath.Join(dataDir, "data", "portico.db"), "apikey", "create", "--reseller", "demo", "--name", "bench")
	mk.Dir = dataDir
	out, err := mk.CombinedOutput()
	if err != nil {
		return fmt.Errorf("apikey create: %v\n%s", err, out)
	}
	key := regexp.MustCompile(`pk_[a-z0-9]+_[A-Za-z0-9_-]+`).Find(out)
	if key == nil {
		return fmt.Errorf("no API key in:\n%s", out)
	}
	env := []string{"PORTICO_API__REQUESTS_PER_MINUTE=1000000"} // measure memory, not the per-key limit

	tiny := bigFlatPNG(4096, 4096, false) // the probe: a small file that declares 4096 × 4096
	deep := bigFlatPNG(2048, 2048, true)  // the largest the capped code accepts: 2048 × 2048 at 16 bits a channel
	fmt.Printf("images: %d × %d PNG of %d bytes; %d × %d 16-bit PNG of %d bytes\n", 4096, 4096, len(tiny), 2048, 2048, len(deep))

	loads := []struct {
		name string
		run  func(p *process, h string) (map[int]int, error)
	}{
		{fmt.Sprintf("%d parallel avatar uploads, 4096×4096 PNG", o.uploads), func(p *process, h string) (map[int]int, error) {
			return uploadAvatars(p, h, string(key), tiny, o.uploads, o.requests)
		}},
		{fmt.Sprintf("%d parallel avatar uploads, 2048×2048 16-bit PNG", o.uploads), func(p *process, h string) (map[int]int, error) {
			return uploadAvatars(p, h, string(key), deep, o.uploads, o.requests)
		}},
		{fmt.Sprintf("%d parallel 16 MiB bodies, POST /healthz, unknown host", o.bodies), func(p *process, h string) (map[int]int, error) {
			return sendBodies(p, 16<<20, o.bodies, o.requests)
		}},
		{fmt.Sprintf("%d parallel client creates, POST /api/v1/clients", o.creates), func(p *process, h string) (map[int]int, error) {
			return createClients(p, h, string(key), o.creates, o.requests)
		}},
	}
	type row struct {
		name                       string
		statuses                   map[int]int
		took                       time.Duration
		before, peak, end, settled int64
	}
	var rows []row
	for i, l := range loads {
		srv, err := startPortico(bin, dataDir, env...)
		if err != nil {
			return err
		}
		host := "localhost:" + srv.port()
		if i == 0 {
			if err := prepareAvatarUser(srv, host, string(key)); err != nil {
				srv.stop()
				return err
			}
		}
		time.Sleep(500 * time.Millisecond) // start-up garbage collected, as far as it goes
		r := row{name: l.name, before: srv.rss()}
		fmt.Printf("\n== %s (VmRSS before %s)\n", l.name, kB(r.before))
		t0 := time.Now()
		r.statuses, err = l.run(srv, host)
		r.took = time.Since(t0)
		if err != nil {
			srv.stop()
			return fmt.Errorf("%s: %w", l.name, err)
		}
		r.end, r.peak = srv.rss(), readStatus(srv.pid(), "VmHWM")
		fmt.Printf("  took %s, statuses %v; peak VmHWM %s, VmRSS at the end %s; settling %s\n", r.took.Round(time.Millisecond), r.statuses, kB(r.peak), kB(r.end), o.settle)
		time.Sleep(o.settle)
		r.settled = srv.rss()
		srv.stop()
		rows = append(rows, r)
	}

	fmt.Printf("\n| load | replies | took | RSS before | peak RSS (VmHWM) | RSS at end | RSS %s later |\n|---|---|---|---|---|---|---|\n", o.settle)
	for _, r := range rows {
		mark := "ok"
		if r.peak > memoryTarget {
			mark = "OVER"
		}
		fmt.Printf("| %s | %s | %s | %s | %s %s | %s | %s |\n", r.name, fmtStatuses(r.statuses), r.took.Round(100*time.Millisecond),
			kB(r.before), kB(r.peak), mark, kB(r.end), kB(r.settled))
	}
	fmt.Printf("target: peak under %d MB for each load (reported, not asserted)\n", memoryTarget>>10)
	return nil
}

func fmtStatuses(m map[int]int) string {
	var codes []int
	for c := range m {
		codes = append(codes, c)
	}
	sort.Ints(codes)
	var parts []string
	for _, c := range codes {
		label := fmt.Sprint(c)
		if c == 0 {
			label = "conn. error"
		}
		parts = append(parts, fmt.Sprintf("%d× %s", m[c], label))
	}
	return strings.Join(parts, ", ")
}

// bigFlatPNG is a one-colour PNG: a small file that decodes to a large
// bitmap (NRGBA, or NRGBA64 when deep).
func bigFlatPNG(w, h int, deep bool) []byte {
	var img image.Image
	if deep {
		m := image.NewNRGBA64(image.Rect(0, 0, w, h))
		for i := range m.Pix {
			m.Pix[i] = 0x80
		}
		m.SetNRGBA64(0, 0, color.NRGBA64{1, 2, 3, 0xffff})
		img = m
	} else {
		m := image.NewNRGBA(image.Rect(0, 0, w, h))
		for i := range m.Pix {
			m.Pix[i] = 0x80
		}
		img = m
	}
	var buf bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestCompression}).Encode(&buf, img); err != nil {
		panic(err)
	}
	return buf.Bytes()
}

// memUser is the client owner whose avatar the upload loads set.
const (
	memUser     = "mem.bench"
	memPassword = "Bench-Passw0rd!x"
)

var memSession string

// prepareAvatarUser creates a client through the API and signs its owner
// in, once per run (the session lives in the store across restarts).
func prepareAvatarUser(p *process, host, key string) error {
	status, body, err := apiPost(p.addr, host, key, "/api/v1/clients", clientBody(memUser))
	if err != nil || status != http.StatusCreated {
		return fmt.Errorf("create the upload user: %d %v %s", status, err, body)
	}
	memSession, err = newClient(p.addr, host).signIn(memUser+"@example.com", memPassword)
	if err != nil {
		return fmt.Errorf("sign in the upload user: %w", err)
	}
	return nil
}

func clientBody(username string) string {
	return fmt.Sprintf(`{"username":%q,"first_name":"Mem","last_name":"Bench","email":"%s@example.com",`+
		`"phone":"(415) 555-2671","country":"us","company":"Bench Co","password":%q}`, username, username, memPassword)
}

func apiPost(addr, host, key, path, body string) (int, string, error) {
	req, err := http.NewRequest(http.MethodPost, "http://"+addr+path, strings.NewReader(body))
	if err != nil {
		return 0, "", err
	}
	req.Host = host
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := (&http.Client{Timeout: 2 * time.Minute}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(data), nil
}

// parallel runs workers × requests calls of one, workers at a time, and
// counts the statuses (0 for a connection error).
func parallel(workers, requests int, one func(worker, i int) int) map[int]int {
	var mu sync.Mutex
	counts := map[int]int{}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for i := range requests {
				s := one(w, i)
				mu.Lock()
				counts[s]++
				mu.Unlock()
			}
		}()
	}
	close(start)
	wg.Wait()
	return counts
}

func uploadAvatars(p *process, host, key string, img []byte, workers, requests int) (map[int]int, error) {
	c := newClient(p.addr, host)
	page, err := c.do(http.MethodGet, "/settings?tab=profile", nil, map[string]string{sessionCookie: memSession})
	if err != nil {
		return nil, err
	}
	m := csrfInput.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		return nil, fmt.Errorf("GET /settings signed in: %d, csrf found %v", page.status, m != nil)
	}
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	_ = w.WriteField("_csrf", m[1])
	part, _ := w.CreateFormFile("avatar", "big.png")
	_, _ = part.Write(img)
	_ = w.Close()
	hc := &http.Client{Timeout: 2 * time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return parallel(workers, requests, func(int, int) int {
		req, _ := http.NewRequest(http.MethodPost, "http://"+p.addr+"/settings/avatar", bytes.NewReader(body.Bytes()))
		req.Host = host
		req.Header.Set("Content-Type", w.FormDataContentType())
		req.AddCookie(&http.Cookie{Name: sessionCookie, Value: memSession})
		resp, err := hc.Do(req)
		if err != nil {
			return 0
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode
	}), nil
}

// sendBodies posts size bytes to /healthz on a host no reseller has, over
// raw connections: the whole body is offered whether or not the server
// reads it.
func sendBodies(p *process, size, workers, requests int) (map[int]int, error) {
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	return parallel(workers, requests, func(int, int) int {
		conn, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
		if err != nil {
			return 0
		}
		defer conn.Close()
		_ = conn.SetDeadline(time.Now().Add(2 * time.Minute))
		fmt.Fprintf(conn, "POST /healthz HTTP/1.1\r\nHost: nobody.invalid\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\n\r\n", size)
		done := make(chan int, 1)
		go func() {
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				done <- 0
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			done <- resp.StatusCode
		}()
		for sent := 0; sent < size; sent += len(chunk) {
			if _, err := conn.Write(chunk[:min(len(chunk), size-sent)]); err != nil {
				break // refused before it was all read
			}
		}
		return <-done
	}), nil
}

var createSeq struct {
	sync.Mutex
	n int
}

func createClients(p *process, host, key string, workers, requests int) (map[int]int, error) {
	return parallel(workers, requests, func(int, int) int {
		createSeq.Lock()
		createSeq.n++
		name := fmt.Sprintf("load%05d", createSeq.n)
		createSeq.Unlock()
		status, _, err := apiPost(p.addr, host, key, "/api/v1/clients", clientBody(name))
		if err != nil {
			return 0
		}
		return status
	}), nil
}
