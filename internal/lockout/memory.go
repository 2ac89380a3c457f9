package lockout

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

const (
	// memoryShards lets logins for different keys proceed without
	// contending for one lock; each key lives in exactly one shard, so its
	// updates stay atomic.
	memoryShards = 32
	// defaultMaxKeys bounds memory (each key costs well under 200 bytes)
	// whatever the number of emails an attacker tries.
	defaultMaxKeys = 100_000
	// sweepEvery is how often a shard drops its expired keys.
	sweepEvery = time.Minute
)

// Memory is an in-process auth.Lockout, for a single replica or as the
// fallback of Redis. Expired keys are dropped lazily: a key is reset when
// it is next used after expiry, and each shard sweeps its expired keys at
// most once a minute (by the callers' clock) while in use. The number of
// keys is capped: when a shard is full its expired keys are dropped, else
// the key closest to expiry is forgotten (an attacker would need more
// than the cap of distinct keys within one lock period to unlock anyone
// this way). Memory is safe for concurrent use and needs no Close.
type Memory struct {
	seed     maphash.Seed
	perShard int
	shards   [memoryShards]memoryShard
}

type memoryShard struct {
	mu        sync.Mutex
	keys      map[string]state
	nextSweep time.Time
}

// state is one key's attempts.
type state struct {
	failures    int
	pending     int
	lockedUntil time.Time // zero when not locked
	expires     time.Time
}

// live reports whether s still applies at now: not expired, and not a
// lock that has ended.
func (s state) live(now time.Time) bool {
	if !now.Before(s.expires) {
		return false
	}
	return s.lockedUntil.IsZero() || now.Before(s.lockedUntil)
}

// NewMemory returns an empty in-process lockout.
func NewMemory() *Memory {
	return newMemory(defaultMaxKeys)
}

func newMemory(maxKeys int) *Memory {
	m := &Memory{
		seed:     maphash.MakeSeed(),
		perShard: max((maxKeys+memoryShards-1)/memoryShards, 1),
	}
	for i := range m.shards {
		m.shards[i].keys = make(map[string]state)
	}
	return m
}

func (m *Memory) shard(key string) *memoryShard {
	return &m.shards[maphash.String(m.seed, key)%memoryShards]
}

// Reserve implements auth.Lockout.
func (m *Memory) Reserve(_ context.Context, key string, limit int, lockFor time.Duration, now time.Time) (time.Duration, error) {
	if disabled(limit, lockFor) {
		return 0, nil
	}
	sh := m.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.maybeSweep(now)

	st, known := sh.keys[key]
	if known && !st.live(now) {
		st = state{}
	}
	if !st.lockedUntil.IsZero() {
		return st.lockedUntil.Sub(now), nil
	}
	if st.failures+st.pending >= limit {
		return min(busyRetry, st.expires.Sub(now)), nil
	}
	if !known {
		sh.makeRoom(now, m.perShard)
	}
	st.pending++
	st.expires = now.Add(lockFor)
	sh.keys[key] = st
	return 0, nil
}

// Fail implements auth.Lockout.
func (m *Memory) Fail(_ context.Context, key string, limit int, lockFor time.Duration, now time.Time) (bool, error) {
	if disabled(limit, lockFor) {
		return false, nil
	}
	sh := m.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.maybeSweep(now)

	st, known := sh.keys[key]
	if known && !st.live(now) {
		st = state{}
	}
	// A Fail without its reservation (lost to an expiry or a Redis
	// fallback) still counts as a failure.
	st.pending = max(st.pending-1, 0)
	st.failures++
	locked := false
	if st.lockedUntil.IsZero() && st.failures >= limit {
		st.lockedUntil = now.Add(lockFor)
		locked = true
	}
	st.expires = now.Add(lockFor)
	if !known {
		sh.makeRoom(now, m.perShard)
	}
	sh.keys[key] = st
	return locked, nil
}

// Succeed implements auth.Lockout. Releasing a reservation is no change
// to the key's attempts, so it does not extend the key's expiry.
func (m *Memory) Succeed(_ context.Context, key string, reset bool) error {
	sh := m.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if reset {
		delete(sh.keys, key)
		return nil
	}
	st, ok := sh.keys[key]
	if !ok {
		return nil
	}
	st.pending = max(st.pending-1, 0)
	if st.pending == 0 && st.failures == 0 && st.lockedUntil.IsZero() {
		delete(sh.keys, key)
		return nil
	}
	sh.keys[key] = st
	return nil
}

// Len returns the number of keys held, expired ones included until they
// are swept; for tests and metrics.
func (m *Memory) Len() int {
	n := 0
	for i := range m.shards {
		sh := &m.shards[i]
		sh.mu.Lock()
		n += len(sh.keys)
		sh.mu.Unlock()
	}
	return n
}

// maybeSweep drops the shard's expired keys if a sweep is due at now.
func (sh *memoryShard) maybeSweep(now time.Time) {
	if now.Before(sh.nextSweep) {
		return
	}
	sh.nextSweep = now.Add(sweepEvery)
	sh.dropExpired(now)
}

func (sh *memoryShard) dropExpired(now time.Time) int {
	dropped := 0
	for k, st := range sh.keys {
		if !st.live(now) {
			delete(sh.keys, k)
			dropped++
		}
	}
	return dropped
}

// makeRoom frees an entry for a new key when the shard is full: expired
// keys first, else the key that would expire soonest.
func (sh *memoryShard) makeRoom(now time.Time, limit int) {
	if len(sh.keys) < limit || sh.dropExpired(now) > 0 {
		return
	}
	var (
		victim  string
		soonest time.Time
		found   bool
	)
	for k, st := range sh.keys {
		if !found || st.expires.Before(soonest) {
			victim, soonest, found = k, st.expires, true
		}
	}
	if found {
		delete(sh.keys, victim)
	}
}
