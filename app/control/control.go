// Package control is the operator's channel to a running server: a Unix
// socket in the data directory (mode 0600, so only the operator's account
// can use it) that streams a consistent backup and runs verify while the
// server holds the store's file lock. It never imports Fiber.
package control

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"portico/store"
)

// SocketName is the socket's file name inside the data directory.
const SocketName = "portico.sock"

// SocketPath is where the server listens for dataDir.
func SocketPath(dataDir string) string { return filepath.Join(dataDir, SocketName) }

// Server answers on the socket.
type Server struct {
	srv  *http.Server
	path string
}

// Listen starts serving backup and verify on the socket for s.
func Listen(path string, s *store.Store, log *slog.Logger) (*Server, error) {
	_ = os.Remove(path) // a socket left by a crash; the store lock proves no server owns it
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control: listen %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control: %w", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /backup", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/octet-stream")
		if _, err := s.WriteTo(w); err != nil {
			log.Error("control: backup", "err", err)
		}
	})
	mux.HandleFunc("GET /verify", func(w http.ResponseWriter, r *http.Request) {
		problems, err := s.Verify()
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(map[string][]string{"problems": problems})
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("control: serve", "err", err)
		}
	}()
	return &Server{srv: srv, path: path}, nil
}

// Close stops the server and removes the socket.
func (s *Server) Close(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	_ = os.Remove(s.path)
	return err
}

func client(path string) *http.Client {
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", path)
		},
	}}
}

// Backup asks the server on path for a copy and writes it to w.
func Backup(ctx context.Context, path string, w io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://portico/backup", nil)
	if err != nil {
		return err
	}
	resp, err := client(path).Do(req)
	if err != nil {
		return fmt.Errorf("control: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("control: backup: server answered %s", resp.Status)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// Verify asks the server on path to verify the store.
func Verify(ctx context.Context, path string) ([]string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://portico/verify", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client(path).Do(req)
	if err != nil {
		return nil, fmt.Errorf("control: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return nil, fmt.Errorf("control: verify: %s: %s", resp.Status, body)
	}
	var out struct{ Problems []string }
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	return out.Problems, nil
}
