package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

const (
	// memoryShards spreads keys over independently locked maps so that
	// concurrent requests from different clients rarely contend.
	memoryShards = 64
	// defaultMaxKeys bounds memory to a few MiB whatever the number of
	// client addresses an attacker can present.
	defaultMaxKeys = 100_000
	// janitorEvery is how often idle keys are dropped.
	janitorEvery = time.Minute
)

// Memory is an in-process GCRA rate limiter. Each key costs one map entry
// holding its theoretical arrival time (TAT); a key whose TAT has passed
// has its whole budget back and is indistinguishable from an unknown key,
// so dropping it loses nothing. A janitor drops such idle keys every
// minute, and the number of keys is capped: when a shard is full, its idle
// keys are dropped, else the key closest to a full budget is evicted.
// Memory is safe for concurrent use; Close stops the janitor.
type Memory struct {
	limit    int
	interval time.Duration // emission interval: minute / limit
	window   time.Duration // burst × interval: the span a full budget covers

	// epoch anchors TATs; durations since it use the monotonic clock, so
	// wall-clock jumps neither grant nor withhold budget.
	epoch    time.Time
	now      func() time.Time
	seed     maphash.Seed
	perShard int
	shards   [memoryShards]memoryShard

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

type memoryShard struct {
	mu   sync.Mutex
	tat  map[string]time.Duration
	peak int
	// Padding keeps shards on separate cache lines.
	_ [40]byte
}

// NewMemory returns an in-process limiter allowing perMinute requests per
// key per minute with a burst of perMinute; perMinute <= 0 allows
// everything. Call Close when done with it.
func NewMemory(perMinute int) *Memory {
	return newMemory(perMinute, defaultMaxKeys, time.Now, janitorEvery)
}

func newMemory(perMinute, maxKeys int, now func() time.Time, sweepEvery time.Duration) *Memory {
	m := &Memory{
		limit:    max(perMinute, 0),
		epoch:    now(),
		now:      now,
		seed:     maphash.MakeSeed(),
		perShard: max((maxKeys+memoryShards-1)/memoryShards, 1),
		stop:     make(chan struct{}),
		done:     make(chan struct{}),
	}
	if m.limit > 0 {
		// At least 1ns, so that absurd budgets cannot divide by zero.
		m.interval = max(time.Minute/time.Duration(m.limit), 1)
		m.window = m.interval * time.Duration(m.limit)
	}
	for i := range m.shards {
		m.shards[i].tat = make(map[string]time.Duration)
	}
	go m.janitor(sweepEvery)
	return m
}

// Allow counts one request of key if the key has budget left.
func (m *Memory) Allow(_ context.Context, key string) (Decision, error) {
	if m.limit == 0 {
		return Decision{Allowed: true}, nil
	}
	now := m.now().Sub(m.epoch)
	s := &m.shards[maphash.String(m.seed, key)%memoryShards]

	s.mu.Lock()
	tat, known := s.tat[key]
	tat = max(tat, now)
	next := tat + m.interval
	allowAt := next - m.window
	if now < allowAt {
		s.mu.Unlock()
		return Decision{
			Limit:      m.limit,
			ResetAfter: tat - now,
			RetryAfter: allowAt - now,
		}, nil
	}
	if !known && len(s.tat) >= m.perShard {
		s.makeRoom(now)
	}
	s.tat[key] = next
	s.peak = max(s.peak, len(s.tat))
	s.mu.Unlock()

	return Decision{
		Allowed:    true,
		Limit:      m.limit,
		Remaining:  int((now - allowAt) / m.interval),
		ResetAfter: next - now,
	}, nil
}

// Len returns the number of keys held, for tests and metrics.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		n += len(s.tat)
		s.mu.Unlock()
	}
	return n
}

// Close stops the janitor. Allow keeps working afterwards, without the
// periodic cleanup.
func (m *Memory) Close() error {
	m.closeOnce.Do(func() {
		close(m.stop)
		<-m.done
	})
	return nil
}

func (m *Memory) janitor(every time.Duration) {
	defer close(m.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-m.stop:
			return
		case <-t.C:
			m.sweep()
		}
	}
}

// sweep drops every idle key.
func (m *Memory) sweep() {
	now := m.now().Sub(m.epoch)
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		s.dropIdle(now)
		s.mu.Unlock()
	}
}

// dropIdle deletes the keys whose budget is full again, and replaces the
// map when it has shrunk a lot, because Go maps never give memory back.
func (s *memoryShard) dropIdle(now time.Duration) int {
	dropped := 0
	for k, tat := range s.tat {
		if tat <= now {
			delete(s.tat, k)
			dropped++
		}
	}
	if s.peak >= 1024 && len(s.tat) <= s.peak/4 {
		fresh := make(map[string]time.Duration, len(s.tat))
		for k, v := range s.tat {
			fresh[k] = v
		}
		s.tat = fresh
		s.peak = len(fresh)
	}
	return dropped
}

// makeRoom frees at least one entry in a full shard: idle keys first, else
// the key with the earliest TAT, the one nearest to its full budget, so
// that eviction forgives as little as possible.
func (s *memoryShard) makeRoom(now time.Duration) {
	if s.dropIdle(now) > 0 {
		return
	}
	var (
		oldest    string
		oldestTAT time.Duration
		found     bool
	)
	for k, tat := range s.tat {
		if !found || tat < oldestTAT {
			oldest, oldestTAT, found = k, tat, true
		}
	}
	if found {
		delete(s.tat, oldest)
	}
}
