package sqlstore

import (
	"context"
	"sync"
	"testing"
	"time"
)

// TestLockoutReserveRacingReset: a success that resets a key deletes its
// row; a Reserve of the same key that ensured the row just before must not
// find it gone (sql.ErrNoRows, a 500 at the API: racing MFA verifications
// of one account showed it). Many reserves and resets of one key at once.
func TestLockoutReserveRacingReset(t *testing.T) {
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			e.skip(t)
			s := openMigrated(t, e.opts(t))
			ctx := context.Background()
			const workers, rounds = 8, 40
			var wg sync.WaitGroup
			errs := make(chan error, workers*rounds*2)
			for range workers {
				wg.Go(func() {
					for range rounds {
						if _, err := s.Reserve(ctx, "pair:race@example.com|198.51.100.9", 1000, time.Minute, time.Now()); err != nil {
							errs <- err
						}
						if err := s.Succeed(ctx, "pair:race@example.com|198.51.100.9", true); err != nil {
							errs <- err
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			n := 0
			for err := range errs {
				if n++; n <= 3 {
					t.Errorf("Reserve/Succeed racing on one key: %v", err)
				}
			}
		})
	}
}
