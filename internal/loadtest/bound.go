package loadtest

import (
	"context"
	"fmt"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// Bound is the bcrypt rate of this machine: how many password checks per
// second it can compute at a cost with every CPU busy. No server can answer
// more password-path requests per second than this on the same machine.
type Bound struct {
	Cost      int     `json:"bcrypt_cost"`
	Workers   int     `json:"workers"`
	Hashes    int     `json:"hashes"`
	Seconds   float64 `json:"seconds"`
	PerSecond float64 `json:"hashes_per_second"`
	// HashMS is the mean time of one comparison on one busy core.
	HashMS float64 `json:"hash_ms"`
}

// maxBoundHashes caps the comparisons of one measurement; at cost 4 a core
// does about a thousand per second.
const maxBoundHashes = 1 << 20

// MeasureBcrypt runs bcrypt.CompareHashAndPassword at cost on workers
// goroutines for about d and returns the rate achieved. It stops early when
// ctx ends.
func MeasureBcrypt(ctx context.Context, cost, workers int, d time.Duration) (Bound, error) {
	if cost < bcrypt.MinCost || cost > bcrypt.MaxCost {
		return Bound{}, fmt.Errorf("bcrypt cost %d outside %d..%d", cost, bcrypt.MinCost, bcrypt.MaxCost)
	}
	if workers < 1 {
		return Bound{}, fmt.Errorf("bcrypt workers %d: want at least 1", workers)
	}
	password := []byte("authbench bound password")
	hash, err := generate(ctx, password, cost)
	if err != nil {
		return Bound{}, err
	}

	type tally struct {
		n    int
		busy time.Duration
	}
	tallies := make([]tally, workers)
	perWorker := maxBoundHashes / workers
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for w := range tallies {
		wg.Go(func() {
			for range perWorker {
				if ctx.Err() != nil || !time.Now().Before(deadline) {
					return
				}
				t0 := time.Now()
				if err := bcrypt.CompareHashAndPassword(hash, password); err != nil {
					return // cannot happen with a hash just made; stop rather than spin
				}
				tallies[w].busy += time.Since(t0)
				tallies[w].n++
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return Bound{}, err
	}

	b := Bound{Cost: cost, Workers: workers, Seconds: elapsed.Seconds()}
	var busy time.Duration
	for _, t := range tallies {
		b.Hashes += t.n
		busy += t.busy
	}
	if b.Hashes == 0 {
		return Bound{}, fmt.Errorf("bcrypt bound: no comparison finished in %v", d)
	}
	b.PerSecond = PerSecond(b.Hashes, elapsed)
	b.HashMS = ms(busy / time.Duration(b.Hashes))
	return b, nil
}

// generate makes the reference hash; a high cost can take seconds, so an
// interrupt does not wait for it.
func generate(ctx context.Context, password []byte, cost int) ([]byte, error) {
	type out struct {
		hash []byte
		err  error
	}
	ch := make(chan out, 1)
	go func() {
		h, err := bcrypt.GenerateFromPassword(password, cost)
		ch <- out{h, err}
	}()
	select {
	case o := <-ch:
		return o.hash, o.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
