package breaker

import "context"

// backgroundKey marks a context as background work's.
type backgroundKey struct{}

// Background marks ctx as the context of background work (the outbox
// sender's polling): its calls still pass the breaker (refused while it is
// open) and the deadline, but their infrastructure failures do not count
// toward opening it. A poller hitting a dead database every few seconds
// would otherwise decide the circuit for the requests, which open it
// themselves soon enough; and it would make their count of failures to the
// open circuit depend on the poller's timing.
func Background(ctx context.Context) context.Context {
	return context.WithValue(ctx, backgroundKey{}, true)
}

func isBackground(ctx context.Context) bool {
	b, _ := ctx.Value(backgroundKey{}).(bool)
	return b
}
