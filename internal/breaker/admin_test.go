package breaker

import (
	"context"
	"time"
)

func (f *fakeStore) Clear(ctx context.Context, _, _ string) error {
	return f.hit(ctx, "Clear")
}

func (f *fakeStore) Locked(ctx context.Context, _, _ string, _ time.Time) (bool, error) {
	return false, f.hit(ctx, "Locked")
}
