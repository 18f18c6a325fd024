package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	loginPath     = "/login"
	consolePath   = "/reseller/activity"
	sessionCookie = "portico_session"
	anonCookie    = "portico_anon"
)

// children are the processes this harness started; killChildren ends
// them (by pid, each one) on every way out.
var (
	childrenMu sync.Mutex
	children   = map[int]*exec.Cmd{}
)

func track(cmd *exec.Cmd) {
	childrenMu.Lock()
	children[cmd.Process.Pid] = cmd
	childrenMu.Unlock()
}

func untrack(cmd *exec.Cmd) {
	childrenMu.Lock()
	delete(children, cmd.Process.Pid)
	childrenMu.Unlock()
}

func killChildren() {
	childrenMu.Lock()
	defer childrenMu.Unlock()
	for pid, cmd := range children {
		_ = cmd.Process.Kill()
		delete(children, pid)
	}
}

// childAttr makes the kernel kill the child should the harness die
// without cleaning up.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}

// freePort asks the kernel for a free loopback port.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// lockedBuffer collects a child's output.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() < 1<<20 { // enough for start-up output; never grows without bound
		b.buf.Write(p)
	}
	return len(p), nil
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// process is a started child: the real server or the ceiling.
type process struct {
	cmd     *exec.Cmd
	addr    string // 127.0.0.1:port
	stdout  *lockedBuffer
	stderr  *lockedBuffer
	exited  chan struct{}
	startup time.Duration // exec → first 200
	stdin   io.WriteCloser
}

func (p *process) pid() int               { return p.cmd.Process.Pid }
func (p *process) port() string           { _, port, _ := net.SplitHostPort(p.addr); return port }
func (p *process) url(path string) string { return "http://" + p.addr + path }

// start execs cmd and polls readyURL every 2 ms until it answers 200.
func start(cmd *exec.Cmd, addr, readyPath string) (*process, error) {
	p := &process{cmd: cmd, addr: addr, stdout: &lockedBuffer{}, stderr: &lockedBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	cmd.SysProcAttr = childAttr()
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	p.stdin = stdin
	client := &http.Client{Timeout: time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	t0 := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	track(cmd)
	go func() { _ = cmd.Wait(); close(p.exited) }()
	deadline := t0.Add(15 * time.Second)
	for {
		resp, err := client.Get("http://" + addr + readyPath)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				p.startup = time.Since(t0)
				return p, nil
			}
		}
		select {
		case <-p.exited:
			untrack(cmd)
			return nil, fmt.Errorf("%s exited before answering %s: %v\nstdout:\n%s\nstderr:\n%s", cmd.Path, readyPath, cmd.ProcessState, p.stdout, p.stderr)
		default:
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("%s did not answer 200 on %s within 15 s\nstderr:\n%s", cmd.Path, readyPath, p.stderr)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// stop asks the process to shut down and kills it after 5 s.
func (p *process) stop() {
	select {
	case <-p.exited:
		untrack(p.cmd)
		return
	default:
	}
	_ = p.stdin.Close()
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(5 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.exited
	}
	untrack(p.cmd)
}

func (p *process) rss() int64 { return readStatus(p.pid(), "VmRSS") }

// startPortico runs the real binary on a free loopback port with its
// store in dataDir, with defaults only: no config file and none of the
// caller's PORTICO_* variables, only the settings in env (KEY=value).
func startPortico(bin, dataDir string, env ...string) (*process, error) {
	addr, err := freePort()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--store", filepath.Join(dataDir, "data", "portico.db"), "--http", addr)
	cmd.Dir = dataDir
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PORTICO_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	return start(cmd, addr, "/healthz")
}

var (
	emailLine    = regexp.MustCompile(`(?m)^\s*Email:\s+(\S+)\s*$`)
	passwordLine = regexp.MustCompile(`(?m)^\s*Password:\s+(\S+)\s*$`)
)

// ownerCredentials reads the owner's first password from the first-start
// output (printed before the server listens).
func (p *process) ownerCredentials() (string, string, error) {
	out := p.stdout.String()
	e, pw := emailLine.FindStringSubmatch(out), passwordLine.FindStringSubmatch(out)
	if e == nil || pw == nil {
		return "", "", fmt.Errorf("no owner email and password in the first-start output:\n%s", out)
	}
	return e[1], pw[1], nil
}

// readStatus reads a kB field of /proc/<pid>/status; -1 when unknown.
func readStatus(pid int, field string) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return -1
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, field+":"); ok {
			f := strings.Fields(rest)
			if len(f) > 0 {
				v, err := strconv.ParseInt(f[0], 10, 64)
				if err == nil {
					return v
				}
			}
		}
	}
	return -1
}

// cpuTime is the user+system CPU time a process has used so far, from
// /proc/<pid>/stat (in clock ticks of 10 ms on Linux).
func cpuTime(pid int) time.Duration {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')') // the command name may hold spaces
	if i < 0 {
		return 0
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond
}

// client talks to the real server as a browser would, with the Host of
// the default reseller (localhost) and cookies handled by hand.
type client struct {
	addr string
	host string
	http *http.Client
}

