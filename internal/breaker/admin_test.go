package breaker

import (
	"context"
	"time"
)

func (f *fakeStore) Locked(ctx context.Context, _, _ string, _ time.Time) (bool, error) {
	return false, f.hit(ctx, "Locked")
}
