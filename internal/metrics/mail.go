package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// mailKinds are the email kinds, exported at zero from the start.
var mailKinds = []string{"verification", "password_reset", "password_changed"}

// deliveryBuckets span an immediate delivery to one delayed by an SMTP
// outage for hours (the sender's backoff).
var deliveryBuckets = []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600}

// Mail holds the email outbox's metrics; it implements the mail package's
// Observer structurally.
type Mail struct {
	depth    prometheus.Gauge
	sent     *prometheus.CounterVec
	failed   *prometheus.CounterVec
	delivery *prometheus.HistogramVec
}

// NewMail registers the outbox metrics on m's registry.
func (m *Metrics) NewMail() *Mail {
	mm := &Mail{
		depth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "authserve_email_outbox_depth",
			Help: "Emails waiting in the outbox (pending, retries included), as last read by this replica's sender.",
		}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authserve_email_sent_total",
			Help: "Emails delivered to the SMTP server (or .eml directory), by kind.",
		}, []string{"kind"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "authserve_email_failed_total",
			Help: "Emails given up on (permanent refusal or attempts exhausted), by kind.",
		}, []string{"kind"}),
		delivery: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "authserve_email_delivery_seconds",
			Help:    "Time from queueing an email to its delivery, by kind.",
			Buckets: deliveryBuckets,
		}, []string{"kind"}),
	}
	m.reg.MustRegister(mm.depth, mm.sent, mm.failed, mm.delivery)
	for _, k := range mailKinds {
		mm.sent.WithLabelValues(k)
		mm.failed.WithLabelValues(k)
		mm.delivery.WithLabelValues(k)
	}
	return mm
}

// MailSent counts a delivery.
func (mm *Mail) MailSent(kind string, latency time.Duration) {
	mm.sent.WithLabelValues(kind).Inc()
	mm.delivery.WithLabelValues(kind).Observe(latency.Seconds())
}

// MailFailed counts a message given up on.
func (mm *Mail) MailFailed(kind string) { mm.failed.WithLabelValues(kind).Inc() }

// OutboxDepth sets the outbox depth.
func (mm *Mail) OutboxDepth(n int) { mm.depth.Set(float64(n)) }