func newClient(addr, host string) *client {
	return &client{addr: addr, host: host, http: &http.Client{
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

type reply struct {
	status  int
	body    string
	cookies map[string]string
	header  http.Header
}

func (c *client) do(method, path string, form url.Values, cookies map[string]string) (reply, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, "http://"+c.addr+path, body)
	if err != nil {
		return reply{}, err
	}
	req.Host = c.host
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range cookies {
		req.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	r := reply{status: resp.StatusCode, body: string(data), cookies: map[string]string{}, header: resp.Header}
	for _, ck := range resp.Cookies() {
		r.cookies[ck.Name] = ck.Value
	}
	return r, nil
}

// get fetches a page, with the session cookie when one is given.
func (c *client) get(path, session string) (string, int, error) {
	cookies := map[string]string{}
	if session != "" {
		cookies[sessionCookie] = session
	}
	r, err := c.do(http.MethodGet, path, nil, cookies)
	return r.body, r.status, err
}

var csrfInput = regexp.MustCompile(`name="_csrf" value="([^"]+)"`)

// signIn loads the form (anonymous cookie + CSRF token), posts the
// credentials and returns the session token.
func (c *client) signIn(email, password string) (string, error) {
	page, err := c.do(http.MethodGet, loginPath, nil, nil)
	if err != nil {
		return "", err
	}
	m := csrfInput.FindStringSubmatch(page.body)
	anon := page.cookies[anonCookie]
	if page.status != http.StatusOK || m == nil || anon == "" {
		return "", fmt.Errorf("GET %s: status %d, csrf found %v, %s cookie %q", loginPath, page.status, m != nil, anonCookie, anon)
	}
	r, err := c.do(http.MethodPost, loginPath, url.Values{"_csrf": {m[1]}, "email": {email}, "password": {password}},
		map[string]string{anonCookie: anon})
	if err != nil {
		return "", err
	}
	token := r.cookies[sessionCookie]
	if r.status != http.StatusSeeOther || token == "" {
		return "", fmt.Errorf("POST %s: status %d, location %q, session cookie set %v\n%s", loginPath, r.status, r.header.Get("Location"), token != "", r.body)
	}
	return token, nil
}

// signOut posts the console's sign-out form.
func (c *client) signOut(session string) error {
	page, err := c.do(http.MethodGet, "/reseller", nil, map[string]string{sessionCookie: session})
	if err != nil {
		return err
	}
	m := csrfInput.FindStringSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		return fmt.Errorf("GET /reseller signed in: status %d, csrf found %v", page.status, m != nil)
	}
	r, err := c.do(http.MethodPost, "/logout", url.Values{"_csrf": {m[1]}}, map[string]string{sessionCookie: session})
	if err != nil {
		return err
	}
	if r.status != http.StatusSeeOther {
		return fmt.Errorf("POST /logout: status %d\n%s", r.status, r.body)
	}
	return nil
}

// get fetches path from addr with an optional Host, failing unless 200.
func get(addr, host, path, cookie string) (string, error) {
	req, err := http.NewRequest(http.MethodGet, "http://"+addr+path, nil)
	if err != nil {
		return "", err
	}
	if host != "" {
		req.Host = host
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("GET %s: status %d", path, resp.StatusCode)
	}
	return string(data), nil
}

var tbody = regexp.MustCompile(`(?s)<tbody>(.*?)</tbody>`)

// tableRows counts the rows in the page's first table body.
func tableRows(page string) int {
	m := tbody.FindStringSubmatch(page)
	if m == nil {
		return 0
	}
	return strings.Count(m[1], "<tr")
}

// metricSet is a scrape of the Prometheus text format.
type metricSet []sample

type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var labelPair = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

func (p *process) metrics() (metricSet, error) {
	text, err := get(p.addr, "", "/metrics", "")
	if err != nil {
		return nil, fmt.Errorf("metrics: %w", err)
	}
	var set metricSet
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		s := sample{labels: map[string]string{}}
		rest := line
		if i := strings.IndexByte(line, '{'); i >= 0 {
			j := strings.LastIndexByte(line, '}')
			if j < i {
				continue
			}
			s.name = line[:i]
			for _, m := range labelPair.FindAllStringSubmatch(line[i+1:j], -1) {
				s.labels[m[1]] = m[2]
			}
			rest = strings.TrimSpace(line[j+1:])
		} else {
			f := strings.Fields(line)
			if len(f) < 2 {
				continue
			}
			s.name, rest = f[0], f[1]
		}
		v, err := strconv.ParseFloat(strings.Fields(rest)[0], 64)
		if err != nil {
			continue
		}
		s.value = v
		set = append(set, s)
	}
	if len(set) == 0 {
		return nil, errors.New("metrics: empty scrape")
	}
	return set, nil
}

// sum adds the samples of name whose labels include want.
func (m metricSet) sum(name string, want map[string]string) float64 {
	total := 0.0
	for _, s := range m {
		if s.name != name {
			continue
		}
		match := true
		for k, v := range want {
			if s.labels[k] != v {
				match = false
			}
		}
		if match {
			total += s.value
		}
	}
	return total
}

// value is sum for a metric expected once (0 when never observed).
func (m metricSet) value(name string, labels map[string]string) float64 { return m.sum(name, labels) }
