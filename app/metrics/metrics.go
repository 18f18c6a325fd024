// Package metrics owns Portico's Prometheus collectors, on a registry of
// its own (no package globals), for HTTP requests, store transactions, job
// runs and mail delivery.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics holds every collector.
type Metrics struct {
	Registry        *prometheus.Registry
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	storeTx         *prometheus.HistogramVec
	jobRuns         *prometheus.CounterVec
	mail            *prometheus.CounterVec
}

// New registers the collectors, plus the Go runtime and process ones.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_http_requests_total", Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "portico_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		storeTx: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "portico_store_transaction_seconds", Help: "Store transaction time by kind (view, update).",
			Buckets: []float64{.00005, .0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1},
		}, []string{"kind"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_job_runs_total", Help: "Scheduled job runs by job and result.",
		}, []string{"job", "result"}),
		mail: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "portico_mail_attempts_total", Help: "SMTP delivery attempts by outcome.",
		}, []string{"outcome"}),
	}
	m.Registry.MustRegister(m.requests, m.requestDuration, m.storeTx, m.jobRuns, m.mail,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveRequest records one finished HTTP request.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.requestDuration.WithLabelValues(route).Observe(d.Seconds())
}

// ObserveStore records one store transaction; it fits store.Options.Observe.
func (m *Metrics) ObserveStore(kind string, d time.Duration) {
	m.storeTx.WithLabelValues(kind).Observe(d.Seconds())
}

// ObserveJob records one job run.
func (m *Metrics) ObserveJob(job string, err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.jobRuns.WithLabelValues(job, result).Inc()
}

// ObserveMail records one delivery attempt.
func (m *Metrics) ObserveMail(outcome string) { m.mail.WithLabelValues(outcome).Inc() }

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
