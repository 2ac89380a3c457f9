package metrics

import "github.com/prometheus/client_golang/prometheus"

// AuditDropped exports dropped, the number of audit events the batched
// writer has dropped (queue full, or the database failed the batch), as
// authserve_audit_events_dropped_total. Call it once.
func (m *Metrics) AuditDropped(dropped func() int64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "authserve_audit_events_dropped_total",
		Help: "Audit events that accompany no state change (failed logins, locks) dropped because the queue was full or their batch could not be written.",
	}, func() float64 { return float64(dropped()) }))
}
